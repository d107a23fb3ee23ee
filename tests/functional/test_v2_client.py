"""The v2 API end to end, on PostgreSQL and MariaDB, with the real client.

Rated data comes from the real processing worker: the file collector reads
a generated usage file, the hashmap module (configured through the v1 API)
prices it, the SQL storage keeps it. A live ``cloudkitty-api`` then serves
it to ``python-cloudkittyclient`` (Python API, ``cloudkitty`` and
``openstack rating`` CLIs).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from cloudkittyclient import client as ck_client
from cloudkittyclient.auth import CloudKittyNoAuthPlugin

from cloudkitty.db.engine import Database
from cloudkitty.db.scope_resets import ResetRequestRepository
from cloudkitty.orchestrator import service, worker
from tests.conftest import make_conf, truncate_all
from tests.functional.services.api_server import Cli, running_api

UTC = datetime.timezone.utc
# Tomorrow: hashmap rules cannot start in the past, and the worker's clock
# is moved forward instead (rules created now apply to these periods).
T0 = (datetime.datetime.now(UTC) + datetime.timedelta(days=1)).replace(
    hour=0, minute=0, second=0, microsecond=0
)
HOUR = datetime.timedelta(hours=1)
HOURS = 6
BEGIN, END = T0.isoformat(), (T0 + datetime.timedelta(days=1)).isoformat()
LATER = T0 + datetime.timedelta(days=3)  # where posted dataframes go


def at(hours: float) -> str:
    return (T0 + hours * HOUR).isoformat()


def naive(hours: float) -> str:
    return (T0 + hours * HOUR).replace(tzinfo=None).isoformat()


BACKENDS = ("postgresql", "mysql")  # SQLite is covered by the unit tests

METRICS = """
metrics:
  cpu:
    alt_name: instance
    unit: instance
    groupby: [id, project_id]
    metadata: [flavor]
    extra_args: {aggregation_method: max}
  vol:
    alt_name: volume.size
    unit: GiB
    groupby: [id, project_id]
    extra_args: {aggregation_method: max}
