"""shellcheck on the devstack plugin and the CI install script we own.

tools/ci/install-shellcheck.sh installs the binary in CI (prepare.sh runs
every install-*.sh); the test is skipped only where shellcheck is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = (
    "devstack/plugin.sh",
    "devstack/settings",
    "tools/ci/install-shellcheck.sh",
)


@pytest.mark.skipif(
    shutil.which("shellcheck") is None,
    reason="shellcheck not found on PATH (tools/ci/install-shellcheck.sh installs it)",
)
def test_scripts_pass_shellcheck() -> None:
    result = subprocess.run(
        ["shellcheck", "--severity=style", *SCRIPTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
