"""Effective settings from four layers, later ones winning: defaults < scorecard.toml < SCORECARD_*
environment variables < command-line options. Each value remembers where it came from.

The config file is `--config PATH`, else $SCORECARD_CONFIG, else `scorecard.toml` in the working
directory. Paths inside it are relative to the file, so cron can run from anywhere.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .engines import DEFAULT_SPARK_MASTER, EngineChoice
from .errors import UsageError
from .formatting import is_currency_code
from .mail.settings import MailSettings, parse_env_name, parse_recipients, parse_security, parse_sender
from .settings import NUMBER_FORMATS, Settings, Targets, parse_fraction, parse_pair
from .urls import is_url, without_password

CONFIG_NAME = "scorecard.toml"


def _integer(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UsageError(f"{name} must be a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, got {value!r}") from None


def _fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UsageError(f"{name} must be a number like 0.10, got {value!r}")
    return parse_fraction(str(value), name)


def _pair(value, name):
    if isinstance(value, list):
        if len(value) != 2:
            raise UsageError(f"{name} takes two numbers, like [0.5, 0.8]; got {value!r}")
        return _fraction(value[0], name), _fraction(value[1], name)
    if isinstance(value, str):
        return parse_pair(value, name)
    raise UsageError(f"{name} takes two numbers, like [0.5, 0.8]; got {value!r}")


def _text(value, name):
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{name} must be a non-empty text, got {value!r}")
    return value.strip()


def _boolean(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise UsageError(f"{name} must be true or false, got {value!r}")


def _text_list(value, name):
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise UsageError(f'{name} must be a list of segment names, like ["SMB", "Enterprise"]; got {value!r}')
    return tuple(item.strip() for item in value)


def _number_format(value, name):
    value = _text(value, name)
    if value not in NUMBER_FORMATS:
        raise UsageError(f"{name} must be one of {', '.join(NUMBER_FORMATS)}; got {value!r}")
    return value


def _currency(value, name):
    value = _text(value, name).upper()
    if not is_currency_code(value):
        raise UsageError(f"{name} must be an ISO 4217 currency code like EUR, USD or GBP, got {value!r}")
    return value


def _money(value, name):
    return _fraction(value, name)  # an amount, not a fraction, but parsed the same way


INPUT_TABLES = ("customers", "orders", "referrals", "costs")


def _table_names(value, name):
    """[data.tables]: the database table of each input table (`customers = "crm.customer_master"`); in
    the environment, `customers=crm.customer_master,orders=crm.orders`."""
    if isinstance(value, str):
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if not all(len(pair) == 2 for pair in pairs):
            raise UsageError(f"{name} takes table=name pairs, like customers=crm.customer_master,orders=crm.orders; got {value!r}")
        value = {key.strip(): text.strip() for key, text in pairs}
    for key, text in value.items():
        if key not in INPUT_TABLES:
            raise UsageError(f"{name}: unknown table {key!r}; the tables are {', '.join(INPUT_TABLES)}")
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f'{name}: {key} must name a table, like "crm.{key}"; got {text!r}')
    return {key: text.strip() for key, text in value.items()}


def _path_or_url(value: str, base: Path) -> str:
    """A path relative to `base`, made absolute; a URL (postgresql://…) as it is."""
    return value if is_url(value) else str((base / Path(value).expanduser()).resolve())


# The TOML types each parser accepts in the config file (environment and command line give text).
TOML_TYPES = {
    "_integer": ((int,), "a whole number"),
    "_fraction": ((int, float), "a number"),
    "_money": ((int, float), "a number"),
    "_pair": ((list,), "a list of two numbers"),
    "_text": ((str,), "a quoted text"),
    "_currency": ((str,), "a quoted text"),
    "_number_format": ((str,), "a quoted text"),
    "_boolean": ((bool,), "true or false"),
    "_text_list": ((list,), "a list of quoted names"),
    "_table_names": ((dict,), 'a table of names, like [data.tables] customers = "crm.customer_master"'),
    "parse_address": ((str,), "a quoted email address"),
    "parse_sender": ((str,), "a quoted email address"),
    "parse_env_name": ((str,), "the quoted name of an environment variable"),
    "parse_security": ((str,), '"starttls", "ssl" or "none"'),
    "parse_recipients": ((list,), "[[mail.recipients]] tables"),
}


@dataclass(frozen=True)
class Option:
    name: str  # flat name: Settings field, run option, or targets.<name>
    section: str  # [section] in scorecard.toml
    key: str  # key inside the section
    parse: Callable
    help: str
    is_path: bool = False
    label: str | None = None  # how the config file spells it, when not `[section] key`

    def from_toml(self, value, where: str):
        types, expected = TOML_TYPES[self.parse.__name__]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise UsageError(f"{where}: {self.toml_name} must be {expected}, got {value!r}")
        return self.parse(value, f"{where}: {self.toml_name}")

    @property
    def toml_name(self) -> str:
        return self.label or f"[{self.section}] {self.key}"

    @property
    def env_name(self) -> str:
        return "SCORECARD_" + self.name.replace(".", "_").upper()


OPTIONS = (
    Option("data", "data", "source", _text, "folder of CSV/Parquet files, a DuckDB file or a postgresql:// URL", is_path=True),
    Option("tables", "data", "tables", _table_names, "PostgreSQL: the table of each input table, like customers = crm.customer_master"),
    Option("out", "output", "folder", _text, "where <period label>/ folders are written", is_path=True),
    Option("engine", "engine", "name", _text, "where the SQL models run: duckdb (this machine) or spark"),
    Option("spark_master", "engine", "spark_master", _text, "with spark: local[N], spark://host:7077, yarn, sc://host:15002"),
    Option("company_name", "report", "company", _text, "company name on every page"),
    Option(
        "currency", "report", "currency", _currency, "currency code of the amounts: EUR, USD, GBP… (default: the orders' currency column)"
    ),
    Option("number_format", "report", "number_format", _number_format, "how numbers look: 1,234.56 or 1.234,56 or 1 234,56"),
    Option("time_zone", "report", "time_zone", _text, "IANA time zone that order timestamps are dated in"),
    Option("logo", "report", "logo", _text, "PNG, JPEG or SVG logo for the first page", is_path=True),
    Option("redact", "report", "redact", _boolean, "replace customer names by pseudonyms"),
    Option("fiscal_year_start", "periods", "fiscal_year_start", _integer, "first month of the fiscal year, 1–12"),
    Option("require_fresh", "periods", "require_fresh_days", _integer, "fail (exit 3) when the last order is older than this many days"),
    Option("window_days", "metrics", "window_days", _integer, "value window W in days"),
    Option("change_threshold", "metrics", "change_threshold", _fraction, "change threshold t for grew/declined"),
    Option("tier_quantiles", "metrics", "tier_quantiles", _pair, "core and top tier quantiles"),
    Option("tier_thresholds", "metrics", "tier_thresholds", _pair, "fixed core and top tier thresholds in money"),
    Option("trend_periods", "metrics", "trend_periods", _integer, "periods in the trend"),
    Option("top_n", "metrics", "top_n", _integer, "length of the top-lost and top-decliner lists"),
    Option("max_excluded", "metrics", "max_excluded", _fraction, "largest share of a table's rows that may be excluded"),
    Option("gross_margin", "metrics", "gross_margin", _fraction, "gross margin for profitability (with a costs table)"),
    Option("risk_threshold", "metrics", "risk_threshold", _fraction, "at risk: chance of buying nothing next period at least this"),
    Option("segment_by", "segments", "column", _text, "customers column that defines segments"),
    Option("segments", "segments", "only", _text_list, 'segments with a scorecard of their own; the rest become "Other segments"'),
    Option(
        "min_segment_customers",
        "segments",
        "min_customers",
        _integer,
        'segments with fewer customers active at the start or end of the period become "Other segments" (0: keep all)',
    ),
    Option("targets.net_customers", "targets", "net_customers", _integer, "traffic light: net customers at least this"),
    Option("targets.net_value", "targets", "net_value", _money, "traffic light: net value change at least this"),
    Option("targets.nrr", "targets", "nrr", _fraction, "traffic light: net revenue retention at least this (1.0 = 100 %)"),
    Option("targets.grr", "targets", "grr", _fraction, "traffic light: gross revenue retention at least this"),
    Option("targets.logo_retention", "targets", "logo_retention", _fraction, "traffic light: logo retention at least this"),
    Option(
        "targets.gain_loss_ratio",
        "targets",
        "gain_loss_ratio",
        _fraction,
        "traffic light: customers gained per customer lost at least this",
    ),
)
MAIL_OPTIONS = (
    Option("mail.host", "mail", "host", _text, "SMTP server that sends the scorecards"),
    Option("mail.port", "mail", "port", _integer, "SMTP port (default 587 with starttls, 465 with ssl, 25 with none)"),
    Option("mail.security", "mail", "security", parse_security, "starttls, ssl or none"),
    Option("mail.user", "mail", "user", _text, "SMTP user name, when the server wants one"),
    Option("mail.password_env", "mail", "password_env", parse_env_name, "environment variable that holds the SMTP password"),
    Option("mail.from", "mail", "from", parse_sender, "sender address"),
    Option("mail.ca_file", "mail", "ca_file", _text, "extra certificate authorities (PEM) to trust for the server", is_path=True),
    Option("mail.timeout_seconds", "mail", "timeout_seconds", _integer, "seconds to wait for the server"),
    Option("mail.attempts", "mail", "attempts", _integer, "tries per message before giving up"),
    Option("mail.retry_wait_seconds", "mail", "retry_wait_seconds", _fraction, "seconds between tries (doubling)"),
    Option("mail.max_message_mb", "mail", "max_message_mb", _fraction, "largest message; above it, smaller attachments or none"),
    Option("mail.files_location", "mail", "files_location", _text, "where readers find the files when they are too large to attach"),
    Option("mail.recipients", "mail", "recipients", parse_recipients, "who receives which scopes", label="[[mail.recipients]]"),
)
OPTIONS = OPTIONS + MAIL_OPTIONS
BY_NAME = {option.name: option for option in OPTIONS}
BY_TOML = {(option.section, option.key): option for option in OPTIONS}
RUN_OPTIONS = ("data", "tables", "out", "require_fresh", "engine", "spark_master")


@dataclass
class Resolved:
    values: dict[str, object] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    def settings(self) -> Settings:
        fields = {k: v for k, v in self.values.items() if k not in RUN_OPTIONS and not k.startswith(("targets.", "mail."))}
        targets = Targets(**{k.removeprefix("targets."): v for k, v in self.values.items() if k.startswith("targets.")})
        return Settings(**fields, targets=targets)

    def engine(self) -> EngineChoice:
        return EngineChoice(self.values.get("engine", "duckdb"), self.values.get("spark_master"))

    def mail(self) -> MailSettings:
        fields = {k.removeprefix("mail."): v for k, v in self.values.items() if k.startswith("mail.")}
        if "from" in fields:
            fields["sender"] = fields.pop("from")
        return MailSettings(**fields)

    def get(self, name: str, default=None):
        return self.values.get(name, default)


def find_config(explicit: str | os.PathLike | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(f"config file {path} does not exist")
        return path.resolve()
    if env.get("SCORECARD_CONFIG"):
        path = Path(env["SCORECARD_CONFIG"]).expanduser()
        if not path.is_file():
            raise UsageError(f"SCORECARD_CONFIG points at {path}, which does not exist")
        return path.resolve()
    candidate = cwd / CONFIG_NAME
    return candidate.resolve() if candidate.is_file() else None


def read_config(path: Path) -> dict[str, object]:
    """The file's values by flat option name; unknown keys and wrong types are errors naming the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid TOML ({error})") from None
    values = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            raise UsageError(f"{path}: unknown key {section!r} at the top level; settings live in sections like [metrics]")
        for key, value in table.items():
            option = BY_TOML.get((section, key))
            if option is None:
                known = ", ".join(o.key for o in OPTIONS if o.section == section) or "none: unknown section"
                raise UsageError(f"{path}: unknown key [{section}] {key} (known keys in [{section}]: {known})")
            parsed = option.from_toml(value, str(path))
            if option.is_path:
                parsed = _path_or_url(parsed, path.parent)
            values[option.name] = parsed
    return values


def resolve(
    cli: Mapping[str, object], *, config: str | os.PathLike | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Resolved:
    """Defaults < config file < environment < command line. `cli` holds options the user gave (None = not given)."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    resolved = Resolved(config_file=find_config(config, env, cwd))
    if resolved.config_file:
        for name, value in read_config(resolved.config_file).items():
            resolved.values[name], resolved.origins[name] = value, str(resolved.config_file)
    for option in OPTIONS:
        if env.get(option.env_name, "").strip():
            value = option.parse(env[option.env_name], option.env_name)
            if option.is_path:
                value = _path_or_url(value, cwd)
            resolved.values[option.name], resolved.origins[option.name] = value, f"environment {option.env_name}"
    for name, value in cli.items():
        if value is None:
            continue
        option = BY_NAME[name]
        value = option.parse(value, "--" + name.replace("_", "-"))
        if option.is_path:
            value = _path_or_url(value, cwd)
        resolved.values[name], resolved.origins[name] = value, "command line"
    return resolved


def describe(resolved: Resolved) -> list[tuple[str, str, str]]:
    """(setting, value, origin) for every option, defaults included: what `scorecard config` prints."""
    defaults = Settings()
    rows = []
    for option in OPTIONS:
        if option.name in resolved.values:
            value, origin = resolved.values[option.name], resolved.origins[option.name]
        elif option.name.startswith("targets."):
            value, origin = None, "default (no target)"
        elif option.name == "mail.port":
            security = resolved.values.get("mail.security", MailSettings.security)
            value, origin = f"{MailSettings(security=security).effective_port} (the usual port with {security})", "default"
        elif option.name.startswith("mail."):
            value, origin = getattr(MailSettings(), "sender" if option.key == "from" else option.key), "default"
        elif option.name in RUN_OPTIONS:
            defaults_of_run = {"data": "bundled sample", "tables": None, "out": "./scorecards", "require_fresh": None, "engine": "duckdb",
                               "spark_master": f"{DEFAULT_SPARK_MASTER} (with engine spark)"}  # fmt: skip
            value, origin = defaults_of_run[option.name], "default"
        else:
            value, origin = getattr(defaults, option.name), "default"
        shown = _show(value)
        if option.name == "mail.password_env":  # whether it is set, never what it holds
            shown += " (set in the environment)" if os.environ.get(str(value)) else " (not set in the environment)"
        rows.append((option.toml_name, shown, origin))
    return rows


def _show(value) -> str:
    if value is None:
        return "(not set)"
    if value == ():
        return "(none)"
    if isinstance(value, tuple) and value and hasattr(value[0], "scopes"):  # recipients
        return "; ".join(f"{r.address} ({', '.join(r.scopes)})" for r in value)
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} = {text}" for key, text in value.items())
    return without_password(str(value))  # a database URL never shows its password


STARTER = """# scorecard.toml: settings for `scorecard build` and `scorecard metrics`.
# Precedence: built-in defaults < this file < SCORECARD_* environment variables < command-line options.
# `scorecard config` shows the effective value of every setting and where it came from.
# Paths are relative to this file.

[data]
# Folder of customers.csv, orders.csv (and optional referrals.csv, costs.csv) — or .parquet — or a DuckDB file,
# or a PostgreSQL database: "postgresql://user@host:5432/dbname" (tables in public, or add ?schema=crm).
# Leave it out to use the bundled sample data.
# source = "data"

# [data.tables]                    # PostgreSQL only: tables under other names or in other schemas
# customers = "crm.customer_master"
# orders = "sales.orders"

[output]
folder = "scorecards"              # each period goes to <folder>/<period label>/

[engine]
# name = "duckdb"                  # or "spark": run the SQL models on Apache Spark (pip install 'scorecard[spark]')
# spark_master = "local[*]"        # with spark: local[N], spark://host:7077, yarn, or sc://host:15002 (Spark Connect)

[report]
company = "Your Company"
# currency = "EUR"                 # EUR, USD, GBP, CHF…; default: the orders' currency column, else no sign
number_format = "1,234.56"         # or "1.234,56" or "1 234,56"
time_zone = "UTC"                  # order timestamps are dated in this time zone
# logo = "logo.png"                # PNG, JPEG or SVG, shown on the first page
# redact = false                   # true: customer names become stable pseudonyms in every output

[periods]
fiscal_year_start = 1              # 4 = fiscal year starts in April; FY2026 = Apr 2025 – Mar 2026
# require_fresh_days = 3           # fail with exit code 3 if the last order is older than this

[metrics]
window_days = 365                  # value window W: run-rate = sum of the last W days of orders
change_threshold = 0.10            # retained customers grew/declined when run-rate moved beyond ±10 %
tier_quantiles = [0.5, 0.8]        # core and top tiers by run-rate quantile
# tier_thresholds = [1000, 5000]   # or fixed money thresholds for core and top
trend_periods = 8
top_n = 10
max_excluded = 0.05                # stop when more than 5 % of a table's rows would be excluded
# gross_margin = 0.35              # with a costs table: margin on revenue for the profitability page
risk_threshold = 0.5               # at risk: a chance of buying nothing next period of at least 50 %

[segments]
column = "segment"                 # the customers column that defines segments
# only = ["Enterprise", "SMB"]     # segments with their own scorecard; the rest become "Other segments"
min_customers = 30                 # segments with fewer customers active at the start or end of the
                                   # period become "Other segments"; 0 keeps every segment

[targets]
# Traffic lights on the headline figures (leave out to show none).
net_customers = 0                  # net customers gained at least 0
nrr = 1.0                          # net revenue retention at least 100 %
# net_value = 0
# logo_retention = 0.9
# gain_loss_ratio = 1.0

# Sending: `scorecard send --period P` (or `scorecard build --send`) emails each reader the scorecards
# of their scopes: the HTML summary of their first scope as the message, the PDFs attached. What was sent
# is recorded in <folder>/deliveries/, so a rerun sends nothing twice (--resend sends again).
# [mail]
# host = "smtp.example.com"
# port = 587                       # default: 587 with starttls, 465 with ssl, 25 with none
# security = "starttls"            # "starttls" (default), "ssl" or "none"
# user = "scorecards"              # only if the server wants a login; then the password is read from
# password_env = "SCORECARD_SMTP_PASSWORD"   # this environment variable, never from this file
# from = "Scorecards <scorecards@example.com>"
# ca_file = "company-ca.pem"       # extra certificate authorities to trust (a server with an in-house certificate)
# max_message_mb = 20              # larger messages attach per-scope PDFs instead of the pack, or say where the files are
# files_location = '\\\\fileserver\\scorecards'   # what those messages say (default: the output folder on this machine)
# attempts = 3                     # tries per message on a failure that may pass (connection, 4xx), then exit code 5
# retry_wait_seconds = 2
# timeout_seconds = 30
#
# One table per reader. Scopes: "company", "segment:<name>" (a segment of the built period), "board-pack".
# [[mail.recipients]]
# address = "ceo@example.com"
# scopes = ["board-pack"]
# [[mail.recipients]]
# address = "smb-lead@example.com"
# scopes = ["company", "segment:SMB"]
"""
