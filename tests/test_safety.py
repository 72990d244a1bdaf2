"""Issue 10: never lose a user's file, never run what the data says, never publish a silently wrong
figure. One test (or a few) per item of the issue, named after it; the broken-input corpus
(tests/broken/) and tests/test_operations.py hold the rest."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import make_data
from scorecard import outputs
from scorecard.cli import app

runner = CliRunner()


def small_data(folder: Path) -> Path:
    customers = [("A1", "Retail"), ("A2", "Retail"), ("B1", "Wholesale"), ("B2", "Wholesale")]
    orders = [("A1", "2024-09-01", "120"), ("A1", "2025-08-01", "30"), ("A2", "2025-08-10", "99.99"), ("B1", "2025-02-01", "500"),
              ("B2", "2024-12-01", "750"), ("B2", "2025-09-30", "80")]  # fmt: skip
    return make_data(folder, customers, orders)


def build(data: Path, out: Path, *args: str, period: str = "2025-Q3"):
    return runner.invoke(app, ["build", "-p", period, "--data", str(data), "--out", str(out), "--jobs", "1", *args])


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def one_error_line(result, *fragments: str) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "internal error" not in lines[0] and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- Data loss and files outside --out ---------------------------------------------------------------


def test_build_never_deletes_an_input_folder_named_like_the_period(tmp_path):
    exports = tmp_path / "exports"
    data = small_data(exports / "2025-Q3")
    before = tree(data)
    result = build(data, exports)
    assert result.exit_code == 1
    one_error_line(result, str(data), "was not written by scorecard", "customers.csv", "Move it away or choose another --out")
    assert tree(data) == before
    assert sorted(p.name for p in exports.iterdir()) == [".scorecard.lock", "2025-Q3"]


def test_build_never_deletes_a_users_file_in_the_period_folder(tmp_path):
    data = small_data(tmp_path / "data")
    out = tmp_path / "reports"
    (out / "2025").mkdir(parents=True)
    (out / "2025" / "taxes.pdf").write_bytes(b"%PDF- my taxes")
    result = build(data, out, period="2025")
    assert result.exit_code == 1
    one_error_line(result, str(out / "2025"), "taxes.pdf")
    assert (out / "2025" / "taxes.pdf").read_bytes() == b"%PDF- my taxes"


def test_a_folder_of_ours_with_a_users_file_added_is_not_replaced(tmp_path):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    assert build(data, out).exit_code == 0
    (out / "2025-Q3" / "my-notes.txt").write_text("keep me")
    before = tree(out / "2025-Q3")
    result = build(data, out, "--force")
    assert result.exit_code == 1
    one_error_line(result, "holds files a scorecard build did not write (my-notes.txt)")
    assert tree(out / "2025-Q3") == before


def test_a_folder_of_ours_is_replaced_and_marked_as_ours(tmp_path):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    assert build(data, out).exit_code == 0
    manifest = json.loads((out / "2025-Q3" / "manifest.json").read_text())
    assert manifest["generator"] == "scorecard"
    assert outputs.not_ours(out / "2025-Q3") is None
    rebuilt = build(data, out, "--force")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock", "2025-Q3"]


def test_the_lock_file_never_follows_a_symbolic_or_hard_link(tmp_path):
    data = small_data(tmp_path / "data")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".scorecard.lock").symlink_to(victim)
    result = build(data, out)
    assert result.exit_code == 1
    one_error_line(result, str(out / ".scorecard.lock"), "symbolic link")
    assert victim.read_text() == "precious"
    (out / ".scorecard.lock").unlink()
    os.link(victim, out / ".scorecard.lock")
    result = build(data, out)
    assert result.exit_code == 1
    one_error_line(result, str(out / ".scorecard.lock"), "remove it")
    assert victim.read_text() == "precious"
    assert not (out / "2025-Q3").exists()


def test_staging_and_previous_folders_never_follow_a_symbolic_link(tmp_path):
    data = small_data(tmp_path / "data")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    out = tmp_path / "out"
    assert build(data, out).exit_code == 0
    # A link where this process would stage (CliRunner runs in this process, so the pid is ours).
    staging_link = out / f".2025-Q3.staging-{os.getpid()}"
    staging_link.symlink_to(victim, target_is_directory=True)
    result = build(data, out, "--force")
    assert result.exit_code == 1
    one_error_line(result, str(staging_link), "symbolic link")
    assert (victim / "keep.txt").read_text() == "precious" and sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    staging_link.unlink()
    previous_link = out / ".2025-Q3.previous"
    previous_link.symlink_to(victim, target_is_directory=True)
    result = build(data, out, "--force")
    assert result.exit_code == 1
    one_error_line(result, str(previous_link), "symbolic link")
    assert (victim / "keep.txt").read_text() == "precious" and sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert (out / "2025-Q3" / "manifest.json").exists()


def test_sample_refuses_a_non_empty_folder_that_is_not_a_sample_unless_forced(tmp_path):
    exports = small_data(tmp_path / "exports")
    before = tree(exports)
    result = runner.invoke(app, ["sample", "--out", str(exports), "--customers", "20"])
    assert result.exit_code == 1
    one_error_line(result, str(exports), "holds no sample written by scorecard", "--force")
    assert tree(exports) == before
    # A sample of ours may be regenerated in place; --force overwrites real files on request.
    fresh = tmp_path / "fresh"
    assert runner.invoke(app, ["sample", "--out", str(fresh), "--customers", "20"]).exit_code == 0
    assert runner.invoke(app, ["sample", "--out", str(fresh), "--customers", "30", "--seed", "2"]).exit_code == 0
    forced = runner.invoke(app, ["sample", "--out", str(exports), "--customers", "20", "--force"])
    assert forced.exit_code == 0, forced.output
    assert tree(exports) != before


def test_the_swap_is_one_atomic_exchange_on_linux(tmp_path, monkeypatch):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    assert build(data, out).exit_code == 0
    old_manifest = (out / "2025-Q3" / "manifest.json").read_bytes()

    def no_rename(*args, **kwargs):
        raise AssertionError("the old folder was renamed away: the swap is not one exchange")

    monkeypatch.setattr(outputs.os, "rename", no_rename)
    result = build(data, out, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "2025-Q3" / "manifest.json").read_bytes() != old_manifest
    assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock", "2025-Q3"]


def test_without_renameat2_the_two_step_swap_is_recovered_after_a_kill(tmp_path, monkeypatch):
    data = small_data(tmp_path / "data")
    out = tmp_path / "out"
    monkeypatch.setattr(outputs, "_renameat2", lambda source, target, flags: False)
    assert build(data, out).exit_code == 0
    assert build(data, out, "--force").exit_code == 0
    before = tree(out / "2025-Q3")
    # A kill between the two renames: the old folder is `.previous`, the new one never arrived.
    os.rename(out / "2025-Q3", out / ".2025-Q3.previous")
    outputs.recover(out, "2025-Q3")
    assert tree(out / "2025-Q3") == before and not (out / ".2025-Q3.previous").exists()


# --- OSError on outputs ------------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    """A real small or read-only file system where the machine lets us mount one (root), else None."""
    path.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0
    )
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], check=False)


def test_output_errors_name_the_path_for_a_read_only_out(tmp_path, monkeypatch):
    data = small_data(tmp_path / "data")
    with tmpfs(tmp_path / "ro", "ro,size=1m") as mounted:
        out = mounted or tmp_path / "ro"
        if mounted is None:
            if os.geteuid() == 0:  # root ignores permissions: simulate what a read-only folder answers
                monkeypatch.setattr(outputs.os, "open", _failing(errno.EROFS, outputs.os.open))
            else:
                out.chmod(0o555)
        result = build(data, out)
    assert result.exit_code == 1
    one_error_line(result, str(out), "choose another --out", "Nothing was published")


def _failing(code, real):
    def replacement(path, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(path))

    return replacement


def test_output_errors_name_the_path_for_a_full_disk(tmp_path, monkeypatch):
    """A real 64 KB tmpfs where we may mount one; elsewhere the write of the PDF fails with ENOSPC."""
    data = small_data(tmp_path / "data")
    with tmpfs(tmp_path / "tiny", "size=64k") as mounted:
        out = mounted or tmp_path / "tiny"
        if mounted is None:
            from scorecard.writers import pdf

            monkeypatch.setattr(pdf, "_typeset", lambda template, model, target: _failing(errno.ENOSPC, None)(target))
        result = build(data, out)
        assert result.exit_code == 1
        one_error_line(result, "No space left on device", "the disk is full; free some space", str(out))
        assert sorted(p.name for p in out.iterdir()) == [".scorecard.lock"]  # staging removed


def test_output_errors_name_the_path_when_out_is_a_file(tmp_path):
    data = small_data(tmp_path / "data")
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-")
    result = build(data, target)
    assert result.exit_code == 1
    one_error_line(result, str(target), "--out must name a folder")
    assert target.read_bytes() == b"%PDF-"


# --- Security ------------------------------------------------------------------------------------------


def evil_database(path: Path, view: str = "customers") -> Path:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("create table customers as select 'A' as customer_id, 'X' as segment")
    con.execute("create table orders as select 'o1' as order_id, 'A' as customer_id, date '2025-08-01' as order_date, 10.5 as amount")
    if view:
        con.execute(f"drop table {view}")
        con.execute(
            f"create view {view} as select column0 as customer_id, column0 as order_id, column0 as segment, column0 as name, "
            "date '2025-08-01' as order_date, 1 as amount from read_csv('/etc/passwd', header = false, delim = ':')"
        )
    con.execute("create macro costs() as table select * from read_csv('/etc/passwd')")
    con.close()
    return path


@pytest.mark.parametrize("view", ["customers", "orders"])
def test_a_duckdb_file_view_reading_etc_passwd_is_refused_and_never_runs(tmp_path, view):
    database = evil_database(tmp_path / "shop.duckdb", view)
    for command in (["metrics", "-p", "2025-Q3", "-f", "json"], ["validate"]):
        result = runner.invoke(app, [*command, "--data", str(database)])
        assert result.exit_code == 1, result.output
        assert "root:" not in result.output
        assert f"{view} is a view, not a table" in result.output and "costs is a macro, not a table" in result.output
        assert all(line.startswith("Error: ") for line in result.output.strip().splitlines())


def test_a_duckdb_file_is_attached_only_in_a_connection_that_reaches_no_other_file(tmp_path):
    """Even a view the checks let through could not run: the reading connection is locked before attach."""
    import duckdb

    from scorecard import engine
    from scorecard.loaders.duckdb_file import _locked_reader

    database = evil_database(tmp_path / "shop.duckdb")
    with engine.connect() as con, _locked_reader(con, database) as reader:
        with pytest.raises(duckdb.PermissionException):
            reader.execute("select * from source_db.customers").fetchall()
        with pytest.raises(duckdb.PermissionException):
            reader.execute("select * from source_db.costs()").fetchall()
        with pytest.raises(duckdb.PermissionException):
            reader.execute("select * from read_text('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error, match="locked"):
            reader.execute("set enable_external_access = true")
        assert reader.execute("select count(*) from source_db.orders").fetchone() == (1,)


def test_a_duckdb_file_of_base_tables_still_reads(tmp_path):
    database = evil_database(tmp_path / "shop.duckdb", view="")
    import duckdb

    con = duckdb.connect(str(database))
    con.execute("drop macro table costs")
    con.close()
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "-f", "json", "--data", str(database)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scorecards"][0]["customers"]["new"] == 1


# --- Silently wrong figures: timestamps -------------------------------------------------------------------

# One instant, 2025-10-01 02:00 UTC (= 30 September, 22:00 in New York), in every zone form DuckDB reads.
SAME_INSTANT = [
    "2025-10-01T02:00:00Z", "2025-10-01T02:00:00z", "2025-10-01T02:00:00 Z", "2025-10-01 02:00:00Z",
    "2025-10-01T02:00:00+00:00", "2025-10-01T02:00:00+0000", "2025-10-01T02:00:00+00", "2025-10-01T02:00:00 +00:00",
    "2025-10-01T02:00:00 UTC", "2025-10-01T02:00:00 GMT", "2025-10-01T02:00:00.000001 UTC",
    "2025-10-01T04:00:00+02:00", "2025-10-01T04:00:00+0200", "2025-10-01T04:00:00 Europe/Berlin", "2025-10-01T04:00:00 CET",
    "2025-09-30T22:00:00-04:00", "2025-09-30T22:00:00-0400", "2025-09-30T22:00:00-04", "2025-09-30T22:00:00 America/New_York",
    "2025-10-01T11:00:00 Asia/Tokyo", "2025-10-01T07:30:00+05:30",
]  # fmt: skip
EXPECTED_DAY = {"UTC": "2025-10-01", "America/New_York": "2025-09-30", "Asia/Tokyo": "2025-10-01", "Pacific/Honolulu": "2025-09-30"}


def staged_dates(data: Path, time_zone: str) -> dict[str, str | None]:
    """order_id → the order date as staging reads it, in `time_zone`."""
    from datetime import date

    from scorecard import engine
    from scorecard.models import INPUT_TABLES, ModelRunner
    from scorecard.settings import Settings
    from scorecard.source import load_source, resolve_source

    with engine.connect() as con:
        # run_settings first, as engine.prepare does: a typed TIMESTAMPTZ column is dated in its time zone.
        engine._create_run_settings(con, Settings(time_zone=time_zone), date(2026, 1, 1))
        load_source(con, resolve_source(data), "segment")
        ModelRunner(con).run(available=set(INPUT_TABLES) - {"run_periods", "run_segments"})
        return dict(con.execute("select order_id, cast(order_date as varchar) from stg_orders").fetchall())


def zone_forms_data(folder: Path, values: list[str], file_format: str) -> Path:
    import duckdb

    make_data(folder, [("A", "X")], [("A", value, "10") for value in values])
    if file_format != "csv":
        con = duckdb.connect()
        for table in ("customers", "orders"):
            # A typed column holds the instant itself, whatever form it was written in.
            typed = file_format == "parquet-timestamptz" and table == "orders"
            columns = "* replace (timestamptz '2025-10-01 02:00:00+00' as order_date)" if typed else "*"
            con.execute(
                f"copy (select {columns} from read_csv(?, all_varchar = true)) to '{folder / (table + '.parquet')}' (format parquet)",
                [str(folder / f"{table}.csv")],
            )
            (folder / f"{table}.csv").unlink()
        con.close()
    return folder


@pytest.mark.parametrize("file_format", ["csv", "parquet-string", "parquet-timestamptz"])
@pytest.mark.parametrize("time_zone", sorted(EXPECTED_DAY))
def test_timestamps_in_every_zone_form_are_dated_alike_in_the_report_time_zone(tmp_path, file_format, time_zone):
    data = zone_forms_data(tmp_path / "data", SAME_INSTANT, file_format)
    dates = staged_dates(data, time_zone)
    assert dates == {f"o{n}": EXPECTED_DAY[time_zone] for n in range(1, len(SAME_INSTANT) + 1)}, list(
        zip(SAME_INSTANT, dates.values(), strict=True)
    )


def test_a_timestamp_without_a_zone_is_taken_in_the_report_time_zone_and_dates_keep_the_fast_path(tmp_path):
    data = zone_forms_data(tmp_path / "data", ["2025-09-30T23:30:00", "2025-09-30 23:30", "2025-09-30"], "csv")
    assert set(staged_dates(data, "America/New_York").values()) == {"2025-09-30"}
    assert set(staged_dates(data, "Asia/Tokyo").values()) == {"2025-09-30"}


@pytest.mark.parametrize("value", ["2025-09-30T23:30:00 Foo/Bar", "2025-09-30T23:30:00 Local", "2025-09-30T23:30:00 EDT", "2025-09-30Z"])
@pytest.mark.parametrize("file_format", ["csv", "parquet-string"])
def test_a_timestamp_with_a_zone_that_cannot_be_read_stops_the_run(tmp_path, value, file_format):
    data = zone_forms_data(tmp_path / "data", ["2025-08-01", value], file_format)
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(data), "--time-zone", "America/New_York"])
    assert result.exit_code == 1
    one_error_line(result, "column order_date: 1 value cannot be read", "row 2", value[:19])


# --- Silently wrong figures: amounts -------------------------------------------------------------------


def orders_as_parquet(folder: Path, amount_sql: str) -> Path:
    """customers and orders as Parquet; order o2's amount is `amount_sql`, typed as DuckDB makes it."""
    import duckdb

    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"copy (select 'A' as customer_id, 'X' as segment) to '{folder / 'customers.parquet'}' (format parquet)")
    con.execute(
        f"create table orders as select 'o1' as order_id, 'A' as customer_id, date '2025-08-01' as order_date, {amount_sql} as amount limit 0"
    )
    con.execute(f"insert into orders values ('o1', 'A', date '2025-08-01', 10), ('o2', 'A', date '2025-08-02', {amount_sql})")
    con.execute(f"copy orders to '{folder / 'orders.parquet'}' (format parquet)")
    con.close()
    return folder


