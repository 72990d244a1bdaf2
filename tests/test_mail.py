"""`scorecard send` against a real SMTP server (aiosmtpd) on 127.0.0.1: who gets what, reruns and
--resend, a refused connection, a recipient refused with 5xx, STARTTLS and implicit TLS with a
certificate made here, login, the size limit, --dry-run, and the email body in a real browser."""

from __future__ import annotations

import base64
import datetime as dt
import email
import ipaddress
import json
import shutil
import socket
from dataclasses import dataclass
from decimal import Decimal
from email.policy import default as default_policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import make_data, require_component
from scorecard import render
from scorecard.build import BuildOptions, build
from scorecard.cli import app
from scorecard.mail.compose import Built, compose
from scorecard.mail.settings import MailSettings, Recipient
from scorecard.settings import Settings
from scorecard.source import resolve_source

runner = CliRunner()
PASSWORD = "pa55-Word!never-shown"

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:  # the tests that need the server say so
    Controller = None


def mail_data(folder: Path, late_order: bool = False) -> Path:
    customers = [
        ("R1", "Retail", None, "Rosa Retail Ltd"),
        ("R2", "Retail", "2025-08-20", "Ruth Retail plc"),
        ("W1", "Wholesale", "2025-08-15", "Walter Wholesale SA"),
        ("W2", "Wholesale", None, "Wanda Wholesale BV"),
    ]
    orders = [
        ("R1", "2024-09-01", "1200.50"), ("R1", "2025-08-01", "300.25"),
        ("R2", "2025-02-10", "400.00"),
        ("W1", "2025-02-01", "5000"),
        ("W2", "2024-12-01", "750"), ("W2", "2025-09-30", "80"),
    ]  # fmt: skip
    if late_order:  # an order that arrived after the first build: the figures change
        orders.append(("W2", "2025-09-29", "1000"))
    return make_data(folder, customers, orders)


def build_into(data: Path, out: Path):
    return build(
        resolve_source(data), "2025-Q3", Settings(company_name="Acme Group", min_segment_customers=0), BuildOptions(out=out, jobs=1)
    )


@pytest.fixture(scope="module")
def built_out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mail-build")
    build_into(mail_data(root / "data"), root / "out")
    return root / "out"


@pytest.fixture
def out(built_out, tmp_path) -> Path:
    """A private copy of the built output folder (each test keeps its own delivery record)."""
    target = tmp_path / "out"
    shutil.copytree(built_out, target)
    return target


# --- a real SMTP server ---------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)


class Inbox:
    """aiosmtpd handler: keeps what arrives; refuses some recipients for good (550) or for a while (451)."""

    def __init__(self, refuse=(), refuse_for_now=None):
        self.received: list[Received] = []
        self.refuse = {address.lower() for address in refuse}
        self.refuse_for_now = dict(refuse_for_now or {})  # address → how many more times to say 451
        self.rcpt_attempts: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_attempts.append(address)
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.refuse_for_now.get(address, 0) > 0:
            self.refuse_for_now[address] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.authenticated and isinstance(session.auth_data, LoginPassword) else None
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None  # STARTTLS, or TLS from the start
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, tls, login))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def password_check(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"scorecards", PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data)  # handled=False: the server answers 535 itself


@pytest.fixture
def smtp_server():
    """start(inbox, **aiosmtpd options) → port of a running server on 127.0.0.1; stopped after the test."""
    require_component(Controller is not None, "needs aiosmtpd (pip install '.[test]')")
    controllers = []

    def start(inbox: Inbox, **options) -> int:
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made here: (certificate PEM path, key PEM path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scorecard test SMTP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def server_tls(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


# --- config and command ---------------------------------------------------------------------------

READERS = [
    ("ceo@example.com", ["board-pack"]),
    ("retail-lead@example.com", ["segment:Retail", "company"]),
    ("wholesale-lead@example.com", ["segment:Wholesale"]),
]


def write_config(folder: Path, port: int | None, recipients=READERS, name: str = "scorecard.toml", **mail) -> Path:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "from": "Scorecards <scorecards@example.com>",
                "attempts": 2, "retry_wait_seconds": 0, "timeout_seconds": 5} | mail  # fmt: skip
    lines = ["[segments]", "min_customers = 0", "[mail]"]  # the tiny test data: every segment its own scorecard
    for key, value in settings.items():
        if value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    for address, scopes in recipients:
        lines += ["[[mail.recipients]]", f"address = {json.dumps(address)}", f"scopes = {json.dumps(scopes)}"]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def send(config: Path, out: Path, *extra: str):
    return runner.invoke(app, ["send", "--period", "2025-Q3", "--config", str(config), "--out", str(out), *extra])


def records(out: Path) -> list[dict]:
    path = out / "deliveries" / "2025-Q3.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def html_body(received: Received) -> str:
    return received.message.get_body(("html",)).get_content().replace("\r\n", "\n")


def text_body(received: Received) -> str:
    return received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def attachments(received: Received) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in received.message.iter_attachments()}


