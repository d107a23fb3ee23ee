"""A real Prometheus for functional tests, filled with historical samples.

``prometheus_server(openmetrics_text)`` backfills the samples with
``promtool tsdb create-blocks-from openmetrics`` into a temporary TSDB,
starts ``prometheus`` on 127.0.0.1 on a free port (retention 100y, so old
test data is never dropped), waits for ``/-/ready`` and stops it afterwards.
Install the binaries with ``tools/ci/install-prometheus.sh``.

Mind Prometheus 2.x (Debian 12 ships 2.42): range selectors are closed,
``[t-r, t]``, so put samples off period boundaries; and always query with an
explicit ``time=`` (historical data, 5-minute lookback for instant vectors).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

INSTALL_HINT = "run tools/ci/install-prometheus.sh"


class PrometheusUnavailable(RuntimeError):
    """The prometheus/promtool binaries are not installed."""


@dataclasses.dataclass(frozen=True)
class PrometheusServer:
    """A running server: ``url`` is the root, ``api_url`` ends with /api/v1."""

    url: str
    api_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


@dataclasses.dataclass(frozen=True)
class Series:
    """One time series: a metric name, its labels and (epoch seconds, value) samples."""

    name: str
    labels: Mapping[str, str]
    samples: tuple[tuple[int | float | str, int | float | str], ...]


def escape_label_value(value: str) -> str:
    """OpenMetrics label value escaping (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_openmetrics(series: Iterable[Series], kind: str = "gauge") -> str:
    """OpenMetrics text for promtool: families grouped, samples in time order,
    timestamps in seconds, terminated by ``# EOF``."""
    by_name: dict[str, list[Series]] = {}
    for item in series:
        by_name.setdefault(item.name, []).append(item)
    lines: list[str] = []
    for name in sorted(by_name):
        lines.append(f"# TYPE {name} {kind}")
        for item in by_name[name]:
            labels = ",".join(
                f'{k}="{escape_label_value(v)}"' for k, v in sorted(item.labels.items())
            )
            for stamp, value in sorted(item.samples, key=lambda s: float(s[0])):
                lines.append(f"{name}{{{labels}}} {value} {stamp}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def binaries() -> tuple[str, str]:
    """Paths of prometheus and promtool; PrometheusUnavailable otherwise."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise PrometheusUnavailable(f"prometheus/promtool not installed: {INSTALL_HINT}")
    return prometheus, promtool


def require_binaries() -> None:
    """Skip the test when Prometheus is missing, except in CI where it must be."""
    try:
        binaries()
    except PrometheusUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def prometheus_server(
    openmetrics: str | Path,
    *,
    workdir: str | os.PathLike[str] | None = None,
    ready_timeout: float = 30,
) -> Iterator[PrometheusServer]:
    """Backfill ``openmetrics`` (the text, or a file ending with ``# EOF``:
    a big workload need not be held in memory) and run Prometheus on it for
    the ``with`` block."""
    prometheus, promtool = binaries()
    with contextlib.ExitStack() as stack:
        base = (
            Path(workdir) if workdir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        )
        data_dir = base / "tsdb"
        if isinstance(openmetrics, Path):
            source = openmetrics
        else:
            source = base / "samples.om"
            if not openmetrics.rstrip().endswith("# EOF"):
                openmetrics = openmetrics.rstrip("\n") + "\n# EOF\n"
            source.write_text(openmetrics)
            del openmetrics  # written: not held while the server runs
        # Blocks must exist before the server starts: it only loads them at boot.
        subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        config = base / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        port = _free_port()
        log_path = base / "prometheus.log"
        log = stack.enter_context(open(log_path, "wb"))
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, process, log_path, ready_timeout)
            yield PrometheusServer(url, f"{url}/api/v1", data_dir, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{_log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus not ready after {timeout}s:\n{_log_tail(log)}")