@pytest.mark.parametrize(
    "amount_sql, csv_text, shown",
    [
        ("cast('nan' as double)", "NaN", "nan"),
        ("cast('inf' as double)", "Infinity", "inf"),
        ("cast('-inf' as double)", "-inf", "-inf"),
        ("cast(1e17 as double)", "1e17", "1e+17"),
        ("cast(1e17 as float)", "100000000000000000", "1e+17"),
        ("cast('100000000000000000000' as hugeint)", "100000000000000000000", "1e+20"),  # Parquet stores a HUGEINT as DOUBLE
        ("cast('100000000000000000000' as decimal(38, 0))", "100000000000000000000", "100000000000000000000"),
        ("cast('18446744073709551615' as ubigint)", "18446744073709551615", "18446744073709551615"),
        ("cast('12345678901234567.5' as decimal(20, 1))", "12345678901234567.5", "12345678901234567.5"),
    ],
)
def test_parquet_amounts_nan_inf_1e17_and_1e20_stop_the_run_like_the_same_csv_values(tmp_path, amount_sql, csv_text, shown):
    parquet = orders_as_parquet(tmp_path / "parquet", amount_sql)
    csv_data = make_data(tmp_path / "csv", [("A", "X")], [("A", "2025-08-01", "10"), ("A", "2025-08-02", csv_text)])
    for data, value in ((parquet, shown), (csv_data, csv_text)):
        result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(data), "-f", "json"])
        assert result.exit_code == 1, (data.name, result.output)
        one_error_line(result, "column amount: 1 value cannot be read as a decimal number", f"row 2 ('{value}')")