def pdf_text(data: bytes) -> str:
    import io

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- delivery and scoping -------------------------------------------------------------------------


def test_each_reader_gets_one_message_with_only_their_scopes(out, smtp_server, tmp_path):
    inbox = Inbox()
    port = smtp_server(inbox)
    result = send(write_config(tmp_path, port), out)
    assert result.exit_code == 0, result.output
    assert len(inbox.received) == 3 and all(len(r.rcpt_tos) == 1 and not r.tls for r in inbox.received)  # security = "none" here
    folder = out / "2025-Q3"

    ceo = inbox.to("ceo@example.com")[0]
    assert ceo.mail_from == "scorecards@example.com"
    assert ceo.message["Subject"] == "Acme Group customer scorecards, 2025-Q3: Board pack"
    assert ceo.message["From"] == "Scorecards <scorecards@example.com>" and ceo.message["To"] == "ceo@example.com"
    assert attachments(ceo) == {"board-pack-2025-Q3.pdf": (folder / "board-pack-2025-Q3.pdf").read_bytes()}

    retail = inbox.to("retail-lead@example.com")[0]
    assert retail.message["Subject"] == "Acme Group customer scorecards, 2025-Q3: Retail, Company"
    assert set(attachments(retail)) == {"scorecard-2025-Q3-segment-retail.pdf", "scorecard-2025-Q3-company.pdf"}
    body = html_body(retail)
    built_html = (folder / "scorecard-2025-Q3-segment-retail.html").read_text()
    # the body is the built HTML summary of the first scope, with a note of what is attached in its place
    before, _, after = built_html.partition(render.MAIL_NOTE_MARKER)
    assert body.startswith(before) and body.rstrip().endswith(after.rstrip())
    assert "Attached: scorecard-2025-Q3-segment-retail.pdf, scorecard-2025-Q3-company.pdf." in body
    text = text_body(retail)
    assert "Acme Group · Retail · 2025-Q3" in text and "Customers gained" in text

    # customer data stays within scope: the Wholesale lead sees no Retail customer, and the other way round
    wholesale = inbox.to("wholesale-lead@example.com")[0]
    assert set(attachments(wholesale)) == {"scorecard-2025-Q3-segment-wholesale.pdf"}
    wholesale_text = pdf_text(attachments(wholesale)["scorecard-2025-Q3-segment-wholesale.pdf"])
    assert "Walter Wholesale SA" in wholesale_text
    assert "Retail" not in wholesale.data.decode("ascii", "replace") and "Rosa Retail" not in wholesale_text
    retail_segment_text = pdf_text(attachments(retail)["scorecard-2025-Q3-segment-retail.pdf"])
    assert "Ruth Retail plc" in retail_segment_text and "Walter" not in retail_segment_text

    assert [(r["address"], r["scopes"]) for r in records(out)] == [(a, s) for a, s in READERS]
    assert not list((out / "2025-Q3").glob("*.jsonl"))  # the record lives beside the outputs, not in the period folder
    assert "Sent to ceo@example.com (board-pack-2025-Q3.pdf" in result.output
    assert "2025-Q3: 3 messages sent, 0 already sent" in result.output


