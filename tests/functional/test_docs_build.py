"""The documentation and the release notes build with warnings as errors.

Same command as ``tox -e docs`` (and ``tox -e releasenotes``), into a
temporary directory. The configuration and policy references are generated
from the installed entry points, so a help text that is not valid
reStructuredText fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def sphinx_build(source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + [str(source), str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    result = sphinx_build(ROOT / "doc" / "source", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    configuration = (tmp_path / "configuration.html").read_text()
    # Generated from the options: a few that operators look for.
    for option in ("coordination_url", "metrics_conf", "scope_batch_size", "cpu_time_limit"):
        assert option in configuration, option
    assert "summary:get_summary" in (tmp_path / "policy.html").read_text()
    plugins = (tmp_path / "plugins.html").read_text()
    assert "cloudkitty.storage.base.StorageBackend" in plugins
    api = (tmp_path / "api.html").read_text()
    if not (ROOT / "doc" / "source" / "api" / "openapi.yaml").exists():
        assert "is not part of this build yet" in api


def test_api_page_includes_the_openapi_document(tmp_path: Path) -> None:
    # A copy of the sources with an OpenAPI file; etc/ is linked so the
    # policy page finds its generator configuration at the same place.
    source = tmp_path / "doc" / "source"
    shutil.copytree(ROOT / "doc" / "source", source)
    os.symlink(ROOT / "etc", tmp_path / "etc")
    (source / "api").mkdir(exist_ok=True)
    (source / "api" / "openapi.yaml").write_text(
        "openapi: 3.1.0\ninfo:\n  title: cloudkitty test marker\n  version: '1'\npaths: {}\n"
    )
    result = sphinx_build(source, tmp_path / "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cloudkitty test marker" in (tmp_path / "html" / "api.html").read_text()
    assert (tmp_path / "html" / "openapi.yaml").exists()


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="reno needs the git history")
def test_release_notes_lint_and_build(tmp_path: Path) -> None:
    lint = subprocess.run(
        [sys.executable, "-c", "import sys; from reno.main import main; sys.exit(main(['lint']))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    result = sphinx_build(ROOT / "releasenotes" / "source", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "unreleased.html").exists()
