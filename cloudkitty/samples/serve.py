"""Serve the quickstart: ``cloudkitty-api`` and ``cloudkitty-processor`` as
child processes until Ctrl-C, with the usage file extended every hour.

The children run in their own sessions, so Ctrl-C reaches this process only
and it stops them in order; they also receive SIGTERM if it dies (Linux),
so no server outlives the quickstart and keeps its port.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, TextIO

from cloudkitty.samples import generate_usage, quickstart
from cloudkitty.utils import tz

#: Seconds after the hour at which the usage file gains the new hour.
REFRESH_DELAY = 30
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when the quickstart dies (preexec_fn)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: Ctrl-C still stops the children


def _command(script: str, module: str) -> list[str]:
    path = os.path.join(os.path.dirname(sys.executable), script)
    return [path] if os.path.exists(path) else [sys.executable, "-m", module]


class Child:
    """One server process, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: str, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as stream:
                return "".join(stream.readlines()[-lines:])
        except OSError:
            return ""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(child: Child, url: str, out: TextIO) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if _answers(url):
            return True
        if not child.alive():
            print(f"{child.name} exited; the end of {child.log_path}:", file=out)
            print(child.tail(), file=out)
            return False
        time.sleep(0.2)
    print(f"{child.name} did not answer on {url} within {READY_TIMEOUT:.0f} s", file=out)
    return False


class _Stop(Exception):
    """SIGTERM or SIGHUP: stop like Ctrl-C."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    # A shell starting us in the background ignores SIGINT; Ctrl-C must still work.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _next_refresh(now: datetime.datetime) -> datetime.datetime:
    return tz.align(now, 3600) + datetime.timedelta(hours=1, seconds=REFRESH_DELAY)


def run(workdir: str, *, seed: str, out: TextIO) -> int:
    """Start both servers, print where they answer, run until stopped."""
    conf = quickstart.load_conf(workdir)
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs, exist_ok=True)
    config = os.path.join(workdir, quickstart.CONFIG)
    api_env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    # The processor's workers share their figures through this directory.
    processor_env = dict(api_env, PROMETHEUS_MULTIPROC_DIR=os.path.join(workdir, "prometheus"))
    api_url = f"http://{conf.api.host}:{conf.api.port}"
    metrics_port = conf.orchestrator.metrics_port
    exporter_url = f"http://{conf.orchestrator.metrics_host}:{metrics_port}/metrics"
    usage_path = conf.collector_file.paths[0]
    usage_format = "csv" if conf.collector_file.format == "csv" else "openmetrics"

    children: list[Child] = []
    with _stop_signals():
        try:
            api = Child(
                "cloudkitty-api",
                [*_command("cloudkitty-api", "cloudkitty.cmd.api"), "--config-file", config],
                os.path.join(logs, "api.log"),
                api_env,
            )
            children.append(api)
            processor = Child(
                "cloudkitty-processor",
                [
                    *_command("cloudkitty-processor", "cloudkitty.cmd.processor"),
                    "--config-file",
                    config,
                ],
                os.path.join(logs, "processor.log"),
                processor_env,
            )
            children.append(processor)
            if not _wait_ready(api, f"{api_url}/healthcheck", out):
                return 1
            if metrics_port and not _wait_ready(processor, exporter_url, out):
                return 1
            print(f"API         {api_url}  (/healthcheck, /metrics)  log: {api.log_path}", file=out)
            if metrics_port:
                print(f"Processor   {exporter_url}  log: {processor.log_path}", file=out)
            print("Serving; new hours are rated as they end. Press Ctrl-C to stop.", file=out)
            out.flush()
            refresh_at = _next_refresh(tz.utcnow())
            while True:
                for child in children:
                    if not child.alive():
                        print(f"{child.name} stopped; the end of {child.log_path}:", file=out)
                        print(child.tail(), file=out)
                        return 1
                now = tz.utcnow()
                if now >= refresh_at:
                    window, _ = generate_usage.generate_file(
                        usage_path, fmt=usage_format, seed=seed, now=now
                    )
                    print(f"{now:%H:%M} usage extended to {window.last:%H:%M} UTC", file=out)
                    out.flush()
                    refresh_at = _next_refresh(now)
                time.sleep(1)
        except (KeyboardInterrupt, _Stop):
            print("\nStopping the API and the processor...", file=out)
            return 0
        finally:
            for child in reversed(children):
                child.stop()
