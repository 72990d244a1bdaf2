"""The command line: formats, exit codes, one-line errors, help texts."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import threading

import pytest
from typer.testing import CliRunner

from conftest import REALDATA, SCORECARD, make_data
from scorecard.cli import app

runner = CliRunner()

SCORECARD_KEYS = {
    "scope",
    "segment",
    "customers",
    "value",
    "rates",
    "tiers",
    "migration",
    "referrals",
    "top_lost",
    "top_decliners",
    "trend",
}
CUSTOMER_KEYS = {"start", "new", "reactivated", "lost", "lost_lapsed", "lost_closed", "end", "retained", "grew", "stable",
                 "declined", "ordering_less_often", "in_and_out", "gained", "net"}  # fmt: skip


def run(*args: str):
    return runner.invoke(app, list(args))


def test_metrics_json_has_every_key_of_the_contract():
    result = run("metrics", "--period", "Q3", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    assert document["period"] == {"label": "2025-Q3", "kind": "quarter", "start": "2025-07-01", "end": "2025-10-01", "partial": False}
    assert document["data_through"] == "2025-12-31"
    assert {"window_days", "change_threshold", "tier_quantiles"} <= set(document["settings"])
    for scorecard in document["scorecards"]:
        assert set(scorecard) >= SCORECARD_KEYS
        assert set(scorecard["customers"]) == CUSTOMER_KEYS
        assert set(scorecard["value"]) == {"start", "new", "reactivated", "expansion", "contraction", "lost", "end"}
        assert set(scorecard["rates"]) == {"logo_retention", "logo_churn", "grr", "nrr", "gain_loss_ratio"}
        assert set(scorecard["referrals"]) == {"made", "referrers", "referred_new_customers", "referred_new_value", "highlights"}
        assert len(scorecard["migration"]) == 20
        assert {"period", "start", "new", "reactivated", "lost", "end", "value_start", "value_end"} <= set(scorecard["trend"][0])
    assert document["scorecards"][0]["scope"] == "company" and document["scorecards"][0]["segment"] is None


def test_money_is_written_with_two_decimals():
    result = run("metrics", "--period", "Q3", "--format", "json")
    assert '"start": ' in result.stdout
    company_value = json.loads(result.stdout)["scorecards"][0]["value"]
    raw = result.stdout.split('"value": {', 1)[1].split("}", 1)[0]
    for line in raw.strip().splitlines():
        number = line.split(":")[1].strip().rstrip(",")
        assert len(number.split(".")[1]) == 2, line
    assert isinstance(company_value["start"], float)


def test_metrics_csv_one_row_per_scorecard_and_metric():
    result = run("metrics", "--period", "2025-Q3", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(rows[0]) == {"period", "scope", "segment", "metric", "value"}
    company = {row["metric"]: row["value"] for row in rows if row["scope"] == "company"}
    document = json.loads(run("metrics", "--period", "2025-Q3", "--format", "json").stdout)
    assert company["customers.net"] == str(document["scorecards"][0]["customers"]["net"])
    assert company["value.end"] == f"{document['scorecards'][0]['value']['end']:.2f}"
    assert "migration.top.lost.customers" in company


def test_metrics_table_says_sample_data():
    result = run("metrics", "--period", "Q3")
    assert result.exit_code == 0
    assert "SAMPLE DATA" in result.output
    assert "Gained" in result.output and "Lost" in result.output and "Company" in result.output


def test_settings_reach_the_document():
    result = run(
        "metrics", "-p", "2025-Q3", "-f", "json", "--window-days", "400", "--change-threshold", "0.2", "--tier-quantiles", "0.4,0.9"
    )
    settings = json.loads(result.stdout)["settings"]
    assert (settings["window_days"], settings["change_threshold"], settings["tier_quantiles"]) == (400, 0.2, [0.4, 0.9])


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["metrics", "--period", "Q5"], 2, "unknown period 'Q5'"),
        (["metrics", "--period", "2025-13"], 2, "month 13 does not exist"),
        (["metrics", "--period", "last-week"], 2, "unknown period"),
        (["metrics", "--period", "2025", "--window-days", "100"], 2, "use a window of at least 365 days"),
        (["metrics", "--period", "Q3", "--tier-quantiles", "0.9,0.5"], 2, "increasing"),
        (["metrics", "--period", "Q3", "--change-threshold", "ten"], 2, "--change-threshold"),
        (["metrics", "--period", "Q3", "--time-zone", "Mars/Olympus"], 2, "unknown time zone"),
        (["metrics", "--period", "Q3", "--data", "/nonexistent/folder"], 2, "does not exist"),
        (["metrics", "--period", "Q3", "--segment-by", "region"], 2, "--segment-by column 'region' does not exist"),
        (["metrics", "--period", "2030-Q1"], 1, "after the last order"),
    ],
)
def test_errors_are_one_line_with_exit_codes(args, code, message):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert all(line.startswith("Error: ") for line in result.output.strip().splitlines() if "SAMPLE DATA" not in line)


def test_missing_option_is_a_usage_error():
    result = run("metrics")
    assert result.exit_code == 2
    assert "--period" in result.output


def test_real_data_with_exclusions_needs_the_option():
    stopped = run("metrics", "--period", "2011-Q3", "--data", str(REALDATA))
    assert stopped.exit_code == 1
    assert "--max-excluded 0.10" in stopped.output
    passed = run("metrics", "--period", "2011-Q3", "--data", str(REALDATA), "--max-excluded", "0.10", "-f", "json")
    assert passed.exit_code == 0
    excluded = json.loads(passed.stdout)["data_quality"]["excluded"]
    assert excluded[0]["reason"] == "order with no customer" and excluded[0]["rows"] == 1134


def test_data_from_environment_variable(tmp_path, monkeypatch):
    make_data(tmp_path / "d", [("A", "X")], [("A", "2025-08-01", "5")])
    monkeypatch.setenv("SCORECARD_DATA", str(tmp_path / "d"))
    document = json.loads(run("metrics", "-p", "Q3", "-f", "json").stdout)
    assert document["sample_data"] is False and document["scorecards"][0]["customers"]["new"] == 1


def test_every_command_has_help_text():
    for command in app.registered_commands:
        assert (command.callback.__doc__ or "").strip(), command.name
    result = run("--help")
    assert "Exit codes" in result.output
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert run(name, "--help").exit_code == 0


def _on_a_terminal(*args: str, cwd) -> tuple[int, str, str]:
    """Run the CLI with its stderr on a pseudo-terminal (what a user at a shell has) and stdout on a
    pipe; returns the exit code, stdout and what the terminal received."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*SCORECARD, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, cwd=cwd)
    os.close(terminal)
    received: list[bytes] = []

    def drain() -> None:  # the terminal's buffer is small: read it as the command writes
        while True:
            try:
                data = os.read(controller, 4096)
            except OSError:  # the command closed its end
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        stdout, _ = process.communicate(timeout=300)
    finally:
        process.kill()  # only if it overran: a finished process is left alone
    reader.join(timeout=10)
    os.close(controller)
    return process.returncode, stdout.decode(), b"".join(received).decode()


