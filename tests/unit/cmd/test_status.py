"""cloudkitty-status upgrade check: each check fails for the right reason."""

from __future__ import annotations

import subprocess
import sys

from cloudkitty.db import migrate


def _status(tmp_path, url: str, extra: str = "") -> subprocess.CompletedProcess:
    config = tmp_path / "cloudkitty.conf"
    config.write_text(f"[database]\nconnection = {url}\n{extra}")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudkitty.cmd.status",
            "--config-file",
            str(config),
            "upgrade",
            "check",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _text(result: subprocess.CompletedProcess) -> str:
    """The report without its table borders and line wrapping."""
    return " ".join(result.stdout.replace("|", " ").split())


def _metrics(tmp_path, text: str) -> str:
    path = tmp_path / "metrics.yml"
    path.write_text(text)
    return f"[collect]\ncollector = prometheus\nmetrics_conf = {path}\n"


GOOD_METRICS = "metrics:\n  cpu:\n    unit: instance\n"


def test_everything_in_order_passes(tmp_path):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    migrate.upgrade(url)
    result = _status(tmp_path, url, _metrics(tmp_path, GOOD_METRICS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Database schema at" in _text(result)


def test_unmigrated_database_fails(tmp_path):
    result = _status(
        tmp_path, f"sqlite:///{tmp_path}/empty.sqlite", _metrics(tmp_path, GOOD_METRICS)
    )
    assert result.returncode == 2
    assert "Database schema is at None" in _text(result)
    assert "dbsync upgrade" in _text(result)


def test_invalid_metrics_file_fails_naming_the_key(tmp_path):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    migrate.upgrade(url)
    bad = "metrics:\n  cpu:\n    unit: instance\n    mutate: SOMETIMES\n"
    result = _status(tmp_path, url, _metrics(tmp_path, bad))
    assert result.returncode == 2
    assert "mutate" in _text(result) and "cpu" in _text(result)


def test_invalid_policy_file_fails(tmp_path):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    migrate.upgrade(url)
    policy = tmp_path / "policy.yaml"
    policy.write_text("rating:list_modules: [unclosed\n")
    extra = _metrics(tmp_path, GOOD_METRICS) + f"[oslo_policy]\npolicy_file = {policy}\n"
    result = _status(tmp_path, url, extra)
    assert result.returncode == 2
    assert "Policy file invalid" in _text(result)
