"""A real Gnocchi (API under gunicorn + metricd) for functional tests.

``running_gnocchi()`` creates a fresh PostgreSQL indexer database
(``ck_gnocchi_<hex>``), runs ``gnocchi-upgrade --sacks-number 8``, starts the
API on a free 127.0.0.1 port with basic auth (user ``admin``, empty password)
and ``gnocchi-metricd``, and tears everything down, database included.
``gnocchi_service`` is the same thing as a session-scoped pytest fixture:
load it with ``pytest_plugins = ["tests.functional.services.gnocchi"]``.

Gnocchi lives in its own virtualenv (``CK_GNOCCHI_VENV``, default
``/opt/ck-gnocchi``) made by ``tools/ci/install-gnocchi.sh``.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import PG_SERVER
from tests.functional.services.api_server import free_port

VENV = os.environ.get("CK_GNOCCHI_VENV", "/opt/ck-gnocchi")
INSTALL_HINT = "run tools/ci/install-gnocchi.sh (or set CK_GNOCCHI_VENV)"

# gnocchi.rest.wsgi parses sys.argv, which under gunicorn holds gunicorn's
# arguments; this wrapper builds the app from an explicit config file.
_WSGI_WRAPPER = """\
import os
from gnocchi import service
from gnocchi.rest import app
application = app.load_app(
    service.prepare_service(args=[], default_config_files=[os.environ["GNOCCHI_CONF"]])
)
"""


def _die_with_parent() -> None:
    """Child-side: get SIGTERM when the test process dies, so a killed
    pytest run leaves no server behind (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Daemon:
    """A server process started in its own session.

    gunicorn and metricd rename their processes and fork workers, so nothing
    is ever looked up by name: the whole process group (id = our child's pid)
    is signalled.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        log_path: str,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self._terminating = False
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # before exec: no lock can be held here
            )
        self.pgid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 6000) -> str:
        try:
            with open(self.log_path, errors="replace") as handle:
                return handle.read()[-chars:]
        except OSError:
            return ""

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)

    def terminate(self) -> None:
        # Once only: a second signal makes gunicorn restart its shutdown.
        if not self._terminating:
            self._terminating = True
            self._signal_group(self.stop_signal)

    def stop(self, timeout: float = 5) -> None:
        """Stop the group; SIGKILL what is still there after ``timeout``
        (a process caught mid-start can miss its stop signal)."""
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"{self.name} ignored {self.stop_signal.name}: killed\n")
            self._signal_group(signal.SIGKILL)
            self.process.wait(5)
        # Workers outlive a master killed hard; the group still names them.
        self._signal_group(signal.SIGKILL)


def stop_all(daemons: Iterable[Daemon]) -> None:
    """Stop several daemons at once (signal all, then wait for each)."""
    daemons = list(daemons)
    for daemon in daemons:
        daemon.terminate()
    for daemon in daemons:
        daemon.stop()


def wait_until(check: Any, what: str, timeout: float, daemons: Iterable[Daemon] = ()) -> None:
    """Poll ``check()`` until truthy; fail with the servers' logs otherwise."""
    deadline = time.monotonic() + timeout
    daemons = list(daemons)
    while True:
        try:
            if check():
                return
        except Exception:  # not ready yet, whatever the reason
            pass
        dead = [d for d in daemons if not d.alive()]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {d.name} log ---\n{d.log_tail()}" for d in daemons)
            state = f"{dead[0].name} exited" if dead else f"timeout after {timeout} s"
            raise RuntimeError(f"{what}: {state}\n{logs}")
        time.sleep(0.1)


def require_venv(venv: str, executables: Sequence[str], hint: str) -> None:
    missing = [e for e in executables if not os.access(os.path.join(venv, "bin", e), os.X_OK)]
    if missing:
        pytest.fail(f"{venv} lacks {', '.join(missing)}: {hint}", pytrace=False)


def _create_database(name: str) -> str:
    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{PG_SERVER}/{name}"


def _drop_database(name: str) -> None:
    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class GnocchiService:
    """A running Gnocchi and helpers to fill it (all through gnocchiclient)."""

    def __init__(self, url: str, workdir: str, database: str, startup_seconds: float) -> None:
        self.url = url
        self.user = "admin"  # basic auth: any name, empty password; "admin" is admin
        self.workdir = workdir
        self.database = database
        self.startup_seconds = startup_seconds
        self.client = self.make_client()

    def client_options(self) -> dict[str, str]:
        """Options of [collector_gnocchi] / [fetcher_gnocchi] reaching this Gnocchi."""
        return {
            "gnocchi_auth_type": "basic",
            "gnocchi_endpoint": self.url,
            "gnocchi_user": self.user,
        }

    def make_client(self, user: str | None = None) -> Any:
        from gnocchiclient import auth
        from gnocchiclient.v1 import client
        from keystoneauth1 import session

        plugin = auth.GnocchiBasicPlugin(user=user or self.user, endpoint=self.url)
        return client.Client(session=session.Session(auth=plugin))

    def create_archive_policy(
        self,
        name: str,
        granularity: int = 300,
        points: int = 8640,
        methods: Sequence[str] = ("mean", "sum", "max", "min", "last", "first", "count"),
    ) -> dict[str, Any]:
        """An archive policy with one granularity (seconds) and ``points`` slots."""
        return self.client.archive_policy.create(
            {
                "name": name,
                "back_window": 0,
                "definition": [{"granularity": f"{granularity}s", "points": points}],
                "aggregation_methods": list(methods),
            }
        )

    def create_resource_type(self, name: str, attributes: Mapping[str, str]) -> dict[str, Any]:
        """``attributes`` maps an attribute name to its type (string, number, uuid)."""
        attrs = {a: {"type": t, "required": False} for a, t in attributes.items()}
        return self.client.resource_type.create({"name": name, "attributes": attrs})

    def create_resource(
        self,
        resource_type: str,
        attributes: Mapping[str, Any],
        metrics: Mapping[str, str],
        started_at: datetime.datetime | None = None,
    ) -> dict[str, Any]:
        """A resource whose ``metrics`` map a metric name to an archive policy."""
        body = dict(attributes)
        body.setdefault("id", str(uuid.uuid4()))
        if started_at is not None:
            body["started_at"] = iso(started_at)
        body["metrics"] = {m: {"archive_policy_name": p} for m, p in metrics.items()}
        return self.client.resource.create(resource_type, body)

    def update_resource(
        self, resource_type: str, resource_id: str, attributes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change attributes; Gnocchi keeps the previous values as a revision."""
        return self.client.resource.update(resource_type, resource_id, dict(attributes))

    def add_measures(
        self,
        measures: Mapping[str, Mapping[str, Iterable[tuple[datetime.datetime, float]]]],
    ) -> None:
        """One batch call: ``{resource_id: {metric: [(timestamp, value), ...]}}``."""
        body = {
            rid: {
                metric: [{"timestamp": iso(ts), "value": value} for ts, value in points]
                for metric, points in per_metric.items()
            }
            for rid, per_metric in measures.items()
        }
        self.client.metric.batch_resources_metrics_measures(body)

    def backlog(self) -> int:
        return int(self.client.status.get()["storage"]["summary"]["measures"])

    def wait_processed(self, timeout: float = 120) -> None:
        """Block until metricd has aggregated every pushed measure."""
        wait_until(lambda: self.backlog() == 0, "metricd backlog", timeout)


def _write_config(workdir: str, db_url: str, port: int) -> str:
    path = os.path.join(workdir, "gnocchi.conf")
    with open(path, "w") as handle:
        handle.write(
            textwrap.dedent(
                f"""\
                [DEFAULT]
                debug = false
                [api]
                auth_mode = basic
                host = 127.0.0.1
                port = {port}
                [indexer]
                url = {db_url}
                [storage]
                driver = file
                file_basepath = {workdir}/storage
                [metricd]
                workers = 1
                metric_processing_delay = 1
                """
            )
        )
    return path


@contextlib.contextmanager
def running_gnocchi(venv: str = VENV) -> Iterator[GnocchiService]:
    """Start a private Gnocchi; yield a GnocchiService; stop and clean up."""
    require_venv(venv, ("gnocchi-upgrade", "gnocchi-metricd", "gunicorn"), INSTALL_HINT)
    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ck-gnocchi-")
    database = f"ck_gnocchi_{uuid.uuid4().hex[:10]}"
    daemons: list[Daemon] = []
    db_url = _create_database(database)
    try:
        port = free_port()
        config = _write_config(workdir, db_url, port)
        with open(os.path.join(workdir, "wsgi_app.py"), "w") as handle:
            handle.write(_WSGI_WRAPPER)
        env = {**os.environ, "GNOCCHI_CONF": config, "VIRTUAL_ENV": venv}
        env["PATH"] = f"{venv}/bin:{env.get('PATH', '')}"
        env.pop("PYTHONPATH", None)  # the test venv's packages must not leak in
        bin_dir = os.path.join(venv, "bin")
        upgrade = subprocess.run(
            [f"{bin_dir}/gnocchi-upgrade", "--config-file", config, "--sacks-number", "8"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if upgrade.returncode:
            raise RuntimeError(f"gnocchi-upgrade failed:\n{upgrade.stdout}{upgrade.stderr}")
        daemons.append(
            Daemon(
                "gnocchi-api",
                [
                    f"{bin_dir}/gunicorn",
                    "--no-control-socket",  # else all instances share ~/.gunicorn
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--chdir",
                    workdir,
                    "wsgi_app:application",
                ],
                cwd=workdir,
                env=env,
                log_path=os.path.join(workdir, "api.log"),
                # SIGTERM is gunicorn's graceful (2 s) stop; SIGQUIT is immediate.
                stop_signal=signal.SIGQUIT,
            )
        )
        daemons.append(
            Daemon(
                "gnocchi-metricd",
                [f"{bin_dir}/gnocchi-metricd", "--config-file", config],
                cwd=workdir,
                env=env,
                log_path=os.path.join(workdir, "metricd.log"),
            )
        )
        service = GnocchiService(f"http://127.0.0.1:{port}", workdir, database, 0.0)
        wait_until(lambda: service.client.status.get(), "gnocchi-api readiness", 90, daemons)
        service.startup_seconds = time.monotonic() - began
        yield service
    finally:
        stop_all(daemons)
        _drop_database(database)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def gnocchi_service() -> Iterator[GnocchiService]:
    """A Gnocchi shared by the whole test session (create what you need with
    unique names/ids: other tests use the same server)."""
    with running_gnocchi() as service:
        yield service
