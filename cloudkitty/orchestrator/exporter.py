"""The processor's Prometheus exporter: one ``/metrics`` for every worker.

cotyledon forks the workers, so each counts in its own memory. In
prometheus-client's multiprocess mode they write their figures to files in
one directory instead, and the exporter, a thread of the master process,
adds them up on every scrape. That mode is chosen when prometheus_client is
imported, so ``prepare()`` sets ``PROMETHEUS_MULTIPROC_DIR`` before anything
imports the telemetry module: ``cmd/processor.py`` imports the orchestrator
only after calling it.

This module imports prometheus_client lazily for the same reason.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socketserver
import sys
import tempfile
import threading
from collections.abc import Iterable
from typing import Any
from wsgiref import simple_server

from oslo_config import cfg
from oslo_log import log

LOG = log.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Files of gauges that only count while their process lives ("livemostrecent"...).
_LIVE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")


def _wipe(directory: str) -> None:
    """Remove the figures of a previous run: they would be added to ours."""
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.unlink(path)


def multiprocess_ready() -> bool:
    """False when prometheus_client was imported before the directory was set
    (its metrics then live in memory and no worker figure can be exported)."""
    values = sys.modules.get("prometheus_client.values")
    return values is None or bool(getattr(values.ValueClass, "_multiprocess", False))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to forget
    return True


class _WorkersCollector:
    """The sum of every worker's files; forgets the live gauges of workers that
    died (cotyledon respawns them with new pids), as the exposition would
    otherwise keep their last values forever."""

    def __init__(self, directory: str) -> None:
        from prometheus_client import multiprocess

        self.directory = directory
        self._multiprocess = multiprocess
        self._inner = multiprocess.MultiProcessCollector(None, path=directory)

    def collect(self) -> Iterable[Any]:
        for name in os.listdir(self.directory):
            match = _LIVE_FILE.match(name)
            if match and not _alive(int(match.group(1))):
                self._multiprocess.mark_process_dead(int(match.group(1)), self.directory)
        return self._inner.collect()


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("metrics exporter: %s %s", self.address_string(), format % args)


class Exporter:
    """Serves ``/metrics`` from the multiprocess directory on host:port."""

    def __init__(self, host: str, port: int, directory: str, owns_directory: bool) -> None:
        self.host = host
        self.port = port
        self.directory = directory
        self.owns_directory = owns_directory
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def app(self) -> Any:
        """The WSGI app: ``/metrics`` (and ``/``) answer, other paths are 404."""
        from prometheus_client import CollectorRegistry, make_wsgi_app

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_WorkersCollector(self.directory))
        metrics = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO", "/").rstrip("/") in ("", "/metrics"):
                return metrics(environ, start_response)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found: the processor's metrics are at /metrics\n"]

        return app

    def start(self) -> bool:
        """Listen in a daemon thread; a busy port is a warning, not a failure:
        rating matters more than its figures."""
        try:
            server = simple_server.make_server(
                self.host, self.port, self.app(), server_class=_Server, handler_class=_QuietHandler
            )
        except OSError as error:
            LOG.warning("Processor metrics exporter not started on %s: %s", self.url, error)
            return False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},  # how fast close() returns
            name="metrics-exporter",
            daemon=True,
        )
        self._thread.start()
        LOG.info("Processor metrics exported on %s (files in %s)", self.url, self.directory)
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def prepare(conf: cfg.ConfigOpts) -> Exporter | None:
    """Set up multiprocess mode when ``[orchestrator] metrics_port`` is set.

    Must run before the telemetry module is imported. Uses the operator's
    ``PROMETHEUS_MULTIPROC_DIR`` when given (its ``*.db`` files are wiped:
    figures restart with the processor, like any counter), else a private
    temporary directory removed on exit.
    """
    port = conf.orchestrator.metrics_port
    if not port:
        return None
    directory = os.environ.get(ENV)
    owns = not directory
    if directory:
        os.makedirs(directory, exist_ok=True)
        _wipe(directory)
    else:
        directory = tempfile.mkdtemp(prefix="cloudkitty-processor-metrics-")
    os.environ[ENV] = directory
    if not multiprocess_ready():
        LOG.warning(
            "prometheus_client was imported before %s was set: worker metrics cannot be "
            "exported; set %s in the environment of cloudkitty-processor",
            ENV,
            ENV,
        )
    return Exporter(conf.orchestrator.metrics_host, port, directory, owns)
