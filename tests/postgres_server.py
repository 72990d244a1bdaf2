"""A throwaway PostgreSQL server for the tests and the benchmark: `initdb` + `pg_ctl` into a temp folder,
listening on 127.0.0.1 and a free port only. initdb refuses to run as root, so as root the server runs as
the unprivileged `postgres` user (Debian's package creates it), which owns the data, log and socket
folders. Tables are filled from CSV files with psql's \\copy, as a user would."""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ADMIN = "scorecard_admin"


def find_bindir() -> Path | None:
    """The newest PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<version>/bin), else pg_ctl on PATH."""
    versions = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    versions.sort(key=lambda bindir: int(bindir.parent.name) if bindir.parent.name.isdigit() else 0)
    if versions:
        return versions[-1]
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def driver_installed() -> bool:
    return importlib.util.find_spec("adbc_driver_postgresql") is not None and importlib.util.find_spec("pyarrow") is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, bindir: Path, folder: Path | None = None, settings: dict[str, str] | None = None):
        self.bindir = bindir
        self.folder = folder or Path(tempfile.mkdtemp(prefix="scorecard-postgres-"))
        self.password = secrets.token_urlsafe(16)
        self.port = 0
        self.settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "timezone": "UTC"} | (settings or {})
        # As root, run the server as an unprivileged user that owns its folders.
        self.run_as = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.run_as = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _as_server_user(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.run_as.pw_name, "--"] if self.run_as else []
        return subprocess.run(prefix + command, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> Server:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            os.chown(self.folder, self.run_as.pw_uid, self.run_as.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            password_file = self.folder / "password"
            password_file.write_text(self.password + "\n")
            if self.run_as:
                os.chown(password_file, self.run_as.pw_uid, self.run_as.pw_gid)
            initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "scram-sha-256", "-U", ADMIN, f"--pwfile={password_file}"]
            self._as_server_user(initdb + ["--no-sync", "-E", "UTF8", "--locale=C"])
            password_file.unlink()
            (self.folder / "admin-password").write_text(self.password)
        else:  # a kept data folder (the benchmark's cache): its password was stored beside it
            self.password = (self.folder / "admin-password").read_text()
        for attempt in range(3):
            self.port = _free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder}"
            options += "".join(f" -c {key}={value}" for key, value in self.settings.items())
            try:
                self._as_server_user(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "start"]
                )
                return self
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise RuntimeError("PostgreSQL did not start:\n" + (self.folder / "server.log").read_text()[-2000:]) from None
        return self

    def stop(self, remove: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres", user: str = ADMIN, password: str | None = None, **parameters: str) -> str:
        """A URL for the scorecard; the admin's password unless another is given ("" for none)."""
        from urllib.parse import quote

        password = self.password if password is None and user == ADMIN else password
        credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        query = "&".join(f"{key}={quote(value, safe='')}" for key, value in parameters.items())
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL (several statements, psql meta-commands such as \\copy) as the admin; stop on the first error."""
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        environment["PGPASSWORD"] = self.password
        command = [str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN, "-d", database]
        result = subprocess.run(
            command + ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], input=sql, capture_output=True, text=True, env=environment
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def load_csv(self, database: str, relation: str, path: Path, types: dict[str, str] | None = None) -> None:
        """Create `relation` (schema.table) with the CSV's columns — text unless `types` says otherwise —
        and copy the file in."""
        import csv

        with path.open(newline="") as handle:
            header = next(csv.reader(handle))
        columns = ", ".join(f'"{name}" {(types or {}).get(name, "text")}' for name in header)
        schema = relation.split(".")[0] if "." in relation else "public"
        quoted_path = str(path).replace("'", "''")
        self.psql(
            f"create schema if not exists {schema};\ncreate table {relation} ({columns});\n"
            f"\\copy {relation} ({', '.join(chr(34) + name + chr(34) for name in header)}) from '{quoted_path}' with (format csv, header true)\n",
            database,
        )