def currency_config(folder: Path, code: str) -> Path:
    config = folder / f"currency-{code}.toml"
    config.write_text(f'[report]\ncurrency = "{code}"\n')
    return config


def test_amounts_with_more_than_two_decimals_are_rounded_and_the_rounding_reported(tmp_path):
    # 10.005 → 10.01 (+0.005), 20.125 → 20.13 (+0.005), 1.0049 → 1.00 (−0.0049), 5.5 unchanged: 3 rows, net +0.0051 → 0.01
    orders = [("A", "2025-08-01", "10.005"), ("A", "2025-08-02", "20.125"), ("A", "2025-08-03", "1.0049"), ("A", "2025-08-04", "5.5")]
    data = make_data(tmp_path / "csv", [("A", "X")], orders, costs=[("A", "2025-08-01", "0.125", "support")])
    document = json.loads(runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(data), "-f", "json"]).stdout)
    assert document["scorecards"][0]["value"]["end"] == 36.64  # 10.01 + 20.13 + 1.00 + 5.50
    assert document["data_quality"]["rounded"] == [
        {"table": "costs", "reason": "amount with more than two decimals (rounded to the cent)", "rows": 1, "amount": 0.01},
        {"table": "orders", "reason": "amount with more than two decimals (rounded to the cent)", "rows": 3, "amount": 0.01},
    ]
    assert any("3 amounts in the orders table had more than two decimals and were rounded" in note for note in document["notes"])
    validated = runner.invoke(app, ["validate", "--data", str(data)])
    assert "orders: 3 amounts with more than two decimals (rounded to the cent), changing their total by +0.01" in validated.output
    priced = runner.invoke(app, ["validate", "--data", str(data), "--config", str(currency_config(tmp_path, "EUR"))])
    assert "changing their total by +€0.01" in priced.output
    # Parquet: a DOUBLE is read as the number it prints as (12.345, not 12.3449999…); a DECIMAL(10,4) exactly.
    parquet = orders_as_parquet(tmp_path / "double", "cast(12.345 as double)")
    rounded = json.loads(runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(parquet), "-f", "json"]).stdout)
    assert rounded["scorecards"][0]["value"]["end"] == 22.35 and rounded["data_quality"]["rounded"][0]["rows"] == 1
    exact = orders_as_parquet(tmp_path / "decimal", "cast(0.1 as double)")
    assert (
        json.loads(runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(exact), "-f", "json"]).stdout)["data_quality"]["rounded"]
        == []
    )


