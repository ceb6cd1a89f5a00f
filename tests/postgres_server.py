"""A throw-away PostgreSQL cluster for the tests, listening on a Unix socket only.

``PostgresServer.start()`` runs initdb into a new temporary folder and starts the server
with its socket there (no TCP port); ``stop()`` stops it and removes the folder. Run as
root, the server runs as the ``postgres`` OS user (initdb refuses root). The cluster
trusts its superuser ``postgres`` and asks every other role for its password
(scram-sha-256), so password handling is tested for real. ``fsync`` is off: the tests
kill clients, never the server.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

PORT = 5432  # only names the socket file: the cluster listens on no TCP port
HBA = "local all postgres trust\nlocal all all scram-sha-256\n"


class ServerUnavailable(Exception):
    """No PostgreSQL server can be started here; the message says why, in one line."""


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")  # Debian keeps them here
    if not candidates:
        raise ServerUnavailable("no initdb found (apt-get install postgresql)")
    newest = max(candidates, key=lambda p: int(re.search(r"/(\d+)/bin/", p)[1]))
    return Path(newest).parent


class PostgresServer:
    """A running throw-away cluster; ``address(dbname)`` names one of its databases."""

    def __init__(self, bindir: Path, folder: Path, as_user: list[str]) -> None:
        self.bindir, self.folder, self._as_user = bindir, folder, as_user
        self.data, self.log = folder / "data", folder / "server.log"
        self._admin = None

    @classmethod
    def start(cls, durable: bool = False) -> PostgresServer:
        """Initialise and start a new cluster; :class:`ServerUnavailable` if none can run.

        ``durable`` keeps fsync on (benchmarks of commit latency); tests turn it off.
        """
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ServerUnavailable("psycopg is not installed (pip install "
                                    "'rlhf-envs[team]')") from None
        bindir = _bindir()
        folder = Path(tempfile.mkdtemp(prefix="rlhf-pg-"))  # short: a socket path's limit
        as_user = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(folder)
                raise ServerUnavailable("running as root and no 'postgres' OS user to run "
                                        "the server as") from None
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        server = cls(bindir, folder, as_user)
        try:
            server._run("initdb", "-D", str(server.data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-sync")
            (server.data / "pg_hba.conf").write_text(HBA)
            options = f"-k {folder} -p {PORT} -c listen_addresses=''"
            if not durable:
                options += " -c fsync=off -c full_page_writes=off"
            server._run("pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w",
                        "-t", "60", "-o", options, "start")
        except ServerUnavailable:
            server.stop()
            raise
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ServerUnavailable(f"{program} failed: {last[0]}")

    def address(self, dbname: str, user: str = "postgres", password: str | None = None) -> str:
        """A ``postgresql://`` URI of database ``dbname`` on this cluster's socket."""
        userinfo = user if password is None else f"{user}:{quote(password, safe='')}"
        return f"postgresql://{userinfo}@/{dbname}?host={quote(str(self.folder))}&port={PORT}"

    def sql(self, statement: str, params: tuple = ()) -> None:
        """Run one statement as the superuser, in the ``postgres`` database."""
        import psycopg

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.address("postgres"), autocommit=True)
        self._admin.execute(statement, params)

    def create_database(self, owner: str = "postgres") -> str:
        """A new, empty database of ``owner``; its name."""
        name = f"rlhf_test_{uuid.uuid4().hex[:12]}"
        self.sql(f'CREATE DATABASE {name} OWNER "{owner}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection to it still open."""
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its folder."""
        if self._admin is not None:
            self._admin.close()
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                            "-m", "fast", "-w", "stop"], capture_output=True, cwd=self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
