"""The metric definitions the devstack plugin installs are valid for their
collector (same checks as cloudkitty-processor at start-up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudkitty.collector import metrics
from cloudkitty.collector.gnocchi import GnocchiCollector
from cloudkitty.collector.prometheus import PrometheusCollector

FILES = Path(__file__).resolve().parents[3] / "devstack" / "files"


@pytest.mark.parametrize(
    ("name", "collector", "scope_key"),
    [
        ("metrics.yml", GnocchiCollector, "project_id"),
        ("prom_metrics.yml", PrometheusCollector, "tenant_id"),
    ],
)
def test_shipped_metrics_files_are_valid(name: str, collector: type, scope_key: str) -> None:
    definitions = metrics.load_metrics(
        str(FILES / name),
        scope_key=scope_key,
        extra_args=collector.EXTRA_ARGS,
        check=collector.check_definition,
    )
    assert {d.name for d in definitions.values()} >= {"instance", "image.size"}
