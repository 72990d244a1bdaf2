"""One message per reader, from a published period folder: the HTML summary of their first scope as the
body (with a plain-text twin), their scopes' PDFs attached, within the size limit.

Everything comes from the built files as the manifest lists them (checked against their sha256), so
what is mailed is exactly what was built.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from .. import outputs
from ..errors import ScorecardError, UsageError
from ..writers import BOARD_PACK_SCOPE, COMPANY_SCOPE, SEGMENT_PREFIX
from .settings import MailSettings, Recipient


@dataclass
class Built:
    """A published period folder, as its manifest describes it."""

    folder: Path
    label: str
    manifest: dict
    document: dict  # metrics.json, money as Decimal
    metrics_sha256: str
    scopes: dict[str, dict]  # scope → {"title", "pdf", "html"}

    @classmethod
    def load(cls, out: Path, label: str) -> Built:
        folder = out / label
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise ScorecardError(
                f"no built scorecards for {label} in {out}; run `scorecard build --period {label}` first (or build --send)"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            raise ScorecardError(f"{manifest_path} is not valid JSON; build {label} again") from None
        if manifest.get("status") != "success" or "scopes" not in manifest:
            raise ScorecardError(f"{folder} was built by an older version of scorecard; build {label} again before sending")
        for entry in manifest.get("files", []):
            path = folder / entry["name"]
            if not path.is_file() or outputs.sha256_file(path) != entry["sha256"]:
                raise ScorecardError(f"{path} is missing or differs from what the build wrote; build {label} again before sending")
        metrics_sha256 = next((e["sha256"] for e in manifest["files"] if e["name"] == "metrics.json"), None)
        if metrics_sha256 is None:
            raise ScorecardError(f"{folder} has no metrics.json; build {label} again before sending")
        document = json.loads((folder / "metrics.json").read_text(encoding="utf-8"), parse_float=Decimal)
        return cls(folder, label, manifest, document, metrics_sha256, manifest["scopes"])

    @property
    def segments(self) -> list[str]:
        return [card["segment"] for card in self.document["scorecards"] if card["segment"] is not None]

    def check_scopes(self, recipients: tuple[Recipient, ...]) -> None:
        """Every listed scope exists in this period and was built; else a config error before anything is sent."""
        for recipient in recipients:
            for scope in recipient.scopes:
                if scope in self.scopes:
                    continue
                if scope.startswith(SEGMENT_PREFIX):
                    name = scope[len(SEGMENT_PREFIX) :]
                    if name in self.segments:
                        raise UsageError(
                            f"[[mail.recipients]] {recipient.address}: segment {name!r} has no scorecard in {self.folder} "
                            f"(built with --segment); build {self.label} with it before sending"
                        )
                    close = [s for s in self.segments if s.lower() == name.lower()]
                    hint = f"; did you mean segment:{close[0]}?" if close else ""
                    raise UsageError(
                        f"[[mail.recipients]] {recipient.address}: no segment {name!r} in {self.label} "
                        f"(segments: {', '.join(self.segments) or 'none'}){hint}"
                    )
                raise UsageError(f"[[mail.recipients]] {recipient.address}: scope {scope!r} was not built in {self.folder}")

    def size(self, name: str) -> int:
        return (self.folder / name).stat().st_size

    def card(self, scope: str) -> dict | None:
        """The scorecard of a scope; None for the board pack (its summary is the whole company's)."""
        if scope == BOARD_PACK_SCOPE:
            return None
        segment = None if scope == COMPANY_SCOPE else scope[len(SEGMENT_PREFIX) :]
        return next(card for card in self.document["scorecards"] if card["segment"] == segment)


@dataclass
class Composed:
    recipient: Recipient
    message: EmailMessage
    data: bytes  # the message as it goes on the wire (CRLF line ends)
    attached: list[str]
    left_out: list[str]  # scope PDFs too large to attach; the body says where they are


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def subject(built: Built, recipient: Recipient) -> str:
    company = built.document["settings"]["company_name"]
    titles = ", ".join(built.scopes[scope]["title"] for scope in recipient.scopes)
    sample = " (SAMPLE DATA)" if built.document.get("sample_data") else ""
    return _one_line(f"{company} customer scorecards, {built.label}: {titles}{sample}")


def _candidates(built: Built, recipient: Recipient) -> tuple[list[str], list[str]]:
    """The PDFs to attach, and the smaller set to try when they are too large together: the board pack
    replaced by the scorecards it holds (company first), each once."""
    full = list(dict.fromkeys(built.scopes[scope]["pdf"] for scope in recipient.scopes))
    if BOARD_PACK_SCOPE not in recipient.scopes:
        return full, full
    pack = built.scopes[BOARD_PACK_SCOPE]["pdf"]
    singles = [entry["pdf"] for scope, entry in built.scopes.items() if scope != BOARD_PACK_SCOPE]
    expanded: list[str] = []
    for name in full:
        expanded += singles if name == pack else [name]
    return full, list(dict.fromkeys(expanded))


def compose(built: Built, recipient: Recipient, mail: MailSettings) -> Composed:
    """The reader's message, within `max_message_mb`: all their PDFs when they fit; else the pack's
    scorecards one by one instead of the pack, as many as fit in order; what does not fit is listed in
    the body with where to find it."""
    full, smaller = _candidates(built, recipient)
    composed = _message(built, recipient, mail, full, [])
    if len(composed.data) <= mail.max_message_bytes:
        return composed
    attached: list[str] = []
    for name in smaller:
        left_out = [n for n in smaller if n not in attached and n != name]
        trial = _message(built, recipient, mail, attached + [name], left_out)
        if len(trial.data) <= mail.max_message_bytes:
            attached.append(name)
    return _message(built, recipient, mail, attached, [n for n in smaller if n not in attached])


def _message(built: Built, recipient: Recipient, mail: MailSettings, attached: list[str], left_out: list[str]) -> Composed:
    first = recipient.scopes[0]
    location = mail.files_location or f"{built.folder} on {socket.gethostname()}"
    limit = megabytes(mail.max_message_bytes)
    from .. import render  # here, not at the top: only composing a message needs the templates

    note = render.mail_note_html(attached, [{"name": n, "size": megabytes(built.size(n))} for n in left_out], limit, location)
    html = render.with_mail_note((built.folder / built.scopes[first]["html"]).read_text(encoding="utf-8"), note)

    text_note = [f"Attached: {', '.join(attached)}." if attached else ""]
    if left_out:
        text_note += [
            f"Too large to send by email (the limit is {limit}), so not attached: "
            + ", ".join(f"{n} ({megabytes(built.size(n))})" for n in left_out)
            + f". Find {'them' if len(left_out) > 1 else 'it'} in {location}."
        ]
    text = "\n".join(line for line in text_note if line) + "\n\n" + render.summary_text(built.document, built.card(first))

    message = EmailMessage(policy=SMTP)
    message["From"] = mail.sender
    message["To"] = recipient.address
    message["Subject"] = subject(built, recipient)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("scorecard", domain=parseaddr(mail.sender)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a cron job
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for name in attached:
        message.add_attachment((built.folder / name).read_bytes(), maintype="application", subtype="pdf", filename=name)
    return Composed(recipient, message, message.as_bytes(), attached, left_out)
