"""`scorecard send`: mail each reader the already-built scorecards of their scopes, safe to run from cron.

Order of work: check the settings and the built folder and every recipient's scopes (a mistake stops
here, before anything is sent); then one message per reader not yet sent this period's figures;
each accepted message is recorded at once (see record.py). A rerun sends only what is missing;
`resend` sends again; a period rebuilt with different figures is sent again only with `resend`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from .. import outputs
from ..errors import DeliveryError, ScorecardError, UsageError
from ..periods import parse_period
from .compose import Built, compose
from .record import DeliveryRecord, record_path
from .settings import MailSettings
from .transport import Outbox, RecipientRefused, Smtp

Event = Callable[..., None]  # (event, message, **fields)


@dataclass
class SendOptions:
    out: Path = Path("scorecards")
    resend: bool = False
    dry_run: Path | None = None  # a folder for .eml files instead of sending
    wait: bool = False
    as_of: date | None = None
    fiscal_year_start: int = 1
    on_event: Event | None = None


@dataclass
class SendReport:
    label: str
    folder: Path
    sent: list[dict] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # sent before with other figures; not sent again without resend
    failed: list[str] = field(default_factory=list)


def period_label(out: Path, text: str, fiscal_year_start: int, today: date | None) -> str:
    """The label of the period to send. A bare Q3 or H2 means the latest such period built in `out`
    (a build resolves it against the data; sending reads only what was built)."""
    bare = re.fullmatch(r"\s*([QqHh])([1-4])\s*", text)
    if not bare:
        return parse_period(text, fiscal_year_start=fiscal_year_start, today=today).label
    suffix = f"-{bare.group(1).upper()}{bare.group(2)}"
    built = sorted(
        (folder.name for folder in out.iterdir() if folder.is_dir() and folder.name.endswith(suffix) and (folder / "manifest.json").is_file()),
        key=lambda name: name.removeprefix("FY"),
    ) if out.is_dir() else []  # fmt: skip
    if not built:
        raise ScorecardError(f"no built {text.strip().upper()} period in {out}; build one first, or name the period, like 2025{suffix}")
    return built[-1]


def _password(mail: MailSettings) -> str | None:
    if not mail.user:
        return None
    password = os.environ.get(mail.password_env, "")
    if not password:
        raise UsageError(
            f"[mail] user is set, but the environment variable {mail.password_env} (named by [mail] password_env) is empty or unset"
        )
    return password


def send(mail: MailSettings, period: str, options: SendOptions) -> SendReport:
    emit = options.on_event or (lambda *args, **kwargs: None)
    sending = options.dry_run is None
    mail.check_ready(sending=sending)
    out = options.out.expanduser().resolve()
    label = period_label(out, period, options.fiscal_year_start, options.as_of)
    password = _password(mail) if sending else None
    if not (out / label / "manifest.json").is_file():  # before the lock, which would create `out`
        raise ScorecardError(f"no built scorecards for {label} in {out}; run `scorecard build --period {label}` first (or build --send)")

    with outputs.output_lock(out, wait=options.wait):  # no build swaps the folder while its files are being sent
        built = Built.load(out, label)
        built.check_scopes(mail.recipients)
        record = DeliveryRecord(record_path(out, label))
        report = SendReport(label, built.folder)

        due = []
        for recipient in mail.recipients:
            previous = record.last_sent(recipient.address, recipient.scopes)
            if previous and not options.resend:
                if previous.get("metrics_sha256") == built.metrics_sha256:
                    report.already_sent.append(recipient.address)
                    emit("already-sent", f"Already sent to {recipient.address} on {previous['sent_at']}", address=recipient.address)
                else:
                    report.changed.append(recipient.address)
                    emit(
                        "changed",
                        f"Not sent to {recipient.address}: {label} was rebuilt with different figures since it was sent on "
                        f"{previous['sent_at']}; pass --resend to send the new figures",
                        address=recipient.address,
                    )
                continue
            due.append(recipient)

        transport = Outbox(options.dry_run.expanduser().resolve()) if options.dry_run is not None else Smtp(mail, password)
        try:
            for recipient in due:
                composed = compose(built, recipient, mail)
                try:
                    where = transport.deliver(composed.data, _envelope(mail.sender), recipient.address)
                except RecipientRefused as refused:
                    report.failed.append(f"{refused.address} ({refused.reason})")
                    emit("failed", f"Not delivered to {refused}", address=refused.address)
                    continue
                except DeliveryError as error:
                    raise DeliveryError(f"{error}; {_progress(report, len(due))}") from None
                entry = {
                    "period": label,
                    "address": recipient.address,
                    "scopes": list(recipient.scopes),
                    "metrics_sha256": built.metrics_sha256,
                    "attached": composed.attached,
                    "not_attached": composed.left_out,
                    "bytes": len(composed.data),
                    "message_id": composed.message["Message-ID"],
                    "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "server": where,
                }
                report.sent.append(entry)
                if sending:
                    record.add(entry)
                verb = "Sent to" if sending else "Wrote the message to"
                attached = ", ".join(composed.attached) or "no attachment"
                extra = f"; too large to attach: {', '.join(composed.left_out)}" if composed.left_out else ""
                emit(
                    "sent" if sending else "dry-run",
                    f"{verb} {recipient.address if sending else where} ({attached}{extra}, {len(composed.data) / 1_000_000:.1f} MB)",
                    address=recipient.address, attached=composed.attached, not_attached=composed.left_out, bytes=len(composed.data),
                )  # fmt: skip
        finally:
            transport.close()
    if report.failed:
        first = report.failed[0] if len(report.failed) == 1 else f"{len(report.failed)} recipients: " + "; ".join(report.failed)
        raise DeliveryError(f"delivery failed for {first}; {_progress(report, len(due))}")
    return report


def _envelope(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1]


def _progress(report: SendReport, due: int) -> str:
    return f"{len(report.sent)} of {due} messages sent and recorded; the rest go out on the next run"