def test_the_rounding_note_reaches_the_pdf(tmp_path):
    from pypdf import PdfReader

    data = make_data(tmp_path / "csv", [("A", "X")], [("A", "2025-08-01", "10.005")])
    result = build(data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "out" / "2025-Q3" / "scorecard-2025-Q3-company.pdf").pages)
    assert "1 amount in the orders table had more than two decimals and was rounded to the" in " ".join(text.split())


def test_an_amount_of_a_hundred_billion_with_a_margin_column_works(tmp_path):
    """IDR/VND-sized amounts: amount × margin and every sum stay exact (DECIMAL(38, …))."""
    orders = [{"customer_id": "A", "order_date": "2025-08-01", "amount": "100000000000", "margin": "0.35"},
              {"customer_id": "A", "order_date": "2025-09-01", "amount": "9999999999999999.99", "margin": "0.999999"},
              {"customer_id": "B", "order_date": "2025-08-01", "amount": "100000000000.01", "margin": "0.5"}]  # fmt: skip
    data = make_data(tmp_path / "data", [("A", "X"), ("B", "Y")], orders, costs=[("A", "2025-08-01", "9999999999999999.99", "support")])
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(data), "-f", "json"])
    assert result.exit_code == 0, result.output
    from decimal import Decimal

    document = json.loads(result.stdout, parse_float=Decimal)
    company = document["scorecards"][0]
    assert company["value"]["end"] == Decimal("10000199999999999.99") + Decimal("0.01")
    # 10^11 × 0.35 + (10^16 − 0.01) × 0.999999 + (10^11 + 0.01) × 0.5, to the cent
    gross = Decimal("35000000000") + Decimal("9999999999999999.99") * Decimal("0.999999") + Decimal("100000000000.01") * Decimal("0.5")
    assert company["profitability"]["gross_profit"] == gross.quantize(Decimal("0.01"))
    assert company["profitability"]["total_profit"] == (gross - Decimal("9999999999999999.99")).quantize(Decimal("0.01"))


