"""The Gnocchi collector against a real Gnocchi 4.7 (API + metricd).

A generated workload (projects, instances with flavors, volumes, four hours
of measures every five minutes) is pushed; every collected quantity must
equal, to the last digit, the value computed here from the generated
measures. Measures are halves and a slot's two measures are averaged, so
every value Gnocchi computes is a dyadic fraction it represents exactly.

Gnocchi indexes a resource revision at the wall-clock time of its creation
and the collector asks for the history (``use_history``), so the measures
are placed after now: in the future, which Gnocchi accepts.
"""

from __future__ import annotations

import datetime
import random
import uuid
from fractions import Fraction
from typing import Any

import pytest
from oslo_config import cfg

from cloudkitty.collector import base, metrics
from cloudkitty.collector.gnocchi import GnocchiCollector
from cloudkitty.conf import collector_gnocchi
from cloudkitty.utils import units

pytest_plugins = ["tests.functional.services.gnocchi"]

UTC = datetime.timezone.utc
SLOT = datetime.timedelta(minutes=5)
HOUR = datetime.timedelta(hours=1)
HOURS = 4
FLAVORS = {"m1.small": 1, "m1.large": 4}
VOLUME_TYPES = ("ssd", "hdd")


def make_collector(gnocchi: Any, definitions: dict[str, Any], period: int = 3600):
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    collector_gnocchi.register_opts(conf)
    for name, value in gnocchi.client_options().items():
        conf.set_override(name, value, "collector_gnocchi")
    parsed = metrics.parse_metrics(
        {"metrics": definitions},
        scope_key="project_id",
        extra_args=GnocchiCollector.EXTRA_ARGS,
        check=GnocchiCollector.check_definition,
    )
    cls = base.collector_class("gnocchi")  # through the real entry point
    return cls(conf, period=period, scope_key="project_id", metrics=parsed)


class Workload:
    """What was pushed, kept to compute the expected quantities."""

    def __init__(self, gnocchi: Any) -> None:
        rng = random.Random(20241)
        tag = uuid.uuid4().hex[:8]
        self.instance_type = f"instance_{tag}"
        self.volume_type = f"volume_{tag}"
        self.policy = policy = f"ck-5m-{tag}"
        gnocchi.create_archive_policy(
            policy,
            methods=("mean", "sum", "max", "min", "last", "first", "count", "rate:last"),
        )
        gnocchi.create_resource_type(
            self.instance_type, {"flavor_name": "string", "vcpus": "number"}
        )
        gnocchi.create_resource_type(self.volume_type, {"volume_type": "string"})
        now = datetime.datetime.now(UTC)
        self.start = now.replace(minute=0, second=0, microsecond=0) + 2 * HOUR
        self.projects = [f"proj-{tag}-{i}" for i in range(3)]
        self.stranger = f"proj-{tag}-stranger"
        # resource id -> {"attrs": {...}, "cpu": {slot: [values]}, ...}
        self.instances: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        batch: dict[str, dict[str, list[tuple[datetime.datetime, float]]]] = {}
        for project in [*self.projects, self.stranger]:
            for number in range(rng.randint(1, 3)):
                flavor = rng.choice(sorted(FLAVORS))
                attrs = {
                    "project_id": project,
                    "user_id": f"user-{number}",
                    "flavor_name": flavor,
                    "vcpus": FLAVORS[flavor],
                }
                res = gnocchi.create_resource(
                    self.instance_type, attrs, {"cpu": policy, "net": policy}
                )
                cpu, net, measures = self._instance_measures(rng)
                self.instances[res["id"]] = {"attrs": attrs, "cpu": cpu, "net": net}
                batch[res["id"]] = measures
            volume_attrs = {"project_id": project, "volume_type": rng.choice(VOLUME_TYPES)}
            res = gnocchi.create_resource(self.volume_type, volume_attrs, {"volume.size": policy})
            size = rng.randint(1, 40) * 5
            slots = {self.slot(i): [size] for i in range(HOURS * 12)}
            self.volumes[res["id"]] = {"attrs": volume_attrs, "size": slots}
            batch[res["id"]] = {"volume.size": [(t, float(v[0])) for t, v in slots.items()]}
        gnocchi.add_measures(batch)
        gnocchi.wait_processed()

    def slot(self, index: int) -> datetime.datetime:
        return self.start + index * SLOT

    def _instance_measures(self, rng: random.Random) -> tuple[dict, dict, dict]:
        cpu: dict[datetime.datetime, list[Fraction]] = {}
        net: dict[datetime.datetime, Fraction] = {}
        points: dict[str, list[tuple[datetime.datetime, float]]] = {"cpu": [], "net": []}
        counter = Fraction(rng.randint(0, 1000))
        # One slot before the first hour, so a rate has a predecessor.
        for index in range(-1, HOURS * 12):
            ts = self.slot(index)
            counter += rng.randint(0, 50)
            net[ts] = counter
            points["net"].append((ts + datetime.timedelta(seconds=10), float(counter)))
            if index < 0 or rng.random() < 0.1:
                continue  # a gap: slots without measures do not count
            values = [Fraction(rng.randint(0, 40), 2) for _ in range(2)]
            cpu[ts] = values
            points["cpu"] += [
                (ts + datetime.timedelta(seconds=60 * k), float(v)) for k, v in enumerate(values)
            ]
        return cpu, net, points


