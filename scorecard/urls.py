"""Data-source URLs (`postgresql://user:password@host/db`): telling one from a path, and printing one
without its password. Anything that shows a source to a person — messages, logs, `scorecard config`,
metrics.json, manifest.json — goes through `without_password`."""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# user:password@ in the authority (up to the last @ before the path), and a password=… query parameter.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/?#@\s]*):[^/?#\s]*@")
_PASSWORD_PARAMETER = re.compile(r"(?P<separator>[?&])password=[^&#\s]*&?", re.IGNORECASE)


def is_url(text: str) -> bool:
    """Whether a --data value is a URL (scheme://…) rather than a path."""
    return bool(_SCHEME.match(text.strip()))


def without_password(text: str) -> str:
    """The text with the password of every URL in it removed (`user:secret@` → `user@`, and any
    `password=` parameter dropped); other text unchanged."""
    text = _USERINFO.sub(r"\g<scheme>\g<user>@", text)
    text = _PASSWORD_PARAMETER.sub(lambda match: match.group("separator"), text)
    return re.sub(r"[?&](?=\s|$)", "", text)