def test_a_rerun_sends_nothing_new_and_resend_sends_again(out, smtp_server, tmp_path):
    inbox = Inbox()
    config = write_config(tmp_path, smtp_server(inbox))
    assert send(config, out).exit_code == 0
    again = send(config, out)
    assert again.exit_code == 0 and len(inbox.received) == 3
    assert "Already sent to ceo@example.com" in again.output and "0 messages sent, 3 already sent" in again.output
    # a new reader in the config gets theirs; the others still get nothing twice
    config = write_config(tmp_path, smtp_server(inbox), recipients=READERS + [("cfo@example.com", ["company"])])
    assert send(config, out).exit_code == 0
    assert len(inbox.received) == 4 and inbox.received[-1].rcpt_tos == ["cfo@example.com"]
    resent = send(config, out, "--resend")
    assert resent.exit_code == 0 and len(inbox.received) == 8
    assert len(records(out)) == 8


@pytest.mark.slow  # three builds
def test_a_rebuild_with_changed_figures_is_sent_again_only_with_resend(tmp_path, smtp_server):
    out = tmp_path / "out"
    build_into(mail_data(tmp_path / "data"), out)
    inbox = Inbox()
    config = write_config(tmp_path, smtp_server(inbox))
    assert send(config, out).exit_code == 0
    rebuilt_same = runner.invoke(
        app,
        [
            "build",
            "-p",
            "2025-Q3",
            "--data",
            str(tmp_path / "data"),
            "--company",
            "Acme Group",
            "--out",
            str(out),
            "--force",
            "--jobs",
            "1",
            "--min-segment-customers",
            "0",
        ],
    )
    assert rebuilt_same.exit_code == 0
    assert "3 already sent" in send(config, out).output  # rebuilt, same figures: nothing to send
    build_into(mail_data(tmp_path / "data2", late_order=True), out)
    held = send(config, out)
    assert held.exit_code == 0 and len(inbox.received) == 3
    assert "Not sent to ceo@example.com: 2025-Q3 was rebuilt with different figures" in held.output and "--resend" in held.output
    resent = send(config, out, "--resend")
    assert resent.exit_code == 0 and len(inbox.received) == 6
    assert len({r["metrics_sha256"] for r in records(out)}) == 2


def test_unknown_scopes_are_a_config_error_before_anything_is_sent(out, smtp_server, tmp_path):
    inbox = Inbox()
    port = smtp_server(inbox)
    for scopes, message in (
        (["segment:Enterprise"], "no segment 'Enterprise' in 2025-Q3 (segments: Retail, Wholesale)"),
        (["segment:retail"], "did you mean segment:Retail?"),
    ):
        result = send(write_config(tmp_path, port, recipients=READERS + [("new@example.com", scopes)]), out)
        assert result.exit_code == 2, result.output
        assert message in result.output and "new@example.com" in result.output
    bad_form = send(write_config(tmp_path, port, recipients=[("a@example.com", ["segments:Retail"])]), out)
    assert bad_form.exit_code == 2 and "scope 'segments:Retail' is not one of" in bad_form.output
    assert inbox.rcpt_attempts == [] and records(out) == []


def test_a_segment_not_built_is_named(tmp_path, smtp_server):
    out = tmp_path / "out"
    build(
        resolve_source(mail_data(tmp_path / "data")),
        "2025-Q3",
        Settings(min_segment_customers=0),
        BuildOptions(out=out, jobs=1, segments=["Retail"]),
    )
    result = send(write_config(tmp_path, smtp_server(Inbox())), out)
    assert result.exit_code == 2 and "segment 'Wholesale' has no scorecard" in result.output and "--segment" in result.output