@pytest.fixture(scope="module")
def workload(gnocchi_service: Any) -> Workload:
    return Workload(gnocchi_service)


def _in(slots: dict, start: datetime.datetime) -> list:
    return [v for t, v in sorted(slots.items()) if start <= t < start + HOUR]


def expected_cpu(load: Workload, method: str, start: datetime.datetime) -> dict[str, Fraction]:
    """Per instance: the slot aggregate (of raw measures), then the period."""
    result = {}
    for rid, data in load.instances.items():
        slots = _in(data["cpu"], start)
        if not slots:
            continue
        per_slot = {
            "mean": [sum(v) / len(v) for v in slots],
            "max": [max(v) for v in slots],
            "sum": [sum(v) for v in slots],
            "count": [Fraction(len(v)) for v in slots],
            "last": [v[-1] for v in slots],
        }[method]
        result[rid] = {
            "mean": lambda s: sum(s) / len(s),
            "max": max,
            "sum": sum,
            "count": sum,
            "last": lambda s: s[-1],
        }[method](per_slot)
    return result


def by_id(points: list) -> dict[str, Any]:
    return {p.groupby["id"]: p for p in points}


@pytest.mark.parametrize("method", ["mean", "max", "sum", "count", "last"])
def test_cpu_quantities_equal_the_generated_measures(gnocchi_service, workload, method):
    definition = {
        "unit": "vcpu",
        "alt_name": f"cpu_{method}",
        "groupby": ["id", "user_id", "flavor_name"],
        "extra_args": {
            "resource_type": workload.instance_type,
            "aggregation_method": method,
            "force_granularity": 300,
        },
    }
    collector = make_collector(gnocchi_service, {"cpu": definition})
    for hour in range(HOURS):
        start = workload.start + hour * HOUR
        result = collector.collect(f"cpu@#cpu_{method}", start, start + HOUR, workload.projects)
        assert sorted(result) == sorted(workload.projects)  # the stranger is not asked
        expected = expected_cpu(workload, method, start)
        got = {}
        for project, points in result.items():
            for rid, point in by_id(points).items():
                attrs = workload.instances[rid]["attrs"]
                assert point.groupby["project_id"] == project == attrs["project_id"]
                assert point.groupby["flavor_name"] == attrs["flavor_name"]
                got[rid] = point.qty
        want = {
            rid: units.to_decimal(q)
            for rid, q in expected.items()
            if workload.instances[rid]["attrs"]["project_id"] != workload.stranger
        }
        assert want and got == want, f"hour {hour}"
        # Exactly equal, digits included (Decimal("1.50") != "1.5" as text).
        assert {k: str(v) for k, v in got.items()} == {k: str(v) for k, v in want.items()}


def test_volume_size_with_metadata(gnocchi_service, workload):
    definition = {
        "unit": "GiB",
        "metadata": ["volume_type"],
        "extra_args": {
            "resource_type": workload.volume_type,
            "aggregation_method": "mean",
            "force_granularity": 300,
        },
    }
    collector = make_collector(gnocchi_service, {"volume.size": definition})
    start = workload.start + HOUR
    result = collector.collect("volume.size", start, start + HOUR, workload.projects)
    for project in workload.projects:
        (point,) = result[project]
        data = workload.volumes[point.groupby["id"]]
        assert data["attrs"]["project_id"] == project
        assert point.metadata == {"volume_type": data["attrs"]["volume_type"]}
        assert point.qty == data["size"][start][0]
        assert point.unit == "GiB"


def test_rate_counts_the_change_over_the_whole_period(gnocchi_service, workload):
    definition = {
        "unit": "B",
        "extra_args": {
            "resource_type": workload.instance_type,
            "aggregation_method": "rate:last",
            "force_granularity": 300,
        },
    }
    collector = make_collector(gnocchi_service, {"net": definition})
    start = workload.start + 2 * HOUR
    result = collector.collect("net", start, start + HOUR, workload.projects)
    got = {p.groupby["id"]: p.qty for points in result.values() for p in points}
    # Increase from the last slot before the period to the last slot in it.
    want = {
        rid: units.to_decimal(data["net"][start + HOUR - SLOT] - data["net"][start - SLOT])
        for rid, data in workload.instances.items()
        if data["attrs"]["project_id"] != workload.stranger
    }
    assert got == want