# --- The window check, option ranges -------------------------------------------------------------------


@pytest.mark.parametrize(
    "period, window, message",
    [
        ("2024-02", "28", "--window-days 28 is shorter than the period 2024-02 (29 days); use a window of at least 29 days"),
        ("2024-Q1", "90", "--window-days 90 is shorter than the period 2024-Q1 (91 days); use a window of at least 91 days"),
        ("2024-Q1", "89", "the period 2024-Q1 (91 days)"),
        ("2024-H1", "181", "the period 2024-H1 (182 days)"),
        ("2024", "364", "--window-days 364 is shorter than the period 2024 (366 days); use a window of at least 365 days"),
    ],
)
def test_the_window_check_uses_the_true_period_length_29_february_included(tmp_path, period, window, message):
    data = small_data(tmp_path / "data")
    result = runner.invoke(app, ["metrics", "-p", period, "--data", str(data), "--window-days", window])
    assert result.exit_code == 2
    one_error_line(result, message)


@pytest.mark.parametrize("period, window", [("2024-02", "29"), ("2024-Q1", "91"), ("2025-Q1", "90"), ("2024", "365")])
def test_a_window_as_long_as_the_period_runs_and_a_leap_year_takes_the_default_365(tmp_path, period, window):
    data = small_data(tmp_path / "data")
    result = runner.invoke(app, ["metrics", "-p", period, "--data", str(data), "--window-days", window, "-f", "json"])
    assert result.exit_code == 0, result.output


def test_window_days_out_of_range_is_a_usage_error(tmp_path):
    data = small_data(tmp_path / "data")
    base = ["metrics", "-p", "2025-Q3", "--data", str(data)]
    for value in ("99999999999", "2147483648", "3661", "0", "-5"):
        result = runner.invoke(app, [*base, "--window-days", value])
        assert result.exit_code == 2, (value, result.output)
        one_error_line(result, "--window-days must be a number of days from 1 to 3660")
    config = tmp_path / "scorecard.toml"
    config.write_text("[metrics]\nwindow_days = 2147483648\n")
    assert runner.invoke(app, [*base, "--config", str(config)]).exit_code == 2
    assert runner.invoke(app, base, env={"SCORECARD_WINDOW_DAYS": "2147483648"}).exit_code == 2


def test_an_unknown_segment_by_column_is_a_usage_error(tmp_path):
    data = small_data(tmp_path / "data")
    for command in (["metrics", "-p", "2025-Q3"], ["validate"], ["build", "-p", "2025-Q3", "--out", str(tmp_path / "out")]):
        result = runner.invoke(app, [*command, "--data", str(data), "--segment-by", "regoin"])
        assert result.exit_code == 2, result.output
        one_error_line(result, "--segment-by column 'regoin' does not exist; choose one of: name, segment")


