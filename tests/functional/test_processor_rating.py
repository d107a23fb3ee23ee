"""Acceptance: the real processing worker rates a generated workload exactly.

Sources are real: a Prometheus 2.42 backfilled with promtool, and a Gnocchi
4.7 (API + metricd). The worker is the one ``cloudkitty-processor`` runs,
built by ``build_deps`` from a real config file, with hashmap rules created
in the database; only its clock is fixed (right after the workload), so a
sweep rates exactly the workload's periods and stops.

Every stored point (scope, period, resource) must carry the quantity AND the
price computed here from the generated samples by ``processor_support``
(an oracle that shares no code with the collectors or the hashmap engine),
as exact Decimals. Runs on PostgreSQL, SQLite and MariaDB.
"""

from __future__ import annotations

import contextlib
import datetime
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests import conftest
from tests.functional import processor_support as ps

pytest_plugins = ["tests.functional.services.gnocchi"]

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, str]]:
    """One migrated ``ck_proc_*`` database per backend, created on first use."""
    scratch = contextlib.ExitStack()
    tmp_dir = str(scratch.enter_context(ps.workdir()))
    created: dict[str, str] = {}

    class _Lazy(dict):
        def __missing__(self, backend: str) -> str:
            url = self[backend] = created[backend] = ps.new_database(backend, tmp_dir)
            return url

    yield _Lazy()
    for url in created.values():
        conftest.drop_database(url)
    scratch.close()


@pytest.fixture
def work() -> Iterator[Path]:
    with ps.workdir() as path:
        yield path


@pytest.fixture(params=conftest.BACKENDS)
def db_url(request: pytest.FixtureRequest, databases: dict[str, str]) -> str:
    url = databases[request.param]
    conftest.truncate_all(url)
    return url


def assert_points_equal(stored: list[ps.Point], expected: list[ps.Point]) -> None:
    """Same points, same quantities and prices, digit for digit."""
    got = {ps.point_key(p): (p.qty, p.price) for p in stored}
    want = {ps.point_key(p): (p.qty, p.price) for p in expected}
    assert len(got) == len(stored), "a point was stored twice"
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:5]}, unexpected {extra[:5]}"
    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not wrong, f"{len(wrong)} points differ (got, want): {list(wrong.items())[:5]}"
    for qty, price in got.values():
        assert isinstance(qty, Decimal) and isinstance(price, Decimal)
    # Digit for digit: the normalized texts agree too (no float ever crept in).
    assert sorted(
        (k, str(q.normalize()), str(p.normalize())) for k, (q, p) in got.items()
    ) == sorted((k, str(q.normalize()), str(p.normalize())) for k, (q, p) in want.items())


def assert_caught_up(db_url: str, collector: str, scopes: list[str], last: datetime.datetime):
    for scope, state in ps.states(db_url, collector).items():
        assert scope in scopes
        assert state.last_processed_timestamp == last, scope
        assert state.last_error is None and state.error_count == 0, state.last_error
    assert sorted(ps.states(db_url, collector)) == sorted(scopes)


# -- Prometheus --------------------------------------------------------------------

PROM_SCOPES = ["p-alpha", "p-beta", "p-gamma", "p-delta"]
PROM_STRANGER = "p-not-rated"  # in Prometheus, not in the fetcher's list
PROM_START = datetime.datetime(2024, 1, 1, tzinfo=UTC)
PROM_HOURS = 5


@pytest.fixture(scope="module")
def prom_workload() -> ps.Workload:
    return ps.generate(
        [*PROM_SCOPES, PROM_STRANGER],
        PROM_START,
        PROM_HOURS,
        seed=424242,
        tenant=PROM_SCOPES[0],
        instances=(2, 4),
    )


@pytest.fixture(scope="module")
def prom(prom_workload: ps.Workload):
    with ps.workdir() as path, ps.prometheus(prom_workload.openmetrics(), path) as server:
        yield server


def test_prometheus_workload_is_rated_exactly(db_url, prom, prom_workload, work: Path):
    metrics = work / "metrics.yml"
    metrics.write_text(ps.METRICS_YML)
    config = ps.write_config(
        work / "cloudkitty.conf",
        db_url,
        scopes=PROM_SCOPES,
        collector="prometheus",
        metrics_conf=metrics,
        groups={"collector_prometheus": {"prometheus_url": prom.api_url}},
    )
    ps.seed_states(db_url, PROM_SCOPES, prom_workload.previous, collector="prometheus")
    ps.create_rules(db_url, tenant=PROM_SCOPES[0])

    # A fixed clock just after the workload: the sweep rates every period, then stops.
    ps.run_worker(ps.conf_from_file(config), clock=prom_workload.end + MINUTE)

    expected = [p for p in prom_workload.expected if p.scope != PROM_STRANGER]
    assert len(expected) > 40  # a real workload: every scope, metric and hour
    assert {p.metric for p in expected} == {"instance", "volume.size"}
    assert_points_equal(ps.stored_points(db_url), expected)
    want_totals = {k: v for k, v in prom_workload.totals().items() if k[0] != PROM_STRANGER}
    assert ps.stored_totals(db_url) == ps.normalized(want_totals)
    assert ps.summary(db_url) == ps.expected_summary(expected)  # the API's sums
    assert_caught_up(db_url, "prometheus", PROM_SCOPES, prom_workload.end - HOUR)


# -- Gnocchi -------------------------------------------------------------------------

