"""Reading from PostgreSQL, against a real server the session starts (tests/postgres_server.py): the sample
in typed tables gives the metrics of the CSV files; timestamptz orders are dated in the report time zone;
all tables come from one snapshot while the application writes; every failure is one line with its exit
code; the password is never printed."""

from __future__ import annotations

import json
import sys
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from conftest import compute, make_data, require_component
from postgres_server import driver_installed
from scorecard.cli import app
from scorecard.config import resolve
from scorecard.resources import resource_path
from scorecard.urls import without_password

runner = CliRunner()
SAMPLE = resource_path("sample_data")

# The sample's CSV files as a database would type them…
TYPED = {
    "customers": {"created_at": "date", "closed_at": "date"},
    "orders": {"order_date": "date", "amount": "numeric(12,2)", "margin": "numeric(6,4)"},
    "referrals": {"referred_at": "date"},
    "costs": {"cost_date": "date", "amount": "numeric(12,2)"},
}
# …and under the other types the contract accepts (the server's time zone is UTC, so midnight stays on its date).
OTHER_TYPES = {
    "customers": {"created_at": "timestamp", "closed_at": "text"},
    "orders": {"order_date": "timestamptz", "amount": "numeric", "margin": "double precision"},
    "referrals": {"referred_at": "timestamptz"},
    "costs": {"cost_date": "text", "amount": "double precision"},
}
PASSWORD = "S3cr#t:p@ss/w%rd"  # needs percent-encoding in a URL and escaping in ~/.pgpass


def load_sample(postgres, database: str, types: dict) -> None:
    postgres.psql(f"create database {database}")
    for table, columns in types.items():
        postgres.load_csv(database, f"public.{table}", SAMPLE / f"{table}.csv", columns)


@pytest.fixture(scope="module")
def shop(postgres):
    """The sample in typed tables (database shop), the same tables as views in schema crm (the customers
    under another name), and a user `analyst` whose password needs escaping."""
    load_sample(postgres, "shop", TYPED)
    postgres.psql(
        "create schema crm;\n"
        + "".join(f"create view crm.{table} as select * from public.{table};\n" for table in ("orders", "referrals", "costs"))
        + "create view crm.customer_master as select * from public.customers;\n"
        + f"create role analyst login password '{PASSWORD}';\n"
        + "grant usage on schema public to analyst;\ngrant select on all tables in schema public to analyst;\n",
        "shop",
    )
    return postgres