# --- Customer text: formula injection, right-to-left overrides, huge fields ---------------------------------


def test_metrics_csv_neutralises_formula_injection_and_numbers_stay_numbers(tmp_path):
    import csv
    import io

    hostile = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "Plain"]
    customers = [(f"C{i}", name) for i, name in enumerate(hostile)]
    orders = [(f"C{i}", "2025-08-01", "10") for i in range(len(hostile))] + [("C0", "2024-08-01", "500")]
    data = make_data(tmp_path / "data", customers, orders, costs=[("C1", "2025-08-01", "100", "support")])
    result = runner.invoke(
        app, ["metrics", "-p", "2025-Q3", "--data", str(data), "-f", "csv", "--gross-margin", "0.1", "--min-segment-customers", "0"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    segments = {row["segment"] for row in rows}
    assert segments == {"", '\'=HYPERLINK("http://evil","x")', "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rCR", "Plain"}
    values = [row["value"] for row in rows if row["value"]]
    assert any(value.startswith("-") for value in values)  # a negative figure stays a number, unescaped
    assert all(not value.startswith("'") for value in values)
    # the build writes the same CSV
    assert build(data, tmp_path / "out", "--gross-margin", "0.1", "--min-segment-customers", "0").exit_code == 0
    assert (tmp_path / "out" / "2025-Q3" / "metrics.csv").read_bytes().decode() == result.stdout


def test_a_right_to_left_override_in_a_segment_name_is_isolated_in_the_pdf(tmp_path):
    from pypdf import PdfReader

    from scorecard.outputs import scorecard_file_names

    customers = [("A1", "Retail\u202e"), ("A2", "Retail\u202e"), ("B1", "\u2069\u202eWholesale"), ("B2", "\u2069\u202eWholesale")]
    orders = [("A1", "2024-09-01", "120"), ("A1", "2025-08-01", "30"), ("A2", "2025-08-10", "99.99"), ("B1", "2025-02-01", "500"),
              ("B2", "2024-12-01", "750"), ("B2", "2025-09-30", "80")]  # fmt: skip
    data = make_data(tmp_path / "data", customers, orders)
    assert build(data, tmp_path / "out", "--min-segment-customers", "0").exit_code == 0  # every segment its own scorecard
    folder = tmp_path / "out" / "2025-Q3"
    names = scorecard_file_names("2025-Q3", [None, "Retail\u202e", "\u2069\u202eWholesale"])
    for segment in ("Retail\u202e", "\u2069\u202eWholesale"):
        for page in PdfReader(folder / names[segment]).pages:
            text = page.extract_text()
            # The running header reads forwards; a leaking override would draw it reversed (")5202 peS 03 – 5202 luJ 1(").
            assert "2025-Q3 (1 Jul 2025 – 30 Sep 2025)" in text, text[:200]
            assert "5202" not in text
            assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), text[:200]  # no control is drawn
    pack = " ".join(page.extract_text() for page in PdfReader(folder / "board-pack-2025-Q3.pdf").pages)
    assert "5202" not in pack and "Company total" in pack


def test_displayed_customer_text_is_cut_and_isolated_only_when_it_holds_right_to_left_text():
    from scorecard.render import displayed

    assert displayed("Acme Ltd", 80) == "Acme Ltd"  # plain text unchanged: identical PDFs for ordinary data
    assert displayed("x" * 10_000, 80) == "x" * 79 + "…"
    assert displayed("Retail\u202e", 60) == "\u2068Retail\u202e\u2069"
    assert displayed("\u2069\u202eX", 60) == "\u2068\u202eX\u2069"  # a PDI inside cannot close the isolate early
    assert displayed("\u05e2\u05d1\u05e8\u05d9\u05ea", 60) == "\u2068\u05e2\u05d1\u05e8\u05d9\u05ea\u2069"


def test_a_10000_character_customer_name_builds_in_seconds_and_stays_whole_in_metrics_json(tmp_path):
    import time

    long_name = "W" * 10_000
    customers = [
        ("A1", "Retail", None, long_name),
        ("A2", "Retail", None, long_name + "2"),
        ("B1", "Wholesale", "2025-08-15", long_name + "3"),
    ]
    orders = [("A1", "2024-09-01", "1200.50"), ("A1", "2025-08-01", "300.25"), ("A2", "2025-08-10", "99.99"), ("B1", "2025-02-01", "5000")]
    data = make_data(tmp_path / "data", customers, orders, referrals=[["r1", "A1", "A2", "2025-08-05", "N" * 10_000]])
    started = time.monotonic()
    result = build(data, tmp_path / "out")
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert seconds < 90, seconds  # about 10 s on a busy 2-core machine; on main it took about 1,000 s
    document = json.loads((tmp_path / "out" / "2025-Q3" / "metrics.json").read_text())
    names = {row["name"] for card in document["scorecards"] for row in card["top_lost"] + card["top_decliners"]}
    assert long_name + "3" in names or long_name in names
    assert document["scorecards"][0]["referrals"]["highlights"][0]["note"] == "N" * 10_000


def test_error_messages_never_echo_a_huge_field(tmp_path):
    huge = "2025-13-01" + "x" * 1_000_000
    data = make_data(tmp_path / "data", [("A", "X")], [("A", "2025-08-01", "10"), ("A", huge, "10")])
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(data)])
    assert result.exit_code == 1
    line = one_error_line(result, "column order_date: 1 value cannot be read", "row 2 ('2025-13-01xxx")
    assert len(line) < 600
    # A huge column name (listed when --segment-by names no column) and a huge duplicate key.
    wide = make_data(tmp_path / "wide", [{"customer_id": "A", "y" * 1_000_000: "1"}], [("A", "2025-08-01", "10")])
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(wide), "--segment-by", "region"])
    one_error_line(result, "the header line cannot be read")
    assert result.exit_code == 1 and len(result.output) < 600, len(result.output)
    wide = make_data(tmp_path / "wide2", [{"customer_id": "A", "y" * 100_000: "1"}], [("A", "2025-08-01", "10")])
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(wide), "--segment-by", "region"])
    one_error_line(result, "--segment-by column 'region' does not exist; choose one of: yyyyy")
    assert result.exit_code == 2 and len(result.output) < 600, len(result.output)
    twice = make_data(tmp_path / "twice", [("K" * 500_000, "X"), ("K" * 500_000, "X")], [("A", "2025-08-01", "10")])
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(twice)])
    assert result.exit_code == 1 and "2 values longer than 16,384 characters (row 1, row 2)" in result.output
    assert "1 value appears more than once ('KKKKK" in result.output
    assert all(len(line) < 600 for line in result.output.splitlines())


SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="80" height="20">{}</svg>'


@pytest.mark.parametrize(
    "body, reason",
    [
        ('<image href="http://example.com/x.png" width="9" height="9"/>', "refers to 'http://example.com/x.png'"),
        ('<image xlink:href="file:///etc/passwd" width="9" height="9"/>', "refers to 'file:///etc/passwd'"),
        ('<style>@import url("http://example.com/x.css");</style>', "refers to '@import'"),
        ('<rect width="9" height="9" style="fill: url(http://example.com/p.svg#g)"/>', "refers to 'http://example.com/p.svg#g'"),
        ('<rect width="9" height="9" fill="url(file:///etc/passwd)"/>', "refers to 'file:///etc/passwd'"),
        ("XXE", "declares a DTD or entities"),
    ],
)
def test_a_hostile_svg_logo_stops_the_build_with_a_clear_error(tmp_path, body, reason):
    logo = tmp_path / "logo.svg"
    if body == "XXE":
        logo.write_text('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + SVG.format("<text>&x;</text>"))
    else:
        logo.write_text(SVG.format(body))
    config = tmp_path / "scorecard.toml"
    config.write_text(f'[report]\nlogo = "{logo}"\n')
    data = small_data(tmp_path / "data")
    result = build(data, tmp_path / "out", "--config", str(config))
    assert result.exit_code == 1
    one_error_line(result, f"logo file {logo} {reason}", "stops the build", "use a PNG")
    assert not (tmp_path / "out" / "2025-Q3").exists()


def test_a_plain_svg_logo_with_its_own_gradient_still_builds(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text(
        SVG.format('<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>'
                   '<rect width="80" height="20" fill="url(#g)"/><image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>')
    )  # fmt: skip
    config = tmp_path / "scorecard.toml"
    config.write_text(f'[report]\nlogo = "{logo}"\n')
    result = build(small_data(tmp_path / "data"), tmp_path / "out", "--config", str(config))
    assert result.exit_code == 0, result.output


# --- Fonts ----------------------------------------------------------------------------------------------


def test_the_pdfs_carry_only_the_fonts_shipped_with_the_tool(tmp_path):
    """The PDFs need no font installed on the machine: DejaVu Sans ships in the package, and is what
    every page and chart is set in (subset into the PDF)."""
    from pypdf import PdfReader

    from scorecard import typesetting

    shipped = {font.path for font in typesetting._fonts().fonts() if font.family == "DejaVu Sans"}
    assert {Path(path).name for path in shipped if "templates/fonts" in path} >= {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf"}
    result = build(small_data(tmp_path / "data"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    fonts = set()
    for page in PdfReader(tmp_path / "out" / "2025-Q3" / "scorecard-2025-Q3-company.pdf").pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    assert (
        {"DejaVuSans", "DejaVuSans-Bold"} <= fonts <= {"DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique"}
    ), fonts


def test_a_tiny_parquet_file_of_one_huge_repeated_value_stays_within_memory(tmp_path):
    """The 76 KB file that took 9 GB: a Parquet dictionary holding one 1 MB name for 9,000 customers (7 KB
    here). On main: 20 GB and 2 minutes. Now every text value is cut as it is read: one clear error, ~1 GB."""
    import resource
    import sys

    import duckdb

    data = tmp_path / "data"
    data.mkdir()
    con = duckdb.connect()
    con.execute(
        f"copy (select 'C' || i as customer_id, repeat('x', 1000000) as name from range(9000) t(i)) to '{data / 'customers.parquet'}' (format parquet, compression zstd)"
    )
    con.execute(
        f"copy (select 'O' || i as order_id, 'C' || i as customer_id, date '2025-08-01' as order_date, 10.0 as amount from range(9000) t(i)) to '{data / 'orders.parquet'}' (format parquet)"
    )
    con.close()
    assert (data / "customers.parquet").stat().st_size < 100_000
    # A 2 GB cap keeps a regression from taking the machine down: it would fail with the memory error instead.
    environment = {**os.environ, "SCORECARD_MEMORY_LIMIT": "2GB"}
    result = subprocess.run(
        [sys.executable, "-m", "scorecard", "validate", "--data", str(data)], capture_output=True, text=True, env=environment, timeout=300
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {data / 'customers.parquet'}, column name: 9,000 values longer than 16,384 characters (row 1, row 2, row 3 "
        "and 8,997 more); shorten them, or check that the column holds what it should"
    ]
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2_500_000  # KiB: the largest child of this test run


def test_running_out_of_memory_is_one_line_naming_the_setting(tmp_path):
    import sys

    data = small_data(tmp_path / "data")
    environment = {**os.environ, "SCORECARD_MEMORY_LIMIT": "1MB"}
    result = subprocess.run(
        [sys.executable, "-m", "scorecard", "metrics", "-p", "2025-Q3", "--data", str(data)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("Error: the data needs more memory than the limit of")
        and "SCORECARD_MEMORY_LIMIT" in lines[0]
    ), lines


def test_running_out_of_disk_for_spilling_is_one_line_naming_the_folder(tmp_path):
    """Beyond its memory limit DuckDB spills to disk; when that disk is full (here: a 1 MB cap on the spill
    folder) the run stops with one line saying where, and how to move it."""
    import sys

    from scorecard import sample

    data = tmp_path / "data"
    sample.generate(data, customers=30_000, file_format="parquet", costs=False)
    spill = tmp_path / "spill"
    spill.mkdir()
    environment = {**os.environ, "SCORECARD_MEMORY_LIMIT": "30MB", "SCORECARD_MAX_SPILL": "1MB", "SCORECARD_THREADS": "1",
                   "SCORECARD_TEMP_DIR": str(spill)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "scorecard", "metrics", "-p", "Q3", "--data", str(data)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: the disk holding the spill folder {spill.resolve()}"), lines
    assert "SCORECARD_TEMP_DIR" in lines[0]


def test_the_default_memory_limit_is_half_of_what_duckdb_sees_and_at_most_8_gib(monkeypatch):
    from scorecard import engine
    from scorecard.engines import duckdb as duckdb_engine

    monkeypatch.delenv("SCORECARD_MEMORY_LIMIT", raising=False)
    with engine.connect() as con:
        limit = duckdb_engine._bytes(con.execute("select current_setting('memory_limit')").fetchall()[0][0])
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert limit <= 8 * 2**30 and limit <= total * 0.5 + 2**20


def test_a_memory_cap_lowers_the_limit_but_never_raises_it_or_overrides_the_setting(monkeypatch):
    """The sample generator caps DuckDB's memory (it spills beyond); a limit the user set stays theirs."""
    from scorecard.engines import duckdb as duckdb_engine

    def limit(con) -> int:
        return duckdb_engine._bytes(con.execute("select current_setting('memory_limit')").fetchall()[0][0])

    monkeypatch.delenv("SCORECARD_MEMORY_LIMIT", raising=False)
    with duckdb_engine.DuckDBEngine() as con:
        default = limit(con)
        con.cap_memory(default * 4)
        assert limit(con) == default
        con.cap_memory(256 * 2**20)
        assert limit(con) == 256 * 2**20
    monkeypatch.setenv("SCORECARD_MEMORY_LIMIT", "700MB")
    with duckdb_engine.DuckDBEngine() as con:
        con.cap_memory(256 * 2**20)
        assert abs(limit(con) - 700 * 10**6) < 2**20  # as DuckDB reports it: 667.5 MiB


def test_ownership_rules_of_output_folders(tmp_path):
    """Ours: our manifest (or an older build's: a fingerprint and the tool's version) listing every file
    there, or an empty folder; anything else is not, and recover leaves a foreign .previous alone."""
    legacy = tmp_path / "2025-Q2"
    legacy.mkdir()
    (legacy / "metrics.json").write_text("{}")
    (legacy / "manifest.json").write_text(
        json.dumps({"fingerprint": "x", "versions": {"scorecard": "0.1.0"}, "files": [{"name": "metrics.json"}]})
    )
    assert outputs.not_ours(legacy) is None
    (legacy / "sub").mkdir()
    assert "sub" in outputs.not_ours(legacy)
    (tmp_path / "empty").mkdir()
    assert outputs.not_ours(tmp_path / "empty") is None and outputs.not_ours(tmp_path / "absent") is None
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "manifest.json").write_text(json.dumps({"generator": "someone else", "files": []}))
    assert "was not written by scorecard" in outputs.not_ours(fake)
    foreign = tmp_path / ".2025-Q3.previous"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep")
    with pytest.raises(outputs.OutputError, match="was not written by scorecard"):
        outputs.recover(tmp_path, "2025-Q3")
    assert (foreign / "mine.txt").read_text() == "keep"