def test_a_period_not_built_is_named(tmp_path):
    result = runner.invoke(app, ["send", "-p", "2025-Q2", "--config", str(write_config(tmp_path, 25)), "--out", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no built scorecards for 2025-Q2" in result.output


# --- failures -------------------------------------------------------------------------------------


def error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def test_a_server_that_refuses_connections_fails_with_exit_5_naming_it(out, tmp_path):
    port = free_port()  # nothing listens there
    result = send(write_config(tmp_path, port), out)
    assert result.exit_code == 5
    assert error_lines(result) == [
        f"Error: 127.0.0.1:{port}: connection refused; gave up after 2 tries; 0 of 3 messages sent and recorded; the rest go out on the next run"
    ]
    assert "Traceback" not in result.output and records(out) == []


def test_a_recipient_refused_with_5xx_is_named_and_the_others_are_sent_and_recorded(out, smtp_server, tmp_path):
    inbox = Inbox(refuse={"retail-lead@example.com"})
    config = write_config(tmp_path, smtp_server(inbox))
    result = send(config, out)
    assert result.exit_code == 5
    [line] = error_lines(result)
    assert line.startswith("Error: delivery failed for retail-lead@example.com (refused by 127.0.0.1:")
    assert "550 5.1.1 mailbox unavailable" in line and "2 of 3 messages sent and recorded" in line
    assert inbox.rcpt_attempts.count("retail-lead@example.com") == 1  # a permanent refusal is not tried again
    assert sorted(r["address"] for r in records(out)) == ["ceo@example.com", "wholesale-lead@example.com"]
    inbox.refuse.clear()  # the mailbox is fixed: the next run sends only the missing message
    again = send(config, out)
    assert again.exit_code == 0 and [r.rcpt_tos for r in inbox.received[2:]] == [["retail-lead@example.com"]]


def test_a_recipient_refused_for_now_is_tried_again(out, smtp_server, tmp_path):
    inbox = Inbox(refuse_for_now={"ceo@example.com": 1})
    result = send(write_config(tmp_path, smtp_server(inbox)), out)
    assert result.exit_code == 0, result.output
    assert inbox.rcpt_attempts.count("ceo@example.com") == 2 and len(inbox.received) == 3


def test_starttls_with_a_self_signed_certificate_and_login(out, smtp_server, tmp_path, certificate, monkeypatch):
    inbox = Inbox()
    port = smtp_server(inbox, tls_context=server_tls(certificate), require_starttls=True, authenticator=password_check, auth_required=True)
    monkeypatch.setenv("SCORECARD_SMTP_PASSWORD", PASSWORD)
    config = write_config(tmp_path, port, security="starttls", user="scorecards", ca_file=str(certificate[0]))
    result = send(config, out)
    assert result.exit_code == 0, result.output
    assert len(inbox.received) == 3 and all(r.tls and r.login == "scorecards" for r in inbox.received)

    # the same server without trusting its certificate: a TLS failure naming the server, not retried
    untrusted = send(write_config(tmp_path, port, security="starttls", user="scorecards", name="untrusted.toml"), out, "--resend")
    assert untrusted.exit_code == 5
    [line] = error_lines(untrusted)
    assert f"127.0.0.1:{port}: TLS failed: the server's certificate does not verify" in line and "[mail] ca_file" in line

    # a wrong password: refused login, named, and the password never printed
    monkeypatch.setenv("SCORECARD_SMTP_PASSWORD", "wrong-" + PASSWORD)
    refused = send(config, out, "--resend")
    assert refused.exit_code == 5
    [line] = error_lines(refused)
    assert f"127.0.0.1:{port}: login as scorecards refused (535" in line and "SCORECARD_SMTP_PASSWORD" in line
    assert PASSWORD not in refused.output and len(inbox.received) == 3

    monkeypatch.delenv("SCORECARD_SMTP_PASSWORD")
    unset = send(config, out, "--resend")
    assert unset.exit_code == 2 and "SCORECARD_SMTP_PASSWORD" in unset.output and "empty or unset" in unset.output


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd's own warning: that is the point here
def test_a_login_without_tls_only_to_a_server_on_this_machine(out, smtp_server, tmp_path, monkeypatch):
    inbox = Inbox()
    port = smtp_server(inbox, authenticator=password_check, auth_required=True, auth_require_tls=False)
    monkeypatch.setenv("SCORECARD_SMTP_PASSWORD", PASSWORD)
    result = send(write_config(tmp_path, port, user="scorecards"), out)
    assert result.exit_code == 0, result.output
    assert [r.login for r in inbox.received] == ["scorecards"] * 3 and not any(r.tls for r in inbox.received)


def test_a_plain_server_without_starttls_is_refused_not_downgraded(out, smtp_server, tmp_path):
    port = smtp_server(Inbox())
    result = send(write_config(tmp_path, port, security="starttls"), out)
    assert result.exit_code == 5 and "does not offer STARTTLS" in result.output


def test_implicit_tls(out, smtp_server, tmp_path, certificate):
    inbox = Inbox()
    port = smtp_server(inbox, ssl_context=server_tls(certificate))
    result = send(write_config(tmp_path, port, security="ssl", ca_file=str(certificate[0])), out)
    assert result.exit_code == 0, result.output
    assert len(inbox.received) == 3 and all(r.tls for r in inbox.received)


def test_the_password_appears_nowhere(out, smtp_server, tmp_path, certificate, monkeypatch):
    monkeypatch.setenv("SCORECARD_SMTP_PASSWORD", PASSWORD)
    port = smtp_server(
        Inbox(), tls_context=server_tls(certificate), require_starttls=True, authenticator=password_check, auth_required=True
    )
    config = write_config(tmp_path, port, security="starttls", user="scorecards", ca_file=str(certificate[0]))
    printed = [
        runner.invoke(app, ["config", "--config", str(config)]).output,
        send(config, out, "--log-format", "json").output,
        send(config, out, "--dry-run", str(tmp_path / "outbox"), "--resend").output,
        send(write_config(tmp_path, free_port(), security="starttls", user="scorecards", name="refused.toml"), out, "--resend").output,
    ]
    assert "[mail] password_env" in printed[0] and "SCORECARD_SMTP_PASSWORD (set in the environment)" in printed[0]
    written = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".pdf"]
    plain_auth = base64.b64encode(b"\0scorecards\0" + PASSWORD.encode()).decode()
    for text in printed + written:
        assert PASSWORD not in text and plain_auth not in text


# --- size limit, dry run, build --send ------------------------------------------------------------


def test_over_the_size_limit_the_pack_becomes_its_scorecards_then_a_note_of_where_the_files_are(out, smtp_server, tmp_path):
    built = Built.load(out, "2025-Q3")
    ceo = Recipient("ceo@example.com", ("board-pack",))
    full = compose(built, ceo, MailSettings(sender="s@example.com"))
    assert full.attached == ["board-pack-2025-Q3.pdf"] and full.left_out == []
    singles = ["scorecard-2025-Q3-company.pdf", "scorecard-2025-Q3-segment-retail.pdf", "scorecard-2025-Q3-segment-wholesale.pdf"]

    inbox = Inbox()
    port = smtp_server(inbox)
    # One byte too small for the pack. The pack embeds its fonts once, so it is smaller than its
    # scorecards together: the message carries the scorecards that fit, in order, and names the rest.
    limit_mb = (len(full.data) - 1) / 1_000_000
    result = send(write_config(tmp_path, port, recipients=[("ceo@example.com", ["board-pack"])], max_message_mb=limit_mb), out)
    assert result.exit_code == 0, result.output
    [message] = inbox.received
    assert len(message.data) <= limit_mb * 1_000_000
    attached = list(attachments(message))
    assert attached and attached == singles[: len(attached)] and len(attached) < len(singles), attached
    assert {name: data for name, data in attachments(message).items()} == {n: (out / "2025-Q3" / n).read_bytes() for n in attached}
    assert all(name in html_body(message) for name in singles[len(attached) :])
    assert records(out)[-1]["attached"] == attached and records(out)[-1]["not_attached"] == singles[len(attached) :]

    # a limit no PDF fits under: no attachment, and the body says where the files are
    where = "the Finance share, folder Scorecards"
    bare = compose(built, ceo, MailSettings(sender="s@example.com", max_message_mb=Decimal("0.001"), files_location=where))
    assert bare.attached == [] and bare.left_out == singles
    limit_mb = (len(bare.data) + 2_000) / 1_000_000  # the message alone fits; with any PDF it does not
    assert min(built.size(n) for n in singles) > 2_000
    tiny = write_config(tmp_path, port, recipients=[("ceo@example.com", ["board-pack"])], max_message_mb=limit_mb, files_location=where)
    result = send(tiny, out, "--resend")
    assert result.exit_code == 0, result.output
    message = inbox.received[-1]
    assert list(attachments(message)) == [] and len(message.data) <= limit_mb * 1_000_000
    body = html_body(message)
    assert f"Too large to send by email (the limit is {limit_mb:.1f} MB), so not attached:" in body
    assert "Find them in the Finance share, folder Scorecards." in body
    assert all(name in body for name in singles)
    assert "Find them in the Finance share" in text_body(message)
    assert records(out)[-1]["attached"] == [] and records(out)[-1]["not_attached"] == singles


def test_dry_run_writes_eml_files_and_records_nothing(out, tmp_path):
    config = write_config(tmp_path, None, host=None)  # no server needed
    outbox = tmp_path / "outbox"
    result = send(config, out, "--dry-run", str(outbox))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in outbox.iterdir())
    assert files == ["01-ceo-example-com.eml", "02-retail-lead-example-com.eml", "03-wholesale-lead-example-com.eml"]
    message = email.message_from_bytes((outbox / files[0]).read_bytes(), policy=default_policy)
    assert message["To"] == "ceo@example.com" and [p.get_filename() for p in message.iter_attachments()] == ["board-pack-2025-Q3.pdf"]
    assert records(out) == []
    no_host = send(config, out)
    assert no_host.exit_code == 2 and "[mail] host is not set" in no_host.output


