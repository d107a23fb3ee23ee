"""cloudkitty-storage-init on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from cloudkitty.cmd import storage_init
from cloudkitty.db import migrate


@pytest.fixture
def conf_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(url: str, backend: str = "sqlalchemy") -> str:
        path = tmp_path / "cloudkitty.conf"
        path.write_text(f"[database]\nconnection = {url}\n[storage]\nbackend = {backend}\n")
        return str(path)

    yield write
    cfg.CONF.reset()
    cfg.CONF.clear()


def test_migrates_then_is_idempotent(
    tmp_path: Path, conf_file, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    path = conf_file(url)
    assert storage_init.main(["--config-file", path]) == 0
    out = capsys.readouterr().out
    assert f"upgraded from empty to {migrate.head_revision()}" in out
    assert "storage backend 'sqlalchemy' ready" in out
    assert storage_init.main(["--config-file", path]) == 0
    assert "already at revision" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "backend", "expected"),
    [
        ("nonsense://x", "sqlalchemy", "cannot use database nonsense://x:"),
        ("not a url", "sqlalchemy", "cannot use database <unparsable URL>"),
        ("sqlite:////nonexistent-dir/x.sqlite", "sqlalchemy", "unable to open database file"),
        ("sqlite:///{tmp}/x.sqlite", "influxdb", "unknown storage backend 'influxdb'"),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path,
    conf_file,
    capsys: pytest.CaptureFixture[str],
    url: str,
    backend: str,
    expected: str,
) -> None:
    path = conf_file(url.format(tmp=tmp_path), backend)
    assert storage_init.main(["--config-file", path]) == 1
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