def test_factor_and_mutator_apply_to_the_period_quantity(gnocchi_service, workload):
    definitions = {
        "cpu": [
            {
                "unit": "instance",
                "alt_name": "instance",
                "mutate": "NUMBOOL",
                "extra_args": {"resource_type": workload.instance_type, "force_granularity": 300},
            },
            {
                "unit": "vcpu-h",
                "alt_name": "cpu_scaled",
                "factor": "1/12",
                "extra_args": {
                    "resource_type": workload.instance_type,
                    "aggregation_method": "sum",
                    "force_granularity": 300,
                },
            },
        ]
    }
    collector = make_collector(gnocchi_service, definitions)
    start = workload.start
    expected = expected_cpu(workload, "sum", start)
    instance = collector.collect("cpu@#instance", start, start + HOUR, workload.projects)
    scaled = collector.collect("cpu@#cpu_scaled", start, start + HOUR, workload.projects)
    for project in workload.projects:
        for point in instance[project]:
            assert point.qty == 1
        for point in scaled[project]:
            assert point.qty == units.to_decimal(expected[point.groupby["id"]] / 12)


def test_no_data_and_errors(gnocchi_service, workload):
    definition = {
        "unit": "x",
        "extra_args": {"resource_type": workload.instance_type, "force_granularity": 300},
    }
    collector = make_collector(gnocchi_service, {"no.such.metric": definition, "cpu": definition})
    start = workload.start
    assert collector.collect("no.such.metric", start, start + HOUR, workload.projects) == {
        p: [] for p in workload.projects
    }
    # A period before any measure: Gnocchi says "not found", we say "no data".
    early = start - 10 * HOUR
    assert collector.collect("cpu", early, early + HOUR, ["nobody"]) == {"nobody": []}
    # A granularity the archive policy lacks is a configuration error.
    wrong = make_collector(
        gnocchi_service,
        {
            "cpu": {
                **definition,
                "extra_args": {**definition["extra_args"], "force_granularity": 60},
            }
        },
    )
    with pytest.raises(base.BadSourceAnswer):
        wrong.collect("cpu", start, start + HOUR, workload.projects)


def test_unreachable_gnocchi_is_a_collect_error(gnocchi_service, workload):
    from tests.functional.services.api_server import free_port

    class Dead:
        @staticmethod
        def client_options() -> dict[str, str]:
            url = f"http://127.0.0.1:{free_port()}"
            return {"gnocchi_auth_type": "basic", "gnocchi_endpoint": url}

    definition = {"unit": "x", "extra_args": {"resource_type": workload.instance_type}}
    collector = make_collector(Dead(), {"cpu": definition})
    with pytest.raises(base.SourceUnreachable):
        collector.collect("cpu", workload.start, workload.start + HOUR, ["p"])


@pytest.mark.parametrize("all_revisions", [True, False])
def test_resource_revisions(gnocchi_service, workload, all_revisions):
    """A flavor change inside the period: one point per revision, or one
    point with the latest attributes and the whole period's quantity."""
    project = f"proj-rev-{uuid.uuid4().hex[:8]}"
    res = gnocchi_service.create_resource(
        workload.instance_type,
        {"project_id": project, "flavor_name": "m1.small", "vcpus": 1},
        {"cpu": workload.policy},
    )
    gnocchi_service.update_resource(workload.instance_type, res["id"], {"flavor_name": "m1.large"})
    history = gnocchi_service.client.resource.history(workload.instance_type, res["id"])
    changed = datetime.datetime.fromisoformat(history[-1]["revision_start"])
    boundary = changed.replace(minute=changed.minute - changed.minute % 5, second=0, microsecond=0)
    start = boundary - 6 * SLOT
    # No measure in the slot holding the change: Gnocchi would split that
    # slot between the revisions with float weights.
    values = {
        start + i * SLOT: Fraction(i + 1, 2) for i in range(12) if start + i * SLOT != boundary
    }
    gnocchi_service.add_measures({res["id"]: {"cpu": [(t, float(v)) for t, v in values.items()]}})
    gnocchi_service.wait_processed()
    definition = {
        "unit": "vcpu",
        "groupby": ["flavor_name"],
        "extra_args": {
            "resource_type": workload.instance_type,
            "aggregation_method": "sum",
            "force_granularity": 300,
            "use_all_resource_revisions": all_revisions,
        },
    }
    collector = make_collector(gnocchi_service, {"cpu": definition})
    points = collector.collect("cpu", start, start + HOUR, [project])[project]
    got = {p.groupby["flavor_name"]: p.qty for p in points}
    before = sum(v for t, v in values.items() if t < boundary)
    after = sum(v for t, v in values.items() if t > boundary)
    if all_revisions:
        assert got == {"m1.small": before, "m1.large": after}
    else:
        assert got == {"m1.large": before + after}
    assert {p.groupby["id"] for p in points} == {res["id"]}