def test_build_send_builds_then_sends_and_a_bare_quarter_means_the_latest_built(tmp_path, smtp_server):
    data = mail_data(tmp_path / "data")
    inbox = Inbox()
    config = write_config(tmp_path, smtp_server(inbox))
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--config", str(config), "--jobs", "1", "--send"]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "Sent to ceo@example.com" in result.output and len(inbox.received) == 3
    quiet = runner.invoke(app, ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--config", str(config), "--send", "-q"])
    assert quiet.exit_code == 0 and quiet.output == "" and len(inbox.received) == 3
    bare = runner.invoke(app, ["send", "-p", "Q3", "--config", str(config), "--out", str(out), "--resend"])
    assert bare.exit_code == 0 and "2025-Q3: 3 messages sent" in bare.output


# --- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipients, message",
    [
        ('[[mail.recipients]]\naddress = "a@example.com"\nscope = ["company"]\n', "[[mail.recipients]] #1: unknown key 'scope'"),
        ('[[mail.recipients]]\nscopes = ["company"]\n', "[[mail.recipients]] #1: address is missing"),
        (
            '[[mail.recipients]]\naddress = "not an address"\nscopes = ["company"]\n',
            "[[mail.recipients]] #1 address must be an email address",
        ),
        ('[[mail.recipients]]\naddress = "a@example.com"\nscopes = []\n', "scopes must be a non-empty list"),
        ('[mail]\nsecurity = "tls"\n', "[mail] security must be one of starttls, ssl, none"),
        ('[mail]\nhost = "smtp.example.com"\nuser = "x"\nsecurity = "none"\n', "the password would cross the network unencrypted"),
        ('[mail]\npassword = "secret"\n', "unknown key [mail] password"),
    ],
)
def test_bad_mail_config_is_a_usage_error_naming_the_key(tmp_path, recipients, message):
    config = tmp_path / "scorecard.toml"
    config.write_text(recipients, encoding="utf-8")
    result = runner.invoke(app, ["config", "--config", str(config)])
    assert result.exit_code == 2 and message in result.output, result.output


