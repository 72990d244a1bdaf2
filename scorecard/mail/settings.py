"""Mail settings ([mail] and [[mail.recipients]] in scorecard.toml), validated once.

The SMTP password is never a setting: it is read, when sending, from the environment variable that
`password_env` names, and it is never printed, logged or written anywhere.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path

from ..errors import UsageError
from ..writers import BOARD_PACK_SCOPE, COMPANY_SCOPE, SEGMENT_PREFIX

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_PASSWORD_ENV = "SCORECARD_SMTP_PASSWORD"
SCOPE_FORMS = '"company", "board-pack" or "segment:<name>"'
RECIPIENT_KEYS = ("address", "scopes")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_address(value: str, name: str) -> str:
    """A bare address (reader@example.com); ASCII only, as most SMTP servers require."""
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()) or not value.strip().isascii():
        raise UsageError(f"{name} must be an email address like reader@example.com, got {value!r}")
    return value.strip()


def parse_sender(value: str, name: str) -> str:
    """The From address, optionally with a display name: `Scorecards <scorecards@example.com>`."""
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise UsageError(f"{name} must be an email address like scorecards@example.com, got {value!r}")
    _, address = parseaddr(value)
    parse_address(address, name)
    return value.strip()


def parse_env_name(value: str, name: str) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value.strip()):
        raise UsageError(f"{name} must be the name of an environment variable, like {DEFAULT_PASSWORD_ENV}; got {value!r}")
    return value.strip()


def parse_security(value: str, name: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in SECURITY:
        raise UsageError(f"{name} must be one of {', '.join(SECURITY)}; got {value!r}")
    return value.strip().lower()


def parse_scope(value, name: str) -> str:
    if isinstance(value, str):
        scope = value.strip()
        if scope in (COMPANY_SCOPE, BOARD_PACK_SCOPE):
            return scope
        if scope.startswith(SEGMENT_PREFIX) and scope[len(SEGMENT_PREFIX) :].strip():
            return SEGMENT_PREFIX + scope[len(SEGMENT_PREFIX) :].strip()
    raise UsageError(f"{name}: scope {value!r} is not one of {SCOPE_FORMS}")


@dataclass(frozen=True)
class Recipient:
    address: str
    scopes: tuple[str, ...]  # in the order given; the first one's HTML summary is the message body


def parse_recipients(value, name: str) -> tuple[Recipient, ...]:
    """[[mail.recipients]] tables: each an `address` and a non-empty list of `scopes`."""
    if not isinstance(value, list):
        raise UsageError(f"{name} must be written as [[mail.recipients]] tables in the config file, each with address and scopes")
    recipients: list[Recipient] = []
    for number, table in enumerate(value, start=1):
        where = f"{name} #{number}"
        if not isinstance(table, dict):
            raise UsageError(f"{where} must be a table with address and scopes, got {table!r}")
        unknown = [key for key in table if key not in RECIPIENT_KEYS]
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(RECIPIENT_KEYS)})")
        if "address" not in table:
            raise UsageError(f"{where}: address is missing")
        address = parse_address(table["address"], f"{where} address")
        scopes = table.get("scopes")
        if isinstance(scopes, str):
            scopes = [scopes]
        if not isinstance(scopes, list) or not scopes:
            raise UsageError(f"{where} ({address}): scopes must be a non-empty list of {SCOPE_FORMS}")
        parsed = tuple(dict.fromkeys(parse_scope(scope, f"{where} ({address})") for scope in scopes))
        if any(r.address.lower() == address.lower() for r in recipients):
            raise UsageError(f"{where}: {address} is listed twice; give it one table with all its scopes")
        recipients.append(Recipient(address, parsed))
    return tuple(recipients)


def _on_this_machine(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class MailSettings:
    host: str | None = None
    port: int | None = None  # None: the usual port for `security`
    security: str = "starttls"
    user: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV
    sender: str | None = None  # the `from` key
    ca_file: str | None = None  # extra certificate authorities to trust (PEM), e.g. a company CA
    timeout_seconds: int = 30
    attempts: int = 3
    retry_wait_seconds: Decimal = Decimal(2)
    max_message_mb: Decimal = Decimal(20)
    files_location: str | None = None  # where readers find the files when they are too large to attach
    recipients: tuple[Recipient, ...] = ()

    def __post_init__(self) -> None:
        if self.port is not None and not 1 <= self.port <= 65535:
            raise UsageError(f"[mail] port must be between 1 and 65535, got {self.port}")
        if not 1 <= self.timeout_seconds <= 600:
            raise UsageError(f"[mail] timeout_seconds must be between 1 and 600, got {self.timeout_seconds}")
        if not 1 <= self.attempts <= 10:
            raise UsageError(f"[mail] attempts must be between 1 and 10, got {self.attempts}")
        if not Decimal(0) <= self.retry_wait_seconds <= Decimal(60):
            raise UsageError(f"[mail] retry_wait_seconds must be between 0 and 60, got {self.retry_wait_seconds}")
        if not Decimal(0) < self.max_message_mb <= Decimal(1000):
            raise UsageError(f"[mail] max_message_mb must be above 0 (and at most 1000), got {self.max_message_mb}")
        if self.user is not None and self.security == "none" and self.host is not None and not _on_this_machine(self.host):
            raise UsageError(
                f'[mail] user is set with security = "none" for {self.host}: the password would cross the network unencrypted; '
                'use "starttls" or "ssl" (only a server on this machine, like 127.0.0.1, may go without)'
            )

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def server(self) -> str:
        return f"{self.host}:{self.effective_port}"

    @property
    def max_message_bytes(self) -> int:
        return int(self.max_message_mb * 1_000_000)

    def check_ready(self, *, sending: bool) -> None:
        """What must be set before anything is composed; `sending` False for a dry run."""
        if not self.recipients:
            raise UsageError("no [[mail.recipients]] in the config: add a table with address and scopes for each reader")
        if self.sender is None:
            raise UsageError('[mail] from is not set: add the sender address, like from = "scorecards@example.com"')
        if sending and self.host is None:
            raise UsageError("[mail] host is not set: add the SMTP server (or set SCORECARD_MAIL_HOST), or use --dry-run FOLDER")
        if sending and self.ca_file is not None and not Path(self.ca_file).is_file():
            raise UsageError(f"[mail] ca_file {self.ca_file} does not exist; name a PEM file of the certificates to trust")
