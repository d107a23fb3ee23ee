"""The processor's exporter: the sum of the workers' files, on one port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from cloudkitty.orchestrator import exporter
from tests.conftest import make_conf


@pytest.fixture
def no_env(monkeypatch):
    """PROMETHEUS_MULTIPROC_DIR unset now and restored afterwards."""
    monkeypatch.setenv(exporter.ENV, "placeholder")
    monkeypatch.delenv(exporter.ENV)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _conf(tmp_path, port):
    return make_conf(f"sqlite:///{tmp_path}/x.sqlite", orchestrator={"metrics_port": port})


def _write(directory, kind, pid, metric, name, value, labels=(), timestamp=0.0):
    values = tuple(v for _, v in labels)
    names = tuple(k for k, _ in labels)
    store = MmapedDict(os.path.join(directory, f"{kind}_{pid}.db"))
    store.write_value(mmap_key(metric, name, names, values, "help"), value, timestamp)
    store.close()


def _dead_pid() -> int:
    pid = 4_000_000  # above any pid_max Linux allows: never a live process
    assert not exporter._alive(pid)
    return pid


def test_disabled_by_default(tmp_path, no_env):
    conf = make_conf(f"sqlite:///{tmp_path}/x.sqlite")
    assert conf.orchestrator.metrics_port == 0
    assert exporter.prepare(conf) is None
    assert exporter.ENV not in os.environ


def test_private_directory_when_none_is_given(tmp_path, no_env, caplog):
    metrics = exporter.prepare(_conf(tmp_path, _free_port()))
    assert metrics is not None and metrics.owns_directory
    assert os.environ[exporter.ENV] == metrics.directory
    assert os.path.isdir(metrics.directory)
    # This test process imported prometheus_client long ago: it says so.
    assert not exporter.multiprocess_ready()
    assert "worker metrics cannot be exported" in caplog.text
    metrics.close()
    assert not os.path.exists(metrics.directory)


def test_the_operators_directory_is_wiped_of_old_figures_only(tmp_path, monkeypatch):
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"old")
    (directory / "README").write_text("not ours")
    monkeypatch.setenv(exporter.ENV, str(directory))
    metrics = exporter.prepare(_conf(tmp_path, _free_port()))
    assert metrics is not None and not metrics.owns_directory
    assert sorted(os.listdir(directory)) == ["README"]
    metrics.close()
    assert directory.exists()


def test_serves_the_sum_of_the_workers_and_forgets_dead_gauges(tmp_path, no_env):
    port = _free_port()
    metrics = exporter.prepare(_conf(tmp_path, port))
    directory = metrics.directory
    for pid, value in ((os.getpid(), 3.0), (_dead_pid(), 4.0)):
        _write(
            directory,
            "counter",
            pid,
            "cloudkitty_periods_rated",
            "cloudkitty_periods_rated_total",
            value,
        )
    lag = ("cloudkitty_scope_rating_lag_seconds",) * 2
    live = "gauge_livemostrecent"
    _write(directory, live, os.getpid(), *lag, 60.0, (("scope", "alive"),), timestamp=200.0)
    # Another live worker rated that scope earlier, when it lagged more: the
    # most recent figure wins (a maximum would show the stale 3600).
    _write(directory, live, os.getppid(), *lag, 3600.0, (("scope", "alive"),), timestamp=100.0)
    _write(directory, live, _dead_pid(), *lag, 7200.0, (("scope", "gone"),), timestamp=300.0)
    assert metrics.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        # Counters of dead workers still count: rated is rated.
        assert "cloudkitty_periods_rated_total 7.0" in text
        assert 'cloudkitty_scope_rating_lag_seconds{scope="alive"} 60.0' in text
        assert 'scope="gone"' not in text
        assert not os.path.exists(os.path.join(directory, f"{live}_{_dead_pid()}.db"))
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
        assert error.value.code == 404
    finally:
        metrics.close()


def test_a_busy_port_is_a_warning(tmp_path, no_env, caplog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        metrics = exporter.prepare(_conf(tmp_path, busy.getsockname()[1]))
        assert metrics.start() is False
    assert "exporter not started" in caplog.text
    metrics.close()


def test_the_processor_command_leaves_prometheus_client_unimported():
    # exporter.prepare() must run before prometheus_client picks where
    # metrics live; cmd/processor imports the orchestrator only after it.
    code = "import sys, cloudkitty.cmd.processor; print('prometheus_client' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