def test_the_starter_mail_section_is_valid_once_uncommented(tmp_path):
    from scorecard.config import STARTER, read_config

    lines = STARTER.splitlines()
    start = next(i for i, line in enumerate(lines) if line == "# [mail]")
    uncommented = [line[2:] if line.startswith("# ") and ("=" in line or line.startswith("# [")) else line for line in lines[start:]]
    path = tmp_path / "scorecard.toml"
    path.write_text("\n".join(lines[:start] + uncommented) + "\n", encoding="utf-8")
    values = read_config(path)
    assert values["mail.host"] == "smtp.example.com" and values["mail.recipients"][1] == Recipient(
        "smb-lead@example.com", ("company", "segment:SMB")
    )


# --- the email body in a real browser -------------------------------------------------------------


def test_the_email_body_in_a_real_browser(out, smtp_server, tmp_path, chromium):
    inbox = Inbox()
    assert send(write_config(tmp_path, smtp_server(inbox)), out).exit_code == 0
    for address, tiles in (("retail-lead@example.com", 6), ("ceo@example.com", 6)):
        body = html_body(inbox.to(address)[0])
        page = tmp_path / f"{address}.html"
        page.write_text(body, encoding="utf-8")
        visit = chromium(page, tmp_path / f"{address}.png", width=700)
        assert visit.other_requests == [] and visit.console_errors == []
        assert visit.page.locator(".tile").count() == tiles and visit.page.locator(".tile").first.is_visible()
        note = visit.page.locator(".mail-note")
        assert note.is_visible() and "Attached:" in note.inner_text()
