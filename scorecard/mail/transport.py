"""Where composed messages go: an SMTP server (with retries), or a folder of .eml files for --dry-run.

Failures that may pass (no connection, a dropped connection, a 4xx reply) are tried again, briefly,
with a doubling wait; permanent ones (5xx, a certificate that does not verify, a refused login) stop at
once. A recipient the server refuses is that recipient's failure; anything else is the server's.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import time
from pathlib import Path

from ..errors import DeliveryError
from ..outputs import slug
from .settings import MailSettings


class RecipientRefused(Exception):
    """The server refused this one message (its recipient or its content); others may still go."""

    def __init__(self, address: str, reason: str):
        super().__init__(f"{address}: {reason}")
        self.address = address
        self.reason = reason


class _Transient(Exception):
    """A failure worth one more try."""

    def __init__(self, reason: str, address: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.address = address  # set when the server refused a recipient for now (4xx)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"[:200]


class Outbox:
    """--dry-run: each message becomes NN-<address>.eml in a folder, nothing is sent."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def deliver(self, data: bytes, sender: str, address: str) -> str:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{slug(address)}.eml"
        path.write_bytes(data)
        return str(path)

    def close(self) -> None:
        pass


class Smtp:
    """One connection for the whole run, opened on the first message and again after a failure."""

    def __init__(self, mail: MailSettings, password: str | None, sleep=time.sleep):
        self.mail = mail
        self.password = password
        self.sleep = sleep
        self.connection: smtplib.SMTP | None = None

    # -- errors name the server, never the password ------------------------------------------------
    def _clean(self, text: str) -> str:
        if self.password:
            text = text.replace(self.password, "***")
        return text

    def _fail(self, reason: str) -> DeliveryError:
        return DeliveryError(self._clean(f"{self.mail.server}: {reason}"))

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.mail.ca_file:
            try:
                context.load_verify_locations(cafile=self.mail.ca_file)
            except (OSError, ssl.SSLError) as error:
                raise DeliveryError(f"[mail] ca_file {self.mail.ca_file} cannot be read as PEM certificates ({error})") from None
        return context

    def _connect(self) -> smtplib.SMTP:
        mail = self.mail
        timeout = mail.timeout_seconds
        try:
            if mail.security == "ssl":
                connection = smtplib.SMTP_SSL(mail.host, mail.effective_port, timeout=timeout, context=self._tls_context())
            else:
                connection = smtplib.SMTP(mail.host, mail.effective_port, timeout=timeout)
        except ssl.SSLCertVerificationError as error:
            raise self._fail(f"TLS failed: the server's certificate does not verify ({error.verify_message}); "
                             "if it is signed by your own authority, name its PEM file in [mail] ca_file") from None  # fmt: skip
        except ssl.SSLError as error:
            raise _Transient(f"TLS failed ({error.reason or error})") from None
        except smtplib.SMTPConnectError as error:
            raise _Transient(f"the server refused the session ({_reply(error.smtp_code, error.smtp_error)})") from None
        except (ConnectionRefusedError, TimeoutError) as error:
            raise _Transient("connection refused" if isinstance(error, ConnectionRefusedError) else "no answer (timed out)") from None
        except OSError as error:
            raise _Transient(f"cannot connect ({error.strerror or error})") from None
        try:
            connection.ehlo()
            if mail.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise self._fail('the server does not offer STARTTLS; use security = "ssl" if it expects TLS from the start')
                connection.starttls(context=self._tls_context())
                connection.ehlo()
            if mail.user:
                self._login(connection)
        except ssl.SSLCertVerificationError as error:
            connection.close()
            raise self._fail(f"TLS failed: the server's certificate does not verify ({error.verify_message}); "
                             "if it is signed by your own authority, name its PEM file in [mail] ca_file") from None  # fmt: skip
        except ssl.SSLError as error:
            connection.close()
            raise _Transient(f"TLS failed ({error.reason or error})") from None
        except smtplib.SMTPAuthenticationError as error:
            connection.close()
            if 400 <= error.smtp_code < 500:
                raise _Transient(f"login as {mail.user} failed for now ({_reply(error.smtp_code, error.smtp_error)})") from None
            raise self._fail(
                f"login as {mail.user} refused ({_reply(error.smtp_code, error.smtp_error)}); "
                f"check [mail] user and the password in ${mail.password_env}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            connection.close()
            raise self._fail(
                f"the server offers no login (AUTH), but [mail] user = {mail.user!r} is set; remove user, or check the server"
            ) from None
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            connection.close()
            raise _Transient(f"the connection dropped ({error})") from None
        except DeliveryError:
            connection.close()
            raise
        return connection

    def _login(self, connection: smtplib.SMTP) -> None:
        """One login, over TLS, with PLAIN (or LOGIN): smtplib's own login() would try every mechanism
        the server offers after a refusal, counting several failed logins against the account."""
        offered = connection.esmtp_features.get("auth", "").upper().split()
        mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            raise smtplib.SMTPNotSupportedError("no PLAIN or LOGIN authentication offered")
        connection.user, connection.password = self.mail.user, self.password or ""
        try:
            connection.auth(mechanism, getattr(connection, "auth_" + mechanism.lower()), initial_response_ok=True)
        finally:
            connection.password = ""

    def _send_once(self, data: bytes, sender: str, address: str) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.sendmail(sender, [address], data)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients[address]
            if 400 <= code < 500:
                raise _Transient(f"recipient refused for now ({_reply(code, text)})", address) from None
            raise RecipientRefused(address, f"refused by {self.mail.server} ({_reply(code, text)})") from None
        except smtplib.SMTPDataError as error:
            if 400 <= error.smtp_code < 500:
                raise _Transient(f"message refused for now ({_reply(error.smtp_code, error.smtp_error)})", address) from None
            raise RecipientRefused(
                address, f"message refused by {self.mail.server} ({_reply(error.smtp_code, error.smtp_error)})"
            ) from None
        except smtplib.SMTPSenderRefused as error:
            if 400 <= error.smtp_code < 500:
                raise _Transient(f"sender refused for now ({_reply(error.smtp_code, error.smtp_error)})") from None
            raise self._fail(f"the sender {sender} is refused ({_reply(error.smtp_code, error.smtp_error)}); check [mail] from") from None
        except smtplib.SMTPResponseException as error:
            if 400 <= error.smtp_code < 500:
                raise _Transient(_reply(error.smtp_code, error.smtp_error)) from None
            raise self._fail(_reply(error.smtp_code, error.smtp_error)) from None
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            raise _Transient(f"the connection dropped ({error or 'closed by the server'})") from None

    def deliver(self, data: bytes, sender: str, address: str) -> str:
        """Send one message; retries what may pass. Raises RecipientRefused (this message only) or
        DeliveryError (the server: stop)."""
        attempts = self.mail.attempts
        for attempt in range(1, attempts + 1):
            try:
                self._send_once(data, sender, address)
                return self.mail.server
            except _Transient as failure:
                self._drop()
                if attempt == attempts:
                    if failure.address:
                        raise RecipientRefused(failure.address, f"{failure.reason} by {self.mail.server}, {attempts} tries") from None
                    raise self._fail(f"{failure.reason}; gave up after {attempts} tries") from None
                self.sleep(float(self.mail.retry_wait_seconds) * 2 ** (attempt - 1))
            except DeliveryError:
                self._drop()
                raise
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
            self._drop()
