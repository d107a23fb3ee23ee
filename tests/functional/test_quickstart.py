"""``tools/quickstart`` end to end, in a fresh copy of the checkout.

The README's first command builds its own virtualenv, rates the sample
month and serves it. This test runs it as a user would, on free ports, and
checks that the printed summary equals what ``quickstart_oracle`` computes
from the generated usage and the price book with plain Decimal arithmetic,
that the API, its ``/metrics`` and the processor's exporter answer while it
serves, that Ctrl-C stops everything, and that a second run rates nothing
twice and creates no rule twice.
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from tests.functional import quickstart_oracle
from tests.functional.services.api_server import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIRST_RUN_TIMEOUT = 420  # a cold pip install is most of it
SERVING = "Press Ctrl-C to stop."


def _checkout_files() -> list[str]:
    """Tracked and new files, as a fresh clone with the current edits would have."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]
    skip = {".git", ".quickstart", ".tox", "build", "__pycache__", ".venv"}
    return [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file() and not skip & set(path.relative_to(ROOT).parts)
    ]


def _copy_checkout(dest: Path) -> Path:
    for name in _checkout_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return dest


def _env(api_port: int, metrics_port: int, **extra: str) -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PROMETHEUS_MULTIPROC_DIR")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("OS_")}
    env.update(
        CK_QUICKSTART_PORT=str(api_port), CK_QUICKSTART_METRICS_PORT=str(metrics_port), **extra
    )
    return env


class Running:
    """The quickstart in the background; its output read line by line."""

    def __init__(self, script: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(script)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait()
                pytest.fail(f"quickstart exited ({self.process.returncode}):\n{self.output}")
            self.lines.append(line)
            if text in line:
                return
        pytest.fail(f"no {text!r} within {timeout} s:\n{self.output}")

    def drain(self) -> None:
        while True:
            line = self._queue.get(timeout=30)
            if line is None:
                return
            self.lines.append(line)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.drain()
        return code


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _check_summary(copy: Path, output: str) -> dict:
    """summary.json is exact and equals the oracle; the printed table rounds it."""
    qs = copy / ".quickstart"
    document = json.loads((qs / "summary.json").read_text())
    assert document["rated_until"], output
    begin = datetime.datetime.fromisoformat(document["begin"])
    until = datetime.datetime.fromisoformat(document["rated_until"])
    samples = copy / "cloudkitty" / "samples"
    expected = quickstart_oracle.expected_summary(
        qs / "usage" / "usage.om",
        samples / "metrics.yml",
        samples / "pricebook.yml",
        begin,
        until,
    )
    assert set(document["projects"]) == {p for p, e in expected.items() if e["qty"]}
    total = Decimal(0)
    for project_id, got in document["projects"].items():
        want = expected[project_id]
        assert Decimal(got["price"]) == want["price"], got["name"]
        assert {k: Decimal(v) for k, v in got["qty"].items()} == dict(want["qty"]), got["name"]
        total += want["price"]
        # The printed row ends with the price, rounded half to even to cents.
        row = [line for line in output.splitlines() if line.split()[:1] == [got["name"]]]
        assert row and row[-1].split()[-1] == f"{want['price']:,.2f}", output
    assert Decimal(document["price"]) == total
    total_rows = [line for line in output.splitlines() if line.startswith("total ")]
    assert total_rows and total_rows[-1].split()[-1] == f"{total:,.2f}"
    return document


def _check_database(copy: Path) -> None:
    with sqlite3.connect(copy / ".quickstart" / "cloudkitty.sqlite") as db:
        counts = {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("hashmap_services", "hashmap_mappings", "hashmap_thresholds")
        }
        assert counts == {"hashmap_services": 5, "hashmap_mappings": 12, "hashmap_thresholds": 1}
        twice = db.execute(
            "SELECT series_id, begin FROM rated_points GROUP BY series_id, begin "
            "HAVING COUNT(*) > 1"
        ).fetchall()
        assert twice == []


def _check_serving(copy: Path, api_port: int, metrics_port: int) -> None:
    api = f"http://127.0.0.1:{api_port}"
    assert _get(f"{api}/healthcheck")[0] == 200
    # The CLI the quickstart advertises, from its virtualenv.
    cli = copy / ".quickstart" / "venv" / "bin" / "cloudkitty"
    env = _env(api_port, metrics_port, OS_AUTH_TYPE="cloudkitty-noauth", OS_ENDPOINT=api)
    listed = subprocess.run(
        [str(cli), "hashmap", "service", "list", "-f", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert {s["Name"] for s in json.loads(listed.stdout)} == {
        "instance",
        "volume",
        "image",
        "floating_ip",
        "network_out",
    }
    status, text = _get(f"{api}/metrics")
    assert status == 200
    measured = (
        'cloudkitty_api_request_duration_seconds_count{method="GET",'
        'route="/v1/rating/module_config/hashmap/services",status="200"} '
    )
    assert measured in text, text
    status, text = _get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert status == 200
    for name in (
        "cloudkitty_periods_rated_total",
        "cloudkitty_points_rated_total",
        "cloudkitty_collect_seconds_count",
    ):
        assert f"\n{name} " in text, text


def test_quickstart_rates_serves_stops_and_reruns(tmp_path):
    copy = _copy_checkout(tmp_path / "checkout")
    script = copy / "tools" / "quickstart"
    api_port, metrics_port = free_port(), free_port()
    began = time.monotonic()

    running = Running(script, _env(api_port, metrics_port))
    try:
        running.wait_for(SERVING, FIRST_RUN_TIMEOUT)
        first_run = time.monotonic() - began
        output = running.output
        assert "Installing cloudkitty and python-cloudkittyclient" in output
        assert "13 rules created, 0 already present; hashmap enabled" in output
        assert f"export OS_AUTH_TYPE=cloudkitty-noauth OS_ENDPOINT=http://127.0.0.1:{api_port}" in (
            output
        )
        _check_summary(copy, output)
        _check_serving(copy, api_port, metrics_port)
    finally:
        code = running.stop()
    assert code == 0, running.output
    assert "Stopping the API and the processor" in running.output
    deadline = time.monotonic() + 10
    while (_listening(api_port) or _listening(metrics_port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _listening(api_port) and not _listening(metrics_port)

    again = subprocess.run(
        [str(script)],
        env=_env(api_port, metrics_port, CK_QUICKSTART_NO_SERVE="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "cloudkitty is up to date" in again.stdout
    assert "0 rules created, 13 already present" in again.stdout
    assert "Serving" not in again.stdout
    _check_summary(copy, again.stdout)
    _check_database(copy)
    print(f"first run until serving: {first_run:.0f} s", file=sys.stderr)
