"""Acceptance: configuration mistakes, unreachable sources and bad data.

* A malformed metrics.yml or an unknown collector stops ``cloudkitty-processor``
  before any worker starts, with exit status 2 and ONE line naming the file,
  metric and key (or the collector), never a traceback.
* An unreachable source does not stop the processor: each scope logs the
  error once, with its cause, and shows it in its state while the period
  is retried.
* A quantity that is not a number, NaN, infinite, or negative (for a metric
  without ``allow_negative``) never reaches storage: the scope logs why,
  shows the error, keeps its period (retried with backoff, rated once the
  data is fixed) while the other scopes go on being rated.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cloudkittyclient import client as ck_client
from cloudkittyclient.auth import CloudKittyNoAuthPlugin

from tests.functional import processor_support as ps
from tests.functional.services.api_server import free_port, running_api
from tests.functional.services.prometheus import Series

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def work() -> Iterator[Path]:
    with ps.workdir() as path:
        yield path


@pytest.fixture
def pg_url(work: Path) -> Iterator[str]:
    with ps.database("postgresql", str(work)) as url:
        yield url


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " ERROR " in line or "error:" in line]


def assert_one_clear_message(result, *fragments: str) -> None:
    """Exit 2; stderr is the one line naming the problem; stdout holds the
    same as one ERROR log line; no traceback anywhere."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cloudkitty-processor: configuration error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert len(error_lines(result.stdout)) == 1, result.stdout


# -- configuration errors ------------------------------------------------------------