"""


def usage_csv(p1_cpu_from_hour3: int = 1) -> str:
    """Per hour: p1 runs 1 instance (``p1_cpu_from_hour3`` from hour 3 on)
    and a 10 GiB volume; p2 runs 2 instances."""
    lines = ["timestamp,metric,value,project_id,id,flavor"]
    for hour in range(HOURS):
        stamp = int((T0 + hour * HOUR).timestamp()) + 60
        p1_cpu = p1_cpu_from_hour3 if hour >= 3 else 1
        lines.append(f"{stamp},cpu,{p1_cpu},p1,vm-1,m1.small")
        lines.append(f"{stamp},cpu,2,p2,vm-2,m1.large")
        lines.append(f"{stamp},vol,10,p1,vol-1,")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class Live:
    backend: str
    db_url: str
    endpoint: str
    workdir: Path
    cli: Cli
    client: Any  # v2 Python client

    def sweep(self) -> worker.SweepResult:
        """One sweep of the real processing worker, at T0 + 6 h."""
        conf = make_conf(
            self.db_url,
            collect={
                "collector": "file",
                "metrics_conf": str(self.workdir / "metrics.yml"),
                "period": 3600,
                "wait_periods": 0,
            },
            fetcher={"backend": "source"},
            fetcher_source={"sources": ["p1", "p2"]},
            collector_file={"paths": [str(self.workdir / "usage.csv")]},
            orchestrator={"coordination_url": f"file://{self.workdir}/locks"},
        )
        deps = service.build_deps(conf, 0)
        deps.clock = lambda: T0 + HOURS * HOUR
        deps.locks.start()
        try:
            processing = worker.ProcessingWorker(deps)
            processing.first_period = lambda _now: T0  # type: ignore[method-assign]
            return processing.sweep()
        finally:
            deps.locks.stop()
            deps.collector.close()

    def summary(self, **kwargs: Any) -> dict[str, Any]:
        return self.client.summary.get_summary(begin=BEGIN, end=END, **kwargs)


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest,
    migrated_db_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    url = migrated_db_urls[request.param]
    truncate_all(url)
    workdir = tmp_path_factory.mktemp(f"v2-{request.param}")
    (workdir / "metrics.yml").write_text(METRICS)
    (workdir / "usage.csv").write_text(usage_csv())
    with running_api(url, extra_config="[collect]\nperiod = 3600\n", migrate_db=False) as endpoint:
        auth = CloudKittyNoAuthPlugin(endpoint=endpoint)
        v1 = ck_client.Client("1", auth=auth)
        # instance: flat 0.1 per instance-hour; volumes are free.
        service_id = v1.rating.hashmap.create_service(name="instance")["service_id"]
        v1.rating.hashmap.create_mapping(cost="0.1", service_id=service_id, type="flat")
        v1.rating.update_module(module_id="hashmap", enabled=True)
        env = Live(
            request.param,
            url,
            endpoint,
            workdir,
            Cli(endpoint, api_version="2"),
            ck_client.Client("2", auth=auth),
        )
        result = env.sweep()
        assert (result.periods_rated, result.scopes_failed) == (2 * HOURS, 0)
        yield env


def test_summary_table_grouped_by_project(live: Live) -> None:
    result = live.summary(groupby=["project_id"])
    assert result["columns"] == ["begin", "end", "qty", "rate", "project_id"]
    assert result["total"] == 2
    rows = {row[4]: (D(str(row[2])), D(str(row[3]))) for row in result["results"]}
    # p1: 6 instance-hours (0.6) + 60 GiB-hours (free); p2: 12 instance-hours.
    assert rows == {"p1": (D(66), D("0.6")), "p2": (D(12), D("1.2"))}


def test_summary_money_is_exact_on_the_wire(live: Live) -> None:
    window = urllib.parse.urlencode({"begin": at(0), "end": at(3)})
    query = f"{window}&filters=project_id:p1,type:instance"
    with urllib.request.urlopen(f"{live.endpoint}/v2/summary?{query}") as answer:
        body = json.loads(answer.read(), parse_float=D)
    assert body["results"][0][2:] == [3, D("0.3")]  # never 0.30000000000000004


def test_summary_object_format_grouped_by_type(live: Live) -> None:
    result = live.summary(groupby=["type"], response_format="object")
    assert result["format"] == "object"
    assert [(r["type"], r["qty"], r["rate"]) for r in result["results"]] == [
        ("instance", 18, 1.8),
        ("volume.size", 60, 0),
    ]


def test_summary_cli_grouped_by_day(live: Live) -> None:
    rows = live.cli.run(
        "summary", "get", "-b", BEGIN, "-e", END, "-g", "time-d", "-g", "type", "-f", "json"
    )
    day = str(T0.timetuple().tm_yday)
    assert [(r["Day of the year"], r["Type"], r["Rate"]) for r in rows] == [
        (day, "instance", 1.8),
        (day, "volume.size", 0),
    ]


def test_summary_cli_filters_with_openstack(live: Live) -> None:
    rows = live.cli.run(
        "summary", "get", "-b", BEGIN, "-e", END, "--filter", "project_id:p2",
        "-g", "project_id", "-f", "json", tool="openstack",
    )  # fmt: skip
    assert [(r["Project id"], r["Qty"], r["Rate"]) for r in rows] == [("p2", 12, 1.2)]


def test_dataframes_get_and_add(live: Live) -> None:
    rows = live.cli.run(
        "dataframes", "get", "-b", BEGIN, "-e", END, "--filter", "project_id:p2",
        "--filter", "type:instance", "-f", "json",
    )  # fmt: skip
    assert len(rows) == HOURS
    assert {(r["Metric Type"], r["Quantity"], r["Price"]) for r in rows} == {("instance", 2, 0.2)}
    frames = {
        "dataframes": [
            {
                "period": {"begin": LATER.isoformat(), "end": (LATER + HOUR).isoformat()},
                "usage": {
                    "image": [
                        {
                            "vol": {"unit": "MiB", "qty": 3},
                            "rating": {"price": 0.7},
                            "groupby": {"project_id": "p3"},
                            "metadata": {},
                        }
                    ]
                },
            }
        ]
    }
    path = live.workdir / "frames.json"
    path.write_text(json.dumps(frames))
    live.cli.run("dataframes", "add", str(path))
    got = live.client.dataframes.get_dataframes(
        begin=LATER.isoformat(), end=(LATER + HOUR).isoformat(), filters={"project_id": "p3"}
    )
    assert got["total"] == 1
    [point] = got["dataframes"][0]["usage"]["image"]
    assert (point["vol"]["qty"], point["rating"]["price"]) == (3, 0.7)


def test_scope_state_get_with_both_clis(live: Live) -> None:
    for tool in ("cloudkitty", "openstack"):
        rows = live.cli.run("scope", "state", "get", "-f", "json", tool=tool)
        # Creation order: the worker visits scopes in random order.
        assert sorted(
            (r["Scope ID"], r["Scope Key"], r["Fetcher"], r["Collector"]) for r in rows
        ) == [
            ("p1", "project_id", "source", "file"),
            ("p2", "project_id", "source", "file"),
        ]
        assert {r["State"] for r in rows} == {at(5)}
    only = live.cli.run("scope", "state", "get", "--scope-id", "p2", "-f", "json")
    assert [r["Scope ID"] for r in only] == ["p2"]


def test_reprocessing_tasks_with_the_cli(live: Live) -> None:
    live.cli.run(
        "tasks", "reprocessing", "create", "--scope-id", "p2",
        "--start-reprocess-time", at(1), "--end-reprocess-time", at(2),
        "--reason", "new prices",
    )  # fmt: skip
    bad = live.cli.run(
        "tasks", "reprocessing", "create", "--scope-id", "p2",
        "--start-reprocess-time", at(1.5), "--end-reprocess-time", at(2),
        "--reason", "x", check=False,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "does not comply with the configured collector period" in bad.stdout + bad.stderr
    rows = live.cli.run("tasks", "reprocessing", "get", "-f", "json")
    assert [
        (r["Scope ID"], r["Reason"], r["Start reprocessing time"], r["Current reprocessing time"])
        for r in rows
    ] == [("p2", "new prices", naive(1), "")]
    tasks = live.client.reprocessing.get_reprocessing_tasks(scope_ids=["p1"])
    assert tasks == {"results": []}


def test_scope_patch_with_the_cli(live: Live) -> None:
    # The client's patch command returns the updated scope from take_action,
    # which cliff turns into exit status 1 and prints: judge by the output.
    result = live.cli.run(
        "scope", "patch", "--scope-id", "p2", "--active", "false", tool="openstack", check=False
    )
    assert "'scope_id': 'p2'" in result.stderr and "'active': False" in result.stderr
    [p2] = live.client.scope.get_scope_state(scope_id="p2")["results"]
    assert p2["active"] is False
    result = live.cli.run("scope", "patch", "--scope-id", "p2", "--active", "true", check=False)
    assert "'active': True" in result.stderr
    assert live.client.scope.get_scope_state(scope_id="p2")["results"][0]["active"] is True


def test_scope_reset_is_applied_by_the_worker_and_rerates_once(live: Live) -> None:
    """Runs last: it changes the rated data of p1."""
    live.cli.run("scope", "state", "reset", "--scope-id", "p1", at(3))
    [request] = ResetRequestRepository(Database.from_url(live.db_url)).pending()
    assert (request.scope_id, request.reset_timestamp) == ("p1", T0 + 3 * HOUR)
    # Recorded, not applied: the state is unchanged until a processor runs.
    state = live.cli.run("scope", "state", "get", "--scope-id", "p1", "-f", "json")
    assert state[0]["State"] == at(5)

    # New usage for p1 from hour 3: 4 instances instead of 1.
    (live.workdir / "usage.csv").write_text(usage_csv(p1_cpu_from_hour3=4))
    result = live.sweep()
    assert result.periods_rated == 3  # p1 at 03:00, 04:00 and 05:00 only

    frames = live.client.dataframes.get_dataframes(
        begin=BEGIN, end=END, filters={"project_id": "p1", "type": "instance"}
    )["dataframes"]
    per_period = [
        (f["period"]["begin"], [p["vol"]["qty"] for p in f["usage"]["instance"]]) for f in frames
    ]
    assert per_period == [(at(hour), [1 if hour < 3 else 4]) for hour in range(HOURS)]
    rows = {r[4]: r[3] for r in live.summary(groupby=["project_id"])["results"]}
    assert rows == {"p1": 1.5, "p2": 1.2}  # p1: 3 x 0.1 + 3 x 0.4
    state = live.cli.run("scope", "state", "get", "--scope-id", "p1", "-f", "json")
    assert state[0]["State"] == at(5)
    assert ResetRequestRepository(Database.from_url(live.db_url)).pending() == []
