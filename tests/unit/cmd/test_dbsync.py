"""cloudkitty-dbsync on a SQLite file: upgrade, version, stamp, bad URL."""

from __future__ import annotations

from cloudkitty.cmd import dbsync
from cloudkitty.db import migrate


def _config(tmp_path, url: str) -> str:
    path = tmp_path / "cloudkitty.conf"
    path.write_text(f"[database]\nconnection = {url}\n")
    return str(path)


def test_upgrade_then_version(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    config = _config(tmp_path, url)
    assert dbsync.main(["--config-file", config, "upgrade"]) == 0
    assert migrate.current_revision(url) == migrate.head_revision()
    assert dbsync.main(["--config-file", config, "version", "--module", "hashmap"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == migrate.head_revision()


def test_stamp_base_then_upgrade_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path}/ck.sqlite"
    config = _config(tmp_path, url)
    assert dbsync.main(["--config-file", config, "upgrade"]) == 0
    assert dbsync.main(["--config-file", config, "upgrade"]) == 0
    assert migrate.current_revision(url) == migrate.head_revision()


def test_unreachable_database_gives_one_clear_line(tmp_path, capsys):
    config = _config(tmp_path, f"sqlite:///{tmp_path}/missing-dir/x/ck.sqlite")
    assert dbsync.main(["--config-file", config, "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "database error on [database] connection" in err
    assert "Traceback" not in err