BAD_METRICS = {
    "missing-unit": (
        "metrics:\n  cpu:\n    alt_name: instance\n    groupby: [instance_id]\n",
        ["metric 'cpu'", "key 'unit'", "required"],
    ),
    "bad-extra-arg": (
        "metrics:\n  volume_size:\n    unit: GiB\n    extra_args: {aggregation_method: median}\n",
        ["metric 'volume_size'", "extra_args.aggregation_method", "'median'"],
    ),
    "not-yaml": (
        "metrics:\n  cpu: {unit: instance\n  ram: [\n",
        ["invalid YAML"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_METRICS))
def test_malformed_metrics_yml_gives_one_clear_message(case: str, pg_url: str, work: Path):
    text, fragments = BAD_METRICS[case]
    metrics = work / "metrics.yml"
    metrics.write_text(text)
    config = ps.write_config(
        work / "cloudkitty.conf",
        pg_url,
        scopes=["p1"],
        collector="file",
        metrics_conf=metrics,
        groups={"collector_file": {"paths": str(work / "usage.om")}},
    )
    result = ps.run_once(config)
    assert_one_clear_message(result, str(metrics), *fragments)
    assert ps.states(pg_url, "file") == {}  # nothing ran


def test_unknown_collector_gives_one_clear_message(pg_url: str, work: Path):
    metrics = work / "metrics.yml"
    metrics.write_text(ps.METRICS_YML)
    config = ps.write_config(
        work / "cloudkitty.conf", pg_url, scopes=["p1"], collector="gnochi", metrics_conf=metrics
    )
    result = ps.run_once(config)
    assert_one_clear_message(result, "unknown collector 'gnochi'", "installed:", "prometheus")


# -- an unreachable source -------------------------------------------------------------


def test_unreachable_source_is_logged_once_per_scope_and_shown_in_state(pg_url: str, work: Path):
    """Prometheus URL on a port nobody listens on. Two scopes have a state
    (a recent period is due), one is new (starts at the month start)."""
    seeded = ["down-a", "down-b"]
    scopes = [*seeded, "down-new"]
    metrics = work / "metrics.yml"
    metrics.write_text(ps.METRICS_YML)
    port = ps.free_port()
    config = ps.write_config(
        work / "cloudkitty.conf",
        pg_url,
        scopes=scopes,
        collector="prometheus",
        metrics_conf=metrics,
        groups={"collector_prometheus": {"prometheus_url": f"http://127.0.0.1:{port}/api/v1"}},
    )
    ps.seed_states(pg_url, seeded, ps.recent_start(2), collector="prometheus")
    began = time.monotonic()
    with ps.running(config, work / "processor.log") as processor:
        # Retried (1 s backoff at most here), so the count goes up...
        ps.wait_for(
            lambda: (
                len(ps.states(pg_url, "prometheus")) == 3
                and all(s.error_count >= 3 for s in ps.states(pg_url, "prometheus").values())
            ),
            "three failed attempts per scope",
            30,
            [processor],
        )
        assert processor.alive()  # ...and the processor keeps running
    elapsed = time.monotonic() - began
    log = processor.log()
    for scope in scopes:
        lines = [line for line in log.splitlines() if f"Scope {scope}, period " in line]
        assert len(lines) == 1, lines  # once, not once per retry
        assert "unreachable" in lines[0] and "Connection refused" in lines[0], lines[0]
        assert "Traceback" not in log
    for state in ps.states(pg_url, "prometheus").values():
        assert f"127.0.0.1:{port}" in state.last_error and "Connection refused" in state.last_error
        assert state.error_count <= elapsed + 2  # retried with a backoff, not in a loop
    new = ps.states(pg_url, "prometheus")["down-new"]
    month = datetime.datetime.now(ps.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # The new scope keeps its first period (month start): state = the one before.
    assert new.last_processed_timestamp == month - HOUR
    assert ps.stored_totals(pg_url) == {}


# -- bad quantities --------------------------------------------------------------------

GOOD = ["bad-ok1", "bad-ok2"]
BAD = {
    "bad-nan": ("instance_up", "NaN", "not a finite number"),
    "bad-inf": ("instance_up", "+Inf", "not a finite number"),
    "bad-text": ("instance_up", "lots", "not a finite number"),
    "bad-negative": ("volume_size", "-5", "negative quantity"),
}
BAD_PERIOD = 2  # index of the period holding the bad values


def bad_series(load: ps.Workload, values: dict[str, tuple[str, str, str]]) -> list[Series]:
    """One extra series per bad scope with a single bad sample in BAD_PERIOD."""
    stamp = int((load.start + BAD_PERIOD * HOUR).timestamp()) + 1234
    series = []
    for scope, (metric, value, _) in values.items():
        if metric == "instance_up":
            labels = {"project_id": scope, "instance_id": f"{scope}-bad", "flavor_name": "m1.small"}
        else:
            labels = {"project_id": scope, "volume_id": f"{scope}-bad", "volume_type": "ssd"}
        series.append(Series(metric, labels, ((stamp, value),)))
    return series


def test_bad_quantities_never_reach_storage_and_the_period_is_kept(pg_url: str, work: Path):
    periods = 5
    scopes = [*GOOD, *BAD]
    load = ps.generate(scopes, ps.recent_start(periods), periods, seed=5)
    metrics = work / "metrics.yml"
    metrics.write_text(ps.METRICS_YML)
    metrics_port = free_port()
    usage = work / "usage.om"
    bad_load = ps.Workload(
        load.scopes, load.start, periods, load.series + bad_series(load, BAD), []
    )
    bad_load.write_file(usage)
    config = ps.write_config(
        work / "cloudkitty.conf",
        pg_url,
        scopes=scopes,
        collector="file",
        metrics_conf=metrics,
        groups={
            "collector_file": {"paths": str(usage)},
            "orchestrator": {"metrics_port": metrics_port, "metrics_host": "127.0.0.1"},
        },
    )
    ps.seed_states(pg_url, scopes, load.previous, collector="file")
    ps.create_rules(pg_url, tenant=GOOD[0])
    stuck_at = load.start + (BAD_PERIOD - 1) * HOUR  # the last good period
    last = load.end - HOUR

    def settled() -> bool:
        found = ps.states(pg_url, "file")
        return all(found[s].last_processed_timestamp >= last for s in GOOD) and all(
            found[s].error_count >= 2 for s in BAD
        )

    with ps.running(config, work / "processor.log") as processor:
        ps.wait_for(settled, "good scopes rated, bad ones retried", 60, [processor])
        found = ps.states(pg_url, "file")
        for scope, (_, value, reason) in BAD.items():
            # The period is kept (not skipped) and the state says why.
            assert found[scope].last_processed_timestamp == stuck_at, scope
            assert reason in found[scope].last_error and value in found[scope].last_error
        for scope in GOOD:
            assert found[scope].last_error is None
        # Nothing bad stored: the bad scopes have their good periods only.
        want = {
            key: value
            for key, value in load.totals().items()
            if key[0] in GOOD or key[1] <= stuck_at
        }
        assert ps.stored_totals(pg_url) == ps.normalized(want)
        log = processor.log()
        for scope, (_, value, reason) in BAD.items():
            lines = [line for line in log.splitlines() if f"Scope {scope}, period " in line]
            assert len(lines) == 1, lines  # logged once, with the reason
            assert reason in lines[0] and value in lines[0], lines[0]
        # The error is in the scope's state as the API serves it (the
        # real client) and in the processor's metrics.
        with running_api(pg_url, migrate_db=False) as endpoint:
            client = ck_client.Client("2", auth=CloudKittyNoAuthPlugin(endpoint=endpoint))
            served = {row["scope_id"]: row for row in client.scope.get_scope_state()["results"]}
        gauges = scope_error_gauges(metrics_port)
        for scope, (_, _, reason) in BAD.items():
            assert reason in served[scope]["last_error"] and served[scope]["error_count"] >= 2
            assert gauges[scope] >= 2, gauges
        for scope in GOOD:
            assert served[scope]["last_error"] is None and gauges[scope] == 0, gauges

        # The source corrects its data: the kept period is rated, then the rest.
        load.write_file(usage)
        ps.wait_for(
            lambda: all(
                s.last_processed_timestamp >= last for s in ps.states(pg_url, "file").values()
            ),
            "bad scopes rated after the fix",
            30,
            [processor],
        )
    assert ps.stored_totals(pg_url) == ps.normalized(load.totals())
    for state in ps.states(pg_url, "file").values():
        assert state.last_error is None


def scope_error_gauges(port: int) -> dict[str, float]:
    """``cloudkitty_scope_consecutive_errors`` per scope, scraped from the
    processor's exporter."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    pattern = re.compile(r'^cloudkitty_scope_consecutive_errors\{scope="([^"]+)"\} (\S+)$', re.M)
    return {scope: float(value) for scope, value in pattern.findall(text)}


def test_prometheus_nan_inf_and_negative_samples_are_rejected(work: Path):
    """The same through a real Prometheus, which stores NaN and +/-Inf
    samples and answers "NaN"/"+Inf"; the worker (clock after the workload)
    rates the good scope entirely and keeps each bad scope at its bad period."""
    periods = 4
    bad = {
        "prom-nan": ("instance_up", "NaN", "not a finite number"),
        "prom-inf": ("instance_up", "+Inf", "not a finite number"),
        "prom-minus-inf": ("volume_size", "-Inf", "not a finite number"),
        "prom-negative": ("volume_size", "-5", "negative quantity"),
    }
    scopes = ["prom-ok", *bad]
    load = ps.generate(scopes, datetime.datetime(2024, 3, 1, tzinfo=ps.UTC), periods, seed=8)
    series = load.series + bad_series(load, bad)
    openmetrics = ps.Workload(scopes, load.start, periods, series, []).openmetrics()
    with (
        ps.database("postgresql", str(work)) as url,
        ps.prometheus(openmetrics, work / "prom") as prom,
    ):
        metrics = work / "metrics.yml"
        metrics.write_text(ps.METRICS_YML)
        config = ps.write_config(
            work / "cloudkitty.conf",
            url,
            scopes=scopes,
            collector="prometheus",
            metrics_conf=metrics,
            groups={"collector_prometheus": {"prometheus_url": prom.api_url}},
        )
        ps.seed_states(url, scopes, load.previous, collector="prometheus")
        ps.create_rules(url, tenant="prom-ok")
        ps.run_worker(ps.conf_from_file(config), clock=load.end + datetime.timedelta(minutes=1))
        found = ps.states(url, "prometheus")
        stuck_at = load.start + (BAD_PERIOD - 1) * HOUR
        assert found["prom-ok"].last_processed_timestamp == load.end - HOUR
        for scope, (_, value, reason) in bad.items():
            assert found[scope].last_processed_timestamp == stuck_at, scope
            error = found[scope].last_error
            assert reason in error and re.search(re.escape(value.lstrip("+")), error), error
        want = {
            key: value
            for key, value in load.totals().items()
            if key[0] == "prom-ok" or key[1] <= stuck_at
        }
        stored = ps.stored_totals(url)
        assert stored == ps.normalized(want)
        assert all(q.is_finite() and p.is_finite() for _, q, p in stored.values())
        assert all(q >= 0 for _, q, _ in stored.values()) and Decimal(0) <= min(
            p for _, _, p in stored.values()
        )