def metrics_json(tmp_path, data: str, config: str = "") -> dict:
    """`scorecard metrics --format json`: the document build writes as metrics.json."""
    path = tmp_path / "scorecard.toml"
    path.write_text('[report]\ncompany = "Acme"\n' + config)
    result = runner.invoke(app, ["metrics", "-p", "Q3", "-f", "json", "--data", data, "--config", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def without_source(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "source"}


def test_the_sample_in_typed_tables_gives_the_metrics_of_the_csv_files(shop, tmp_path):
    expected = metrics_json(tmp_path, str(SAMPLE))
    from_public = metrics_json(tmp_path, shop.url("shop"))
    assert without_source(from_public) == without_source(expected)
    assert from_public["source"] == shop.url("shop", password="")
    assert from_public["data_quality"] == expected["data_quality"] and from_public["data_quality"]["rows_read"]["orders"] == 41295

    # The same through the config file: a schema in the URL, one table under another name.
    config = f'[data]\nsource = "{shop.url("shop", schema="crm")}"\n[data.tables]\ncustomers = "crm.customer_master"\n'
    path = tmp_path / "crm.toml"
    path.write_text('[report]\ncompany = "Acme"\n' + config)
    result = runner.invoke(app, ["metrics", "-p", "Q3", "-f", "json", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert without_source(json.loads(result.stdout)) == without_source(expected)


def test_every_accepted_column_type_reads_like_the_csv_files(postgres, tmp_path):
    load_sample(postgres, "shop_types", OTHER_TYPES)
    assert without_source(metrics_json(tmp_path, postgres.url("shop_types"))) == without_source(metrics_json(tmp_path, str(SAMPLE)))


def test_timestamptz_orders_are_dated_in_the_report_time_zone(postgres, tmp_path):
    # Whatever the database session's time zone, an instant is dated where the report is.
    postgres.psql("create database zones")
    postgres.psql(
        """
        alter database zones set timezone = 'Asia/Tokyo';
        create table customers (customer_id text, segment text);
        insert into customers values ('A', 'X'), ('B', 'X'), ('C', 'X');
        create table orders (order_id text, customer_id text, order_date timestamptz, amount numeric(12, 2));
        insert into orders values
            ('o1', 'A', '2025-06-30 22:30:00+00', 100),   -- Berlin: 1 July (Q3); UTC and New York: 30 June
            ('o2', 'B', '2025-09-30 23:30:00-04', 200),   -- New York: 30 September (Q3); UTC and Berlin: 1 October
            ('o3', 'C', '2025-03-01 12:00:00+00', 50);
        """,
        "zones",
    )
    texts = make_data(
        tmp_path / "csv",
        [("A", "X"), ("B", "X"), ("C", "X")],
        [("A", "2025-06-30T22:30:00Z", "100"), ("B", "2025-09-30T23:30:00-04:00", "200"), ("C", "2025-03-01T12:00:00Z", "50")],
    )
    new_value = {}
    for zone in ("UTC", "Europe/Berlin", "America/New_York"):
        document = compute(postgres.url("zones"), "2025-Q3", time_zone=zone)
        assert document["scorecards"] == compute(texts, "2025-Q3", time_zone=zone)["scorecards"]
        new_value[zone] = document["scorecards"][0]["value"]["new"]
    assert new_value == {"UTC": 0, "Europe/Berlin": 100, "America/New_York": 200}


def test_all_tables_come_from_one_snapshot_while_the_application_writes(shop, monkeypatch):
    from scorecard.loaders import postgres as loader

    shop.psql("create database busy template shop")
    url = shop.url("busy")
    before = compute(url)
    copy_table, written = loader._copy_table, []

    def copy_then_let_the_application_write(cursor, con, table, relation, columns):
        copy_table(cursor, con, table, relation, columns)
        if table == "customers":  # held between the first table and the others
            shop.psql(
                "insert into customers (customer_id, name, segment, created_at) values ('C9999999', 'Late Ltd', 'SMB', '2025-08-01');\n"
                "insert into orders (order_id, customer_id, order_date, amount, status) values\n"
                "    ('O99999998', 'C9999999', '2025-08-02', 5000, 'completed'),\n"
                "    ('O99999999', 'C0000001', '2025-08-03', 90000, 'completed');\n",
                "busy",
            )
            written.append(table)

    monkeypatch.setattr(loader, "_copy_table", copy_then_let_the_application_write)
    during = compute(url)
    monkeypatch.undo()
    after = compute(url)
    assert written == ["customers"]
    assert during == before  # the orders written mid-read are not in it: one snapshot
    assert after["data_quality"]["rows_read"]["orders"] == before["data_quality"]["rows_read"]["orders"] + 2
    assert after["scorecards"][0]["value"] != before["scorecards"][0]["value"]  # and they would have changed the figures


@pytest.fixture(scope="module")
def broken(postgres):
    """Database `broken`: one schema per way a database can fail the contract."""
    postgres.psql("create database broken")
    postgres.psql(
        """
        create role reader login password 'reader-pw';
        create schema no_orders;
        create table no_orders.customers (customer_id text);
        create table no_orders.order_lines (order_id text);
        create schema no_amount;
        create table no_amount.customers (customer_id text);
        create table no_amount.orders (order_id text, customer_id text, order_date date, total numeric);
        create schema locked;
        create table locked.customers (customer_id text);
        create table locked.orders (order_id text, customer_id text, order_date date, amount numeric);
        grant usage on schema locked to reader;
        grant select on locked.customers to reader;
        create schema partly;
        create table partly.customers (customer_id text);
        create table partly.orders (order_id text, customer_id text, order_date date, amount numeric);
        grant usage on schema partly to reader;
        grant select on partly.customers to reader;
        grant select (order_id, customer_id) on partly.orders to reader;
        create schema slow;
        create table slow.customers (customer_id text);
        create view slow.orders as
            select 'o1'::text as order_id, 'A'::text as customer_id, date '2025-08-01' as order_date, 1::numeric as amount
            from pg_sleep(5);
        create schema not_a_number;
        create table not_a_number.customers (customer_id text);
        insert into not_a_number.customers values ('A');
        create table not_a_number.orders (order_id text, customer_id text, order_date date, amount numeric);
        insert into not_a_number.orders values ('o1', 'A', '2025-08-01', 10), ('o2', 'A', '2025-08-02', 'NaN');
        """,
        "broken",
    )
    return postgres


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FAILURES = {
    # name: (URL arguments, exit code, what the one line says)
    "server unreachable": ({"port": "closed"}, 1, "cannot reach the PostgreSQL server at 127.0.0.1:"),
    "authentication failed": ({"password": "not-the-password"}, 1, "refused the login (password authentication failed for user"),
    "database missing": ({"database": "nowhere"}, 1, "has no database 'nowhere'; check the database name in --data"),
    "schema missing": ({"schema": "nope"}, 1, "database broken has no schema 'nope' (schemas: locked, no_amount, no_orders, not_a_number"),
    "table missing": (
        {"schema": "no_orders"},
        1,
        "database broken has no table no_orders.orders (tables in no_orders: customers, order_lines)",
    ),
    "column missing": (
        {"schema": "no_amount"},
        1,
        "table no_amount.orders: required column 'amount' is missing (columns: order_id, customer_id, order_date, total)",
    ),
    "permission denied": (
        {"schema": "locked", "user": "reader", "password": "reader-pw"},
        1,
        "permission denied: database user 'reader' cannot read table locked.orders; grant it with: grant select on locked.orders to",
    ),
    "permission denied on a column": (
        {"schema": "partly", "user": "reader", "password": "reader-pw"},
        1,
        "table partly.orders: permission denied (permission denied for table orders); grant select on it",
    ),
    "statement timeout": (
        {"schema": "slow", "options": "-c statement_timeout=300"},
        1,
        "table slow.orders: the database cancelled the read at its statement timeout",
    ),
    "not a number": (
        {"schema": "not_a_number"},
        1,
        "table not_a_number.orders, column amount: 1 value cannot be read as a decimal number",
    ),
    "bad URL": ({"port": "notaport"}, 2, "not a usable PostgreSQL URL"),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_each_failure_is_one_line_with_its_exit_code(broken, failure):
    arguments, exit_code, message = FAILURES[failure]
    arguments = dict(arguments)
    port = arguments.pop("port", None)
    database = arguments.pop("database", "broken")
    url = broken.url(database, **arguments)
    if port:
        url = url.replace(f":{broken.port}/", f":{_closed_port() if port == 'closed' else port}/")
    result = runner.invoke(app, ["validate", "--data", url])
    lines = result.output.strip().splitlines()
    assert (result.exit_code, len(lines)) == (exit_code, 1), result.output
    assert lines[0].startswith("Error: ") and message in lines[0], lines[0]
    for secret in (broken.password, "reader-pw", "not-the-password"):
        assert secret not in result.output


def test_without_the_driver_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql", None)
    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)
    result = runner.invoke(app, ["validate", "--data", "postgresql://someone:hunter2@127.0.0.1:5432/shop"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: reading from PostgreSQL needs the postgres extra: pip install 'scorecard[postgres]' (in a checkout: pip install '.[postgres]')"
    )


def _printed_texts(folder) -> list[str]:
    from pypdf import PdfReader

    texts = []
    for path in sorted(folder.iterdir()):
        texts.append(path.read_bytes().decode("latin-1"))
        if path.suffix == ".pdf":
            texts.append("".join(page.extract_text() for page in PdfReader(path).pages))
    return texts


def test_the_password_is_never_printed(shop, tmp_path, monkeypatch):
    url = shop.url("shop", user="analyst", password=PASSWORD)
    shown = shop.url("shop", user="analyst", password="")
    secrets = (PASSWORD, quote(PASSWORD, safe=""), "Wr0ng")
    out = tmp_path / "out"
    arguments = ["build", "-p", "Q3", "--data", url, "--out", str(out), "--segment", "SMB", "--log-format", "json"]
    monkeypatch.setattr(sys, "argv", ["scorecard", *arguments])  # the manifest records the command line
    built = runner.invoke(app, arguments)
    assert built.exit_code == 0, built.output
    configured = runner.invoke(app, ["config"], env={"SCORECARD_DATA": url})
    assert configured.exit_code == 0 and shown in configured.output
    refused = runner.invoke(app, ["validate", "--data", url.replace(quote(PASSWORD, safe=""), "Wr0ng" + quote(PASSWORD, safe=""))])
    assert refused.exit_code == 1 and "refused the login" in refused.output
    for text in [built.output, configured.output, refused.output] + _printed_texts(out / "2025-Q3"):
        for secret in secrets:
            assert secret not in text

    manifest = json.loads((out / "2025-Q3" / "manifest.json").read_text())
    assert json.loads((out / "2025-Q3" / "metrics.json").read_text())["source"] == manifest["source"] == shown
    assert [(i["table"], i["location"], i["format"]) for i in manifest["inputs"]] == [
        (table, f"table public.{table}", "postgresql") for table in ("customers", "orders", "referrals", "costs")
    ]
    assert shown in manifest["command"]


@pytest.mark.parametrize("way", ["PGPASSWORD", "password file", "service file"])
def test_the_password_can_come_the_libpq_ways(shop, tmp_path, monkeypatch, way):
    url = shop.url("shop", user="analyst", password="")
    if way == "PGPASSWORD":
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
    elif way == "password file":
        pgpass = tmp_path / "pgpass"
        pgpass.write_text(f"127.0.0.1:{shop.port}:shop:analyst:{PASSWORD.replace(':', chr(92) + ':')}\n")
        pgpass.chmod(0o600)
        monkeypatch.setenv("PGPASSFILE", str(pgpass))
    else:
        services = tmp_path / "pg_service.conf"
        services.write_text(f"[scorecards]\nhost=127.0.0.1\nport={shop.port}\ndbname=shop\nuser=analyst\npassword={PASSWORD}\n")
        monkeypatch.setenv("PGSERVICEFILE", str(services))
        url = "postgresql:///?service=scorecards"
    result = runner.invoke(app, ["validate", "--data", url])
    assert result.exit_code == 0, result.output
    assert "table public.orders" in result.output and "41,295 rows read" in result.output
    assert PASSWORD not in result.output


# Without a server: URLs in the configuration and in what is printed.


@pytest.mark.parametrize(
    "text, shown",
    [
        ("postgresql://ann:s3cret@db:5432/shop", "postgresql://ann@db:5432/shop"),
        ("postgresql://ann:p%40ss@db/shop?schema=crm", "postgresql://ann@db/shop?schema=crm"),
        ("postgresql://ann:a@b@db/shop", "postgresql://ann@db/shop"),
        ("postgresql://ann@db/shop?password=s3cret&sslmode=require", "postgresql://ann@db/shop?sslmode=require"),
        ("postgresql://db/shop?sslmode=require&password=s3cret", "postgresql://db/shop?sslmode=require"),
        ("postgresql://db:5432/shop", "postgresql://db:5432/shop"),
        ("scorecard build --data postgresql://ann:s3cret@db/shop -p Q3", "scorecard build --data postgresql://ann@db/shop -p Q3"),
        ("/srv/data/exports", "/srv/data/exports"),
    ],
)
def test_a_url_is_shown_without_its_password(text, shown):
    assert without_password(text) == shown


def test_a_url_in_the_config_passes_through_untouched(tmp_path):
    url = "postgresql://ann:s3cret@db.example.com:5432/shop?schema=crm"
    config = tmp_path / "scorecard.toml"
    config.write_text(f'[data]\nsource = "{url}"\n\n[data.tables]\ncustomers = "crm.customer_master"\n')
    resolved = resolve({}, config=config, env={}, cwd=tmp_path)
    assert resolved.get("data") == url
    assert resolved.get("tables") == {"customers": "crm.customer_master"}
    assert resolve({}, env={"SCORECARD_DATA": url}, cwd=tmp_path).get("data") == url
    assert resolve({"data": url}, env={}, cwd=tmp_path).get("data") == url
    shown = runner.invoke(app, ["config", "--config", str(config)])
    assert shown.exit_code == 0
    assert "postgresql://ann@db.example.com:5432/shop?schema=crm" in shown.output and "s3cret" not in shown.output
    assert "customers = crm.customer_master" in shown.output


@pytest.mark.parametrize(
    "config, message",
    [
        ('[data.tables]\ninvoices = "billing.invoices"\n', "[data] tables: unknown table 'invoices'; the tables are customers, orders"),
        ("[data.tables]\ncustomers = 3\n", "customers must name a table"),
        (
            '[data]\nsource = "data"\n[data.tables]\ncustomers = "crm.customers"\n',
            "it applies only when the data source is a postgresql:// URL",
        ),
        ('[data]\nsource = "mysql://ann@db/shop"\n', "no loader reads mysql:// sources"),
    ],
)
def test_bad_table_names_are_usage_errors(tmp_path, config, message):
    (tmp_path / "data").mkdir()
    path = tmp_path / "scorecard.toml"
    path.write_text(config)
    result = runner.invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_malformed_table_name_is_a_usage_error_before_connecting(tmp_path):
    require_component(driver_installed(), "the PostgreSQL driver is not installed; pip install '.[postgres]'")
    path = tmp_path / "scorecard.toml"
    path.write_text('[data]\nsource = "postgresql://ann@127.0.0.1:1/shop"\n[data.tables]\ncustomers = "a.b.c"\n')
    result = runner.invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 2 and "[data.tables] customers = 'a.b.c': not a table name" in result.output, result.output
