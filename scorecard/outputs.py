"""Where outputs go and how they appear: safe file names, a lock per output folder, a staging folder
swapped in only when complete (never a half-written PDF), checksums and the run manifest.

Ownership: a build replaces or deletes only a folder a build of this tool wrote — one holding our
manifest.json and nothing but the files it lists (or a staging folder holding our marker). Anything
else in the way stops the build with OutputError naming the folder. Symbolic links in the output
folder (the lock, `<label>`, staging, `.previous`) are never followed.

The swap: on Linux, `renameat2(RENAME_EXCHANGE)` exchanges the finished staging folder with the old
`<label>` folder in one atomic step, so `<label>` is never missing. Where that call is unavailable
(other systems, file systems without it) the old folder is first renamed to `.<label>.previous`, then
the new one into place; a kill between those two renames leaves `<label>` missing until the next build,
whose `recover` puts the previous folder back."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time
import unicodedata
from pathlib import Path

from .errors import LockedError, OutputError

LOCK_NAME = ".scorecard.lock"
MANIFEST_NAME = "manifest.json"
GENERATOR = "scorecard"  # manifest.json's "generator": marks a folder a build of ours wrote
STAGING_MARKER = ".scorecard-staging"  # in a staging folder while a build fills it


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


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _names(entries: list[str], limit: int = 3) -> str:
    shown = ", ".join(entry[:60] for entry in entries[:limit])
    return shown + (f" and {len(entries) - limit} more" if len(entries) > limit else "")


def _manifest_files(folder: Path) -> set[str] | None:
    """The names a manifest.json of ours lists (itself included), or None when there is no such manifest.
    Builds before the generator marker wrote a fingerprint and the tool's version instead: also ours."""
    try:
        descriptor = os.open(folder / MANIFEST_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            manifest = json.loads(handle.read(10_000_000))
    except (OSError, ValueError):
        return None
    finally:
        os.close(descriptor)
    if not isinstance(manifest, dict):
        return None
    legacy = "fingerprint" in manifest and isinstance(manifest.get("versions"), dict) and GENERATOR in manifest["versions"]
    if manifest.get("generator") != GENERATOR and not legacy:
        return None
    files = manifest.get("files")
    if not isinstance(files, list):
        return None
    return {entry["name"] for entry in files if isinstance(entry, dict) and isinstance(entry.get("name"), str)} | {MANIFEST_NAME}


def not_ours(folder: Path, staging: bool = False) -> str | None:
    """Why `folder` is not ours to replace or delete — or None when it is (or does not exist). Ours: a
    real folder holding only plain files listed by our manifest.json, or (`staging`) a folder holding
    our staging marker and plain files, or an empty folder (nothing to lose)."""
    status = _lstat(folder)
    if status is None:
        return None
    if stat.S_ISLNK(status.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(status.st_mode):
        return "is a file, not a folder"
    entries = sorted(os.listdir(folder))
    if not entries:
        return None
    plain = [entry for entry in entries if stat.S_ISREG(os.lstat(folder / entry).st_mode)]
    if staging and STAGING_MARKER in entries:
        allowed = set(plain)
    else:
        allowed = _manifest_files(folder)
        if allowed is None:
            return f"was not written by scorecard (no manifest.json of a scorecard build; it holds {_names(entries)})"
        allowed &= set(plain)
    foreign = [entry for entry in entries if entry not in allowed]
    if foreign:
        return f"holds files a scorecard build did not write ({_names(foreign)})"
    return None


def check_replaceable(folder: Path, staging: bool = False) -> None:
    """Raise OutputError unless `folder` is ours to replace (or absent)."""
    reason = not_ours(folder, staging)
    if reason:
        raise OutputError(
            f"{folder} {reason}; a build replaces only a folder it wrote. Move it away or choose another --out, then build again"
        )


def remove_ours(folder: Path, staging: bool = False) -> None:
    """Delete a folder a build of ours wrote: its files one by one, then the folder. Anything else
    (a symbolic link, a foreign file, a sub-folder) stops with OutputError and stays where it is."""
    check_replaceable(folder, staging)
    if _lstat(folder) is None:
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for entry in os.listdir(descriptor):
            if not stat.S_ISREG(os.lstat(entry, dir_fd=descriptor).st_mode):
                raise OutputError(f"{folder / entry} appeared while the build was replacing {folder}; it was left in place")
            os.unlink(entry, dir_fd=descriptor)
    finally:
        os.close(descriptor)
    os.rmdir(folder)


def discard(folder: Path) -> None:
    """Best-effort removal of our own staging folder after a failed build; leaves anything else alone."""
    with contextlib.suppress(OSError, OutputError):
        remove_ours(folder, staging=True)


def _open_lock(path: Path) -> int:
    """The lock file, opened without following a symbolic link and refused unless it is a plain file
    with one name (a hard link to another file would be truncated otherwise)."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OutputError(f"{path} is a symbolic link; remove it (a build never follows links in the output folder)") from None
        raise
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
        os.close(descriptor)
        raise OutputError(f"{path} is not a plain lock file (it is a special file or has other names); remove it and build again")
    return descriptor


@contextlib.contextmanager
def output_lock(out: Path, wait: bool = False, timeout: float = 3600):
    """Hold an exclusive lock on the output folder for the whole build. Without `wait`, a second build
    stops at once with LockedError (exit 4); with it, it waits up to `timeout` seconds."""
    out.mkdir(parents=True, exist_ok=True)
    descriptor = _open_lock(out / LOCK_NAME)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if not wait or time.monotonic() > deadline:
                    raise LockedError(
                        f"another scorecard build is writing to {out}; wait for it to finish, or pass --wait to queue behind it"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)


def new_staging_folder(out: Path, label: str) -> Path:
    """A private folder beside the final one (same file system, so the final rename is atomic), marked
    as ours until it is published."""
    staging = out / f".{label}.staging-{os.getpid()}"
    if _lstat(staging) is not None:
        remove_ours(staging, staging=True)
    staging.mkdir()
    os.close(os.open(staging / STAGING_MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
    return staging


def staged_files(staging: Path) -> list[str]:
    """The outputs in a staging folder, without our marker."""
    return sorted(entry for entry in os.listdir(staging) if entry != STAGING_MARKER)


def recover(out: Path, label: str) -> None:
    """Undo what a build killed mid-swap left: the previous outputs come back; staging is discarded.
    Only folders of ours are touched; anything else named like them stops the build."""
    final, previous = out / label, out / f".{label}.previous"
    if _lstat(previous) is not None:
        check_replaceable(previous)
        if _lstat(final) is not None:
            remove_ours(previous)
        else:
            os.rename(previous, final)
    for leftover in out.glob(f".{label}.staging-*"):  # labels are [A-Za-z0-9-] only
        if not_ours(leftover, staging=True) is None:
            discard(leftover)


# renameat2(2) flags (linux/fs.h).
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """Linux renameat2; False when the system or the file system does not offer it."""
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(target))


def publish(staging: Path, out: Path, label: str) -> Path:
    """Swap the finished staging folder in as `<out>/<label>`, then delete the old folder. The old folder
    must be ours; `recover` restores it if the fallback swap is interrupted between its two renames."""
    final, previous = out / label, out / f".{label}.previous"
    check_replaceable(final)
    os.unlink(staging / STAGING_MARKER)
    if _lstat(final) is None:
        if not _renameat2(staging, final, _RENAME_NOREPLACE):
            os.rename(staging, final)
    elif _renameat2(staging, final, _RENAME_EXCHANGE):
        remove_ours(staging)  # the old outputs, now under the staging name
    else:
        os.rename(final, previous)
        os.rename(staging, final)
        remove_ours(previous)
    return final


OS_ERROR_ADVICE = {
    errno.EACCES: "check that you may write there, or choose another --out",
    errno.EPERM: "check that you may write there, or choose another --out",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.ENOSPC: "the disk is full; free some space and build again",
    errno.EDQUOT: "the disk quota is used up; free some space and build again",
    errno.ENOTDIR: "--out must name a folder, not a file",
    errno.EEXIST: "--out must name a folder, not a file",
    errno.ELOOP: "it is a symbolic link; remove it (a build never follows links in the output folder)",
    errno.ENAMETOOLONG: "choose a shorter --out path",
}


@contextlib.contextmanager
def os_errors_explained(out: Path):
    """An OSError while writing outputs becomes one line: what failed, on which path, what to do."""
    try:
        yield
    except OSError as error:
        path = error.filename or out
        advice = OS_ERROR_ADVICE.get(error.errno, "check the output folder and build again")
        reason = error.strerror or type(error).__name__
        raise OutputError(f"cannot write the outputs to {path}: {reason}; {advice}. Nothing was published") from None


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
