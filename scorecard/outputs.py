"""Where outputs go and how they appear: safe file names, a lock per output folder, a staging folder
swapped in only when complete (never a half-written PDF), checksums and the run manifest."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import unicodedata
from pathlib import Path

from .errors import LockedError, ScorecardError

LOCK_NAME = ".scorecard.lock"


def slug(text: str) -> str:
    """A file-name-safe, lower-case ASCII slug: 'Public Sector' → 'public-sector'. Never empty, never
    a path: only [a-z0-9-] survive, so no segment name can escape the output folder."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return cleaned or "segment"


def scorecard_file_names(label: str, segments: list[str | None]) -> dict[str | None, str]:
    """Stable, unique PDF names per scorecard; names that slug alike get a short hash of the name."""
    names: dict[str | None, str] = {}
    taken: set[str] = set()
    for segment in segments:
        if segment is None:
            base = "company"
        else:
            base = "segment-" + slug(segment)
            if base in taken or base == "segment-company":
                base += "-" + hashlib.sha256(segment.encode("utf-8")).hexdigest()[:6]
        taken.add(base)
        names[segment] = f"scorecard-{label}-{base}.pdf"
    return names


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def output_lock(out: Path, wait: bool = False, timeout: float = 3600):
    """Hold an exclusive lock on the output folder for the whole build. Without `wait`, a second build
    stops at once with LockedError (exit 4); with it, it waits up to `timeout` seconds."""
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / LOCK_NAME, "a+")  # noqa: SIM115 — held open for the whole build
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if not wait or time.monotonic() > deadline:
                    raise LockedError(
                        f"another scorecard build is writing to {out}; wait for it to finish, or pass --wait to queue behind it"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def new_staging_folder(out: Path, label: str) -> Path:
    """A private folder beside the final one (same file system, so the final rename is atomic)."""
    staging = out / f".{label}.staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def recover(out: Path, label: str) -> None:
    """Undo what a build killed mid-swap left: the previous outputs come back; staging is discarded."""
    final, previous = out / label, out / f".{label}.previous"
    if previous.exists():
        if final.exists():
            shutil.rmtree(previous)
        else:
            os.replace(previous, final)
    for leftover in out.glob(f".{label}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def publish(staging: Path, out: Path, label: str) -> Path:
    """Swap the finished staging folder in as `<out>/<label>`: the old folder is kept until the new
    one is in place, and `recover` restores it if the process dies between the two renames."""
    final, previous = out / label, out / f".{label}.previous"
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise ScorecardError(f"{final} exists and is not a folder; move it away and build again")
    if final.exists():
        os.replace(final, previous)
    os.replace(staging, final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