GNOCCHI_HOURS = 3
SLOT = datetime.timedelta(minutes=5)


class GnocchiWorkload:
    """Instances (``cpu``, halves, every 5 minutes, with gaps) and volumes
    (``volume.size``, integer GiB, resized once) of a few projects, pushed
    to Gnocchi; ``expected`` are the rated points they must give."""

    def __init__(self, gnocchi: Any) -> None:
        rng = random.Random(777)
        tag = uuid.uuid4().hex[:8]
        self.instance_type, self.volume_type = f"ckp_instance_{tag}", f"ckp_volume_{tag}"
        policy = f"ckp-5m-{tag}"
        gnocchi.create_archive_policy(policy, granularity=300)
        gnocchi.create_resource_type(self.instance_type, {"flavor_name": "string"})
        gnocchi.create_resource_type(self.volume_type, {"volume_type": "string"})
        # Gnocchi dates a resource revision at its real creation time and the
        # collector reads the history: rate periods after now (future
        # measures are accepted) and give the worker a clock after them.
        now = datetime.datetime.now(UTC)
        self.start = now.replace(minute=0, second=0, microsecond=0) + 2 * HOUR
        self.end = self.start + GNOCCHI_HOURS * HOUR
        self.scopes = [f"gp-{tag}-{i}" for i in range(3)]
        self.tenant = self.scopes[1]
        stranger = f"gp-{tag}-stranger"
        self.expected: list[ps.Point] = []
        batch: dict[str, dict[str, list[tuple[datetime.datetime, float]]]] = {}
        slots = GNOCCHI_HOURS * 12
        for scope in [*self.scopes, stranger]:
            for number in range(rng.randint(1, 3)):
                attrs = {
                    "project_id": scope,
                    "user_id": f"user-{number}",
                    "flavor_name": rng.choice(("m1.tiny", "m1.small", "m1.large")),
                }
                res = gnocchi.create_resource(self.instance_type, attrs, {"cpu": policy})
                values = {
                    s: Decimal(rng.randint(0, 40)) / 2 for s in range(slots) if rng.random() > 0.2
                }
                batch[res["id"]] = {
                    "cpu": [(self.slot(s) + MINUTE, float(v)) for s, v in values.items()]
                }
                if scope != stranger:
                    self._expect(scope, "instance", res["id"], values, attrs)
            for _ in range(rng.randint(1, 2)):
                attrs = {"project_id": scope, "volume_type": rng.choice(("ssd", "hdd"))}
                res = gnocchi.create_resource(self.volume_type, attrs, {"volume.size": policy})
                first, second = rng.sample((20, 50, 80, 200, 300), 2)
                resize = rng.randrange(slots)
                sizes = {s: Decimal(first if s < resize else second) for s in range(slots)}
                batch[res["id"]] = {
                    "volume.size": [(self.slot(s) + MINUTE, float(v)) for s, v in sizes.items()]
                }
                if scope != stranger:
                    self._expect(scope, "volume.size", res["id"], sizes, attrs)
        gnocchi.add_measures(batch)
        gnocchi.wait_processed()

    def slot(self, index: int) -> datetime.datetime:
        return self.start + index * SLOT

    def _expect(self, scope: str, metric: str, rid: str, values: dict, attrs: dict) -> None:
        """qty = the largest value of the hour (aggregation max, any slot)."""
        for hour in range(GNOCCHI_HOURS):
            in_hour = [v for s, v in values.items() if s // 12 == hour]
            if not in_hour:
                continue
            qty = max(in_hour)
            price = ps.expected_price(metric, scope, qty, attrs, self.tenant)
            begin = self.start + hour * HOUR
            self.expected.append(ps.Point(scope, begin, metric, rid, qty, price))

    def metrics_yml(self) -> str:
        return f"""\
metrics:
  cpu:
    alt_name: instance
    unit: vcpu
    groupby: [user_id]
    metadata: [flavor_name]
    extra_args:
      resource_type: {self.instance_type}
      aggregation_method: max
      force_granularity: 300
  volume.size:
    unit: GiB
    metadata: [volume_type]
    extra_args:
      resource_type: {self.volume_type}
      aggregation_method: max
      force_granularity: 300
"""


@pytest.fixture(scope="module")
def gnocchi_workload(gnocchi_service: Any) -> GnocchiWorkload:
    return GnocchiWorkload(gnocchi_service)


def test_gnocchi_workload_is_rated_exactly(
    db_url, gnocchi_service, gnocchi_workload: GnocchiWorkload, work: Path
):
    load = gnocchi_workload
    metrics = work / "metrics.yml"
    metrics.write_text(load.metrics_yml())
    config = ps.write_config(
        work / "cloudkitty.conf",
        db_url,
        scopes=load.scopes,
        collector="gnocchi",
        metrics_conf=metrics,
        groups={"collector_gnocchi": gnocchi_service.client_options()},
    )
    ps.seed_states(db_url, load.scopes, load.start - HOUR, collector="gnocchi")
    ps.create_rules(db_url, tenant=load.tenant)

    ps.run_worker(ps.conf_from_file(config), clock=load.end + MINUTE)

    assert len(load.expected) > 15
    assert_points_equal(ps.stored_points(db_url), load.expected)
    assert ps.summary(db_url) == ps.expected_summary(load.expected)  # the API's sums
    assert_caught_up(db_url, "gnocchi", load.scopes, load.end - HOUR)