def _bars(stage: str, shown: str) -> list[tuple[int, int]]:
    """(done, total) of every progress line of `stage` the terminal received."""
    return [(int(done), int(total)) for done, total in re.findall(rf"\r{stage} +\[[#.]{{24}}\] (\d+)/(\d+) ", shown)]


def test_a_terminal_sees_the_models_advance_on_one_line_then_cleared_and_stdout_keeps_only_figures(tmp_path):
    code, stdout, shown = _on_a_terminal("metrics", "--period", "Q3", cwd=tmp_path)
    assert code == 0, shown
    bars = _bars("models", shown)
    total = bars[-1][1]
    assert total > 40 and [done for done, _ in bars] == list(range(1, total + 1))  # every model, in order, to the end
    assert f"[{'#' * 24}] {total}/{total}" in shown
    wiped = shown.rindex("\r" + " " * 90 + "\r")
    assert shown.rindex(f"{total}/{total}") < wiped < shown.index("SAMPLE DATA")  # wiped before anything else is said
    assert "\r" not in stdout and "models" not in stdout
    assert stdout.startswith("2025-Q3 ")


def test_a_build_on_a_terminal_shows_the_scorecards_being_rendered(tmp_path):
    code, stdout, shown = _on_a_terminal("build", "--period", "Q3", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert code == 0, shown
    renders = _bars("render", shown)
    pdfs = len(list((tmp_path / "out" / "2025-Q3").glob("*.pdf")))  # the scorecards, then the board pack
    assert [done for done, _ in renders] == list(range(1, pdfs + 1)) and renders[-1] == (pdfs, pdfs)
    assert _bars("models", shown)


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    finished = subprocess.run([*SCORECARD, "metrics", "--period", "Q3"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "\r" not in finished.stderr and "[" not in finished.stderr
    assert "SAMPLE DATA" in finished.stderr
