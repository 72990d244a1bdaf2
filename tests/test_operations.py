"""Unattended operation (cron): config file precedence, exit codes, locking, a killed build, identical
bytes on re-runs, skipping unchanged builds, quiet and JSON logs, and a run under `env -i`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import SCORECARD, make_data
from scorecard.cli import app
from scorecard.outputs import output_lock
from scorecard.periods import parse_period

runner = CliRunner()


def small_data(folder: Path) -> Path:
    customers = [("A1", "Retail"), ("A2", "Retail"), ("B1", "Wholesale"), ("B2", "Wholesale")]
    orders = [("A1", "2024-09-01", "120"), ("A1", "2025-08-01", "30"), ("A2", "2025-08-10", "99.99"), ("B1", "2025-02-01", "500"),
              ("B2", "2024-12-01", "750"), ("B2", "2025-09-30", "80")]  # fmt: skip
    return make_data(folder, customers, orders)


def metrics_settings(*args, env=None) -> dict:
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "-f", "json", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["settings"]


def test_config_precedence_file_then_environment_then_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scorecard.toml").write_text('[metrics]\nwindow_days = 400\nchange_threshold = 0.2\n[report]\ncurrency = "GBP"\n')
    assert metrics_settings()["window_days"] == 400
    assert metrics_settings(env={"SCORECARD_WINDOW_DAYS": "420"})["window_days"] == 420
    both = metrics_settings("--window-days", "450", env={"SCORECARD_WINDOW_DAYS": "420"})
    assert (both["window_days"], both["change_threshold"], both["currency"]) == (450, 0.2, "GBP")
    other = tmp_path / "other.toml"
    other.write_text("[metrics]\nwindow_days = 500\n")
    assert metrics_settings("--config", str(other))["window_days"] == 500
    assert metrics_settings(env={"SCORECARD_CONFIG": str(other)})["window_days"] == 500


def test_config_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    project = tmp_path / "project"
    small_data(project / "data")
    (project / "scorecard.toml").write_text('[data]\nsource = "data"\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "-f", "json", "--config", str(project / "scorecard.toml")])
    assert json.loads(result.stdout)["source"] == str(project / "data")


@pytest.mark.parametrize(
    "content, message",
    [
        ("[metrics]\nwindw_days = 400\n", "unknown key [metrics] windw_days"),
        ("[metric]\nwindow_days = 400\n", "unknown key [metric] window_days"),
        ('[metrics]\nwindow_days = "400"\n', "[metrics] window_days must be a whole number"),
        ("[report]\ncurrency = 3\n", "[report] currency must be a quoted text"),
        ('[segments]\nonly = "SMB"\n', "[segments] only must be a list of quoted names"),
        ("[metrics]\ntier_quantiles = [0.9, 0.5]\n", "--tier-quantiles must be two increasing fractions"),
        ("[metrics\n", "not valid TOML"),
    ],
)
def test_bad_config_is_a_usage_error_naming_the_key(tmp_path, content, message):
    config = tmp_path / "scorecard.toml"
    config.write_text(content)
    result = runner.invoke(app, ["metrics", "-p", "Q3", "--config", str(config)])
    assert result.exit_code == 2
    assert message in result.output and str(config) in result.output or message in result.output


def test_init_writes_a_starter_that_config_accepts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["init"]).exit_code == 2  # never overwrites silently
    shown = runner.invoke(app, ["config"], env={"SCORECARD_TOP_N": "5"})
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0] + " " + line.split()[1]: line for line in shown.output.splitlines()[1:]}
    assert lines["[metrics] window_days"].endswith(str(tmp_path / "scorecard.toml"))
    assert lines["[metrics] top_n"].endswith("environment SCORECARD_TOP_N")
    assert "default" in lines["[metrics] gross_margin"]


def test_exit_codes(tmp_path):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    base = ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--jobs", "1"]
    assert runner.invoke(app, base).exit_code == 0
    assert runner.invoke(app, ["build", "-p", "2025-Q3", "--data", str(tmp_path / "nope"), "--out", str(out)]).exit_code == 2
    broken = make_data(tmp_path / "broken", [("A", "X")], [("A", "someday", "1")])
    assert runner.invoke(app, ["build", "-p", "2025-Q3", "--data", str(broken), "--out", str(out)]).exit_code == 1
    stale = runner.invoke(app, base + ["--require-fresh", "30", "--as-of", "2025-12-01", "--force"])
    assert stale.exit_code == 3 and "the newest order is from 2025-09-30, 62 days before 2025-12-01" in stale.output
    assert runner.invoke(app, base + ["--require-fresh", "90", "--as-of", "2025-12-01", "--force"]).exit_code == 0
    with output_lock(out.resolve()):
        locked = runner.invoke(app, base + ["--force"])
    assert locked.exit_code == 4 and "another scorecard build is writing" in locked.output


def test_a_waiting_build_queues_behind_the_lock(tmp_path):
    data = small_data(tmp_path / "data")
    out = (tmp_path / "out").resolve()
    release = threading.Event()

    def hold():
        with output_lock(out):
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.3)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    result = runner.invoke(app, ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--jobs", "1", "--wait"])
    holder.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.6


def test_two_builds_at_once_never_interleave(tmp_path):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    command = SCORECARD + ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--jobs", "1", "--force", "--wait", "--quiet"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=180) + (p.returncode,) for p in processes]
    assert [code for _, _, code in results] == [0, 0], results
    folder = out / "2025-Q3"
    manifest = json.loads((folder / "manifest.json").read_text())
    from scorecard.outputs import sha256_file

    assert all(sha256_file(folder / f["name"]) == f["sha256"] for f in manifest["files"])
    assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock", "2025-Q3"]


def test_a_killed_build_leaves_the_previous_outputs_intact(tmp_path):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    command = SCORECARD + ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--jobs", "1"]
    first = subprocess.run(command, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    folder = out / "2025-Q3"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    victim = subprocess.Popen(command + ["--force"], start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob(".2025-Q3.staging-*/*.pdf")):
        time.sleep(0.05)
    assert list(out.glob(".2025-Q3.staging-*/*.pdf")), "the build never reached rendering"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    again = subprocess.run(command + ["--force"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock", "2025-Q3"]  # the debris is gone


def test_same_inputs_give_identical_bytes_and_unchanged_builds_are_skipped(tmp_path):
    out = tmp_path / "out"
    command = ["build", "-p", "Q3", "--out", str(out), "--jobs", "2"]
    assert runner.invoke(app, command).exit_code == 0
    first = {p.name: p.read_bytes() for p in (out / "2025-Q3").iterdir() if p.name != "manifest.json"}
    skipped = runner.invoke(app, command)
    assert skipped.exit_code == 0 and "Nothing changed since the last build" in skipped.output
    forced = runner.invoke(app, command + ["--force"])
    assert "Rendered scorecard-2025-Q3-company.pdf" in forced.output
    second = {p.name: p.read_bytes() for p in (out / "2025-Q3").iterdir() if p.name != "manifest.json"}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    manifest = json.loads((out / "2025-Q3" / "manifest.json").read_text())
    assert manifest["generated_at"]  # the only place with the time of the run


def test_quiet_prints_nothing_and_json_logs_parse(tmp_path):
    data = small_data(tmp_path / "data")
    base = ["build", "-p", "2025-Q3", "--data", str(data), "--jobs", "1", "--force"]
    quiet = runner.invoke(app, base + ["--out", str(tmp_path / "a"), "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
    logged = runner.invoke(app, base + ["--out", str(tmp_path / "b"), "--log-format", "json"])
    records = [json.loads(line) for line in logged.output.splitlines()]
    assert {"written", "timing", "done"} <= {r["event"] for r in records}
    failed = runner.invoke(app, ["build", "-p", "Q5", "--data", str(data), "--log-format", "json"])
    record = json.loads(failed.output.strip().splitlines()[-1])
    assert (record["level"], record["exit_code"]) == ("error", 2) and "Q5" in record["message"]


def test_relative_periods_follow_as_of(tmp_path):
    data = small_data(tmp_path / "data")
    result = runner.invoke(
        app, ["build", "-p", "last-quarter", "--as-of", "2025-10-15", "--data", str(data), "--out", str(tmp_path / "out"), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "2025-Q3" / "metrics.json").exists()


def test_segments_outside_the_list_or_too_small_become_other_segments(tmp_path):
    customers = [("A", "Big"), ("B", "Big"), ("C", "Big"), ("D", "Tiny"), ("E", "Mini")]
    orders = [(c, "2025-08-01", "10") for c in "ABCDE"]
    data = make_data(tmp_path / "data", customers, orders)
    (tmp_path / "by-size.toml").write_text("[segments]\nmin_customers = 2\n")
    by_size = json.loads(
        runner.invoke(
            app, ["metrics", "-p", "2025-Q3", "-f", "json", "--data", str(data), "--config", str(tmp_path / "by-size.toml")]
        ).stdout
    )
    assert [(c["segment"], c["customers"]["new"]) for c in by_size["scorecards"]] == [(None, 5), ("Big", 3), ("Other segments", 2)]
    assert by_size["segment_grouping"]["other_segments"] == [{"segment": "Mini", "customers": 1}, {"segment": "Tiny", "customers": 1}]
    (tmp_path / "listed.toml").write_text('[segments]\nonly = ["Tiny"]\nmin_customers = 0\n')
    listed = json.loads(
        runner.invoke(
            app, ["metrics", "-p", "2025-Q3", "-f", "json", "--data", str(data), "--config", str(tmp_path / "listed.toml")]
        ).stdout
    )
    assert [(c["segment"], c["customers"]["new"]) for c in listed["scorecards"]] == [(None, 5), ("Other segments", 4), ("Tiny", 1)]


def test_number_format_and_traffic_lights_reach_the_pdf(tmp_path):
    data = small_data(tmp_path / "data")
    config = tmp_path / "scorecard.toml"
    config.write_text(
        '[report]\nnumber_format = "1.234,56"\ncompany = "Muster GmbH"\ncurrency = "EUR"\n[targets]\nnet_customers = 5\nnrr = 0.5\n'
    )
    result = runner.invoke(
        app, ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(tmp_path / "out"), "--jobs", "1", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    text = PdfReader(tmp_path / "out" / "2025-Q3" / "scorecard-2025-Q3-company.pdf").pages[0].extract_text()
    assert "Muster GmbH" in text and "TARGETS" in text
    assert "(target +5)" in text and "(target 50,0 %)" in text
    page_two = PdfReader(tmp_path / "out" / "2025-Q3" / "scorecard-2025-Q3-company.pdf").pages[1].extract_text()
    assert "€1.459,99" in page_two  # 1,459.99 in the German format


def test_cron_like_run_with_only_a_config_file(tmp_path):
    """What cron does: no environment to speak of, another working directory, only scorecard.toml."""
    project = tmp_path / "project"
    yesterday = date.today() - timedelta(days=1)
    generated = subprocess.run(SCORECARD + ["sample", "--out", str(project / "data"), "--customers", "300", "--through", str(yesterday), "--no-costs"],
                               capture_output=True, text=True)  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    (project / "scorecard.toml").write_text(
        '[data]\nsource = "data"\n[output]\nfolder = "reports"\n[report]\ncompany = "Cron Co"\n[periods]\nrequire_fresh_days = 3\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin"}
    result = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in environment.items()), *SCORECARD, "build", "--period", "last-quarter",
                             "--config", str(project / "scorecard.toml"), "--quiet"], capture_output=True, text=True, cwd=elsewhere)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    label = parse_period("last-quarter").label
    assert (project / "reports" / label / f"board-pack-{label}.pdf").exists()
    assert not list(elsewhere.iterdir())
    # And from the project folder itself, with the config found in the working directory:
    again = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in environment.items()), *SCORECARD, "build", "--period", "last-quarter"],
                           capture_output=True, text=True, cwd=project)  # fmt: skip
    assert again.returncode == 0 and "Nothing changed" in again.stdout


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc), zombies excluded."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _start_rendering_build(out: Path) -> subprocess.Popen:
    """A sample build, returned once it is writing its PDFs (one is staged)."""
    command = SCORECARD + ["build", "-p", "Q3", "--out", str(out), "--jobs", "2", "--force", "--quiet"]
    errors = (out.parent / "stderr.txt").open("w+")
    build = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, text=True)
    build.errors = errors
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(".2025-Q3.staging-*/*.pdf")) and build.poll() is None:
        time.sleep(0.02)
    assert list(out.glob(".2025-Q3.staging-*/*.pdf")), "the build never started writing its PDFs"
    return build


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigterm_stops_a_build_cleanly_with_code_143(tmp_path):
    out = tmp_path / "out"
    build = _start_rendering_build(out)
    build.send_signal(signal.SIGTERM)
    build.wait(timeout=60)
    build.errors.seek(0)
    stderr = build.errors.read()
    assert build.returncode == 143, stderr
    assert stderr.strip().splitlines() == [
        "Error: the build was stopped (SIGTERM); nothing was published and the previous outputs are as they were"
    ]
    assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock"]  # staging removed, nothing published


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_build_runs_in_one_process_so_kill_9_leaves_nothing_running(tmp_path):
    out = tmp_path / "out"
    build = _start_rendering_build(out)
    assert _descendants(build.pid) == set(), "the build started processes of its own"  # its PDFs are typeset in threads
    build.kill()
    build.wait(timeout=30)
    # The next build clears the debris and publishes.
    again = subprocess.run(SCORECARD + ["build", "-p", "Q3", "--out", str(out), "--jobs", "1", "--quiet"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock", "2025-Q3"]
