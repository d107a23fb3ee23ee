"""A private PostgreSQL server that a test may stop, crash and restart.

The machine's PostgreSQL (127.0.0.1:5432) is shared by every test run on
the machine; restarting it would break the others. ``PrivatePostgres``
runs the same Debian binaries (``initdb``, ``pg_ctl``) on a cluster of its
own in a temporary directory, listening on 127.0.0.1 on a free port, so a
test can take the server down in the middle of a processor's work:

* ``restart("fast")``: a clean shutdown (sessions terminated, checkpoint);
* ``restart("immediate")``: what a crash or power cut looks like to the
  clients, the server exits without a checkpoint and replays its WAL at the
  next start (crash recovery).

PostgreSQL refuses to run as root: as root, the commands run as the
``postgres`` system user (``runuser``), which owns the cluster directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

INSTALL_HINT = "install the Debian package postgresql (initdb and pg_ctl)"


class PostgresUnavailable(RuntimeError):
    """initdb/pg_ctl are not installed, or cannot run here."""


def bindir() -> Path:
    """Where initdb and pg_ctl live: ``pg_config --bindir`` (Debian's
    pg_config may name the client's directory), else the newest
    /usr/lib/postgresql/<version>/bin holding both."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        candidates.append(Path(out))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in versions)
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise PostgresUnavailable(f"initdb/pg_ctl not found; {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """One throw-away cluster; ``url`` is the server URL (no database)."""

    def __init__(self, root: Path) -> None:
        self.bin = bindir()
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root without a postgres user") from exc
            self._as_user = ["runuser", "-u", "postgres", "--"]
            os.chown(root, owner.pw_uid, owner.pw_gid)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",  # a test cluster: skip the initial fsync of ~40 MB
            ]
        )

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        done = subprocess.run(
            self._as_user + argv, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-2000:]
            raise PostgresUnavailable(f"{Path(argv[0]).name} failed ({done.returncode}): {tail}")

    def start(self, timeout: float = 60) -> None:
        # Unix sockets in the cluster directory: never /var/run/postgresql,
        # which belongs to the machine's server.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c max_connections=100 -c shared_buffers=32MB"
        )
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 10,
        )
        self._wait_accepting(timeout)

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clean shutdown; ``immediate``: no checkpoint, the next
        start runs crash recovery (what a crashed server looks like)."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        self.stop(mode)
        if down_for:
            time.sleep(down_for)
        self.start()

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        engine = sa.create_engine(f"{self.url}/postgres", poolclass=sa.pool.NullPool)
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.execute(sa.text("SELECT 1"))
                    return
                except sa.exc.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return f"{self.url}/{name}"

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster, stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ck-pg-"))
    try:
        server = PrivatePostgres(root)
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
