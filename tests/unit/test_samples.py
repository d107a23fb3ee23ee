"""The checked-in config and policy samples match what the generators produce.

Regenerate with ``tox -e genconfig`` and ``tox -e genpolicy``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _generate(tool: str, generator_conf: str, output: str) -> str:
    bindir = os.path.dirname(sys.executable)
    subprocess.run(
        [os.path.join(bindir, tool), "--config-file", generator_conf, "--output-file", output],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    with open(output) as handle:
        return handle.read()


@pytest.mark.parametrize(
    ("tool", "generator_conf", "sample"),
    [
        (
            "oslo-config-generator",
            "etc/oslo-config-generator/cloudkitty.conf",
            "etc/cloudkitty/cloudkitty.conf.sample",
        ),
        (
            "oslopolicy-sample-generator",
            "etc/oslo-policy-generator/cloudkitty.conf",
            "etc/cloudkitty/policy.yaml.sample",
        ),
    ],
)
def test_sample_is_up_to_date(tmp_path, tool, generator_conf, sample):
    generated = _generate(tool, generator_conf, str(tmp_path / "generated"))
    with open(os.path.join(ROOT, sample)) as handle:
        checked_in = handle.read()
    assert generated == checked_in, f"{sample} is stale: run tox -e genconfig / genpolicy"
