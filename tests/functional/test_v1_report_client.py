"""Acceptance: the real python-cloudkittyclient reads the v1 read routes.

For each database backend one ``cloudkitty-api`` process is started with a
small metrics.yml; rated data is pushed straight into the same database
through the storage driver (as the processor would), then the CLI
(``cloudkitty ...`` and ``openstack rating ...``, API version 1) and the
client library read it back: rated tenants per window, totals and
summaries with every digit, v1 dataframes, metric info, the raw config,
collector mappings and states.
"""

from __future__ import annotations

import datetime
import decimal
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cloudkittyclient import client as ck_client
from cloudkittyclient.auth import CloudKittyNoAuthPlugin

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.conftest import BACKENDS, truncate_all
from tests.functional.services.api_server import Cli, running_api

UTC = datetime.timezone.utc
PROJECT_A = "8f82cc70-e50c-466e-8624-24bdea811375"
PROJECT_B = "7606a24a-b8ad-4ae0-be6c-3d7a41334a2e"
JUNE = ("-b", "2019-06-01T00:00:00", "-e", "2019-07-01T00:00:00")
JULY = ("-b", "2019-07-01T00:00:00", "-e", "2019-08-01T00:00:00")

METRICS_YML = """\
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id, user_id]
    metadata: [vcpus, flavor_name, flavor_id]
    extra_args:
      resource_type: instance
  image.size:
    unit: MiB
    factor: 0.000000001
    groupby: [id]
    metadata: [disk_format, container_format]
    extra_args:
      resource_type: image
"""

# June: A = 1.337 + 0.1 + 0.2000000000000000000000000001 + 1.337, B = 2.25
A_JUNE = "2.9740000000000000000000000001"
ALL_JUNE = "5.2240000000000000000000000001"
TINY = "0.2000000000000000000000000001"


def _at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def _point(qty: str, price: str, scope: str, rid: str, **metadata: Any) -> DataPoint:
    return DataPoint.create("unit", qty, price, {"id": rid, "project_id": scope}, metadata)


def _rate(url: str) -> None:
    """What the processor would have stored for two projects."""
    storage = SQLStorage(None, Database.from_url(url))
    storage.push(
        [
            DataFrame(
                _at(2019, 6, 1, 0),
                _at(2019, 6, 1, 1),
                {
                    "cpu": [
                        _point("1", "1.337", PROJECT_A, "vm-1", flavor_name="m1.tiny"),
                        _point("2", "0.1", PROJECT_A, "vm-2", flavor_name="m1.nano"),
                    ],
                    "image.size": [_point("3.5", TINY, PROJECT_A, "img-1", disk_format="raw")],
                },
            ),
            DataFrame(
                _at(2019, 6, 1, 1),
                _at(2019, 6, 1, 2),
                {"cpu": [_point("1", "1.337", PROJECT_A, "vm-1", flavor_name="m1.tiny")]},
            ),
        ],
        PROJECT_A,
    )
    storage.push(
        [
            DataFrame(
                _at(2019, 6, 1),
                _at(2019, 6, 1, 1),
                {"cpu": [_point("1", "2.25", PROJECT_B, "vm-9")]},
            ),
            DataFrame(
                _at(2019, 7, 1), _at(2019, 7, 1, 1), {"cpu": [_point("1", "5", PROJECT_B, "vm-9")]}
            ),
        ],
        PROJECT_B,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest,
    migrated_db_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Cli]]:
    """One API process per backend, over rated data: (base URL, CLI)."""
    url = migrated_db_urls[request.param]
    truncate_all(url)
    _rate(url)
    metrics = tmp_path_factory.mktemp("metrics") / "metrics.yml"
    metrics.write_text(METRICS_YML)
    with running_api(url, extra_config=f"[collect]\nmetrics_conf = {metrics}\n") as endpoint:
        yield endpoint, Cli(endpoint, api_version="1")


def _library(endpoint: str) -> Any:
    return ck_client.Client("1", auth=CloudKittyNoAuthPlugin(endpoint=endpoint))


def _get(endpoint: str, path: str) -> tuple[int, Any]:
    with urllib.request.urlopen(endpoint + path, timeout=30) as response:
        return response.status, json.loads(response.read().decode())


# --- report ----------------------------------------------------------------


def test_tenant_list_honours_the_window(live):
    _, cli = live
    june = cli.run("report", "tenant", "list", *JUNE, "-f", "json")
    assert june == [{"Tenant ID": t} for t in sorted([PROJECT_A, PROJECT_B])]
    assert cli.run("report", "tenant", "list", *JULY, "-f", "json") == [{"Tenant ID": PROJECT_B}]
    nothing = ("-b", "2018-01-01T00:00:00", "-e", "2018-02-01T00:00:00")
    assert cli.run("report", "tenant", "list", *nothing, "-f", "json") == []


def test_total_reads_back_every_digit(live):
    endpoint, cli = live
    library = _library(endpoint).report
    june = {
        "begin": _at(2019, 6, 1).replace(tzinfo=None),
        "end": _at(2019, 7, 1).replace(tzinfo=None),
    }
    # the library sends str(datetime) dates and all_tenants=True, and returns
    # the JSON string untouched
    assert library.get_total(all_tenants=True, **june) == ALL_JUNE
    assert library.get_total(tenant_id=PROJECT_A, **june) == A_JUNE
    assert library.get_total(tenant_id=PROJECT_A, service="image.size", **june) == TINY
    assert library.get_total(tenant_id="nobody", **june) == "0"
    assert decimal.Decimal(ALL_JUNE) - decimal.Decimal(A_JUNE) == decimal.Decimal("2.25")
    # the CLI prints float(total): compare a value a float holds exactly
    shown = cli.run("total", "get", "-t", PROJECT_B, *JUNE, "-f", "json")
    assert shown == {"Total": 2.25}
    shown = cli.run("total", "get", "-a", *JULY, "-f", "json")
    assert shown == {"Total": 5.0}


def test_summary_with_groupby_and_all_tenants(live):
    _, cli = live
    rows = cli.run("summary", "get", "-a", "-g", "tenant_id", "res_type", *JUNE, "-f", "json")
    bounds = {"Begin Time": "2019-06-01T00:00:00", "End Time": "2019-07-01T00:00:00"}
    expected = [
        {"Tenant ID": PROJECT_B, "Resource Type": "cpu", "Rate": "2.25", **bounds},
        {"Tenant ID": PROJECT_A, "Resource Type": "cpu", "Rate": "2.774", **bounds},
        {"Tenant ID": PROJECT_A, "Resource Type": "image.size", "Rate": TINY, **bounds},
    ]
    key = lambda r: (r["Tenant ID"], r["Resource Type"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(expected, key=key)
    rows = cli.run("summary", "get", "-t", PROJECT_A, *JUNE, "-f", "json")
    assert rows == [{"Tenant ID": "ALL", "Resource Type": "ALL", "Rate": A_JUNE, **bounds}]
    rows = cli.run("summary", "get", "-a", "-s", "cpu", "-g", "res_type", *JUNE, "-f", "json")
    assert rows == [{"Tenant ID": "ALL", "Resource Type": "cpu", "Rate": "5.024", **bounds}]
    # the openstack CLI plugin speaks the same
    rows = cli.run("summary", "get", "-a", *JUNE, "-f", "json", tool="openstack")
    assert rows == [{"Tenant ID": "ALL", "Resource Type": "ALL", "Rate": ALL_JUNE, **bounds}]


def test_v1_dataframes(live):
    endpoint, cli = live
    rows = cli.run("dataframes", "get", *JUNE, "-p", PROJECT_A, "-r", "image.size", "-f", "json")
    assert len(rows) == 1
    row = rows[0]
    assert (row["Begin"], row["End"], row["Project ID"]) == (
        "2019-06-01T00:00:00",
        "2019-06-01T01:00:00",
        PROJECT_A,
    )
    (resource,) = row["Resources"]
    assert resource["service"] == "image.size"
    assert (resource["volume"], resource["rating"]) == ("3.5", TINY)
    assert resource["desc"] == {"disk_format": "raw", "id": "img-1", "project_id": PROJECT_A}
    # all tenants (noauth is admin): one entry per period, type and project
    frames = _library(endpoint).storage.get_dataframes(
        begin=datetime.datetime(2019, 6, 1), end=datetime.datetime(2019, 7, 1)
    )["dataframes"]
    seen = sorted((f["begin"], f["tenant_id"], f["resources"][0]["service"]) for f in frames)
    assert seen == sorted(
        [
            ("2019-06-01T00:00:00", PROJECT_A, "cpu"),
            ("2019-06-01T00:00:00", PROJECT_A, "image.size"),
            ("2019-06-01T00:00:00", PROJECT_B, "cpu"),
            ("2019-06-01T01:00:00", PROJECT_A, "cpu"),
        ]
    )
    ratings = sorted(r["rating"] for f in frames for r in f["resources"])
    assert ratings == ["0.1", TINY, "1.337", "1.337", "2.25"]


def test_dataframes_of_an_empty_window(live):
    _, cli = live
    nothing = ("-b", "2018-01-01T00:00:00", "-e", "2018-02-01T00:00:00")
    assert cli.run("dataframes", "get", *nothing, "-f", "json") == []


# --- info ------------------------------------------------------------------


def test_info_metrics_and_config(live):
    endpoint, cli = live
    metrics = cli.run("info", "metric", "list", "-f", "json")
    assert metrics == [
        {"Metric": "image.size", "Unit": "MiB", "Metadata": ["disk_format", "container_format"]},
        {
            "Metric": "instance",
            "Unit": "instance",
            "Metadata": ["vcpus", "flavor_name", "flavor_id"],
        },
    ]
    assert cli.run("info", "metric", "get", "instance", "-f", "json") == [metrics[1]]
    missing = cli.run("info", "metric", "get", "nope", check=False)
    assert missing.returncode != 0
    config = cli.run("info", "config", "get", "-f", "json")
    assert [row["Section"] for row in config] == ["metrics"]
    assert config[0]["Value"]["cpu"]["alt_name"] == "instance"
    status, raw = _get(endpoint, "/v1/info/config/")
    assert status == 200 and set(raw["metrics"]) == {"cpu", "image.size"}


# --- collector (deprecated) --------------------------------------------------


def test_collector_mappings(live):
    _, cli = live
    created = cli.run("collector-mapping", "create", "compute", "gnocchi", "-f", "json")
    assert created == [{"Service": "compute", "Collector": "gnocchi"}]
    cli.run("collector-mapping", "create", "image", "prometheus", "-f", "json")
    # a second create of a service replaces its collector
    cli.run("collector-mapping", "create", "image", "gnocchi", "-f", "json")
    assert cli.run("collector-mapping", "get", "image", "-f", "json") == [
        {"Service": "image", "Collector": "gnocchi"}
    ]
    assert cli.run("collector-mapping", "list", "--collector", "gnocchi", "-f", "json") == [
        {"Service": "compute", "Collector": "gnocchi"},
        {"Service": "image", "Collector": "gnocchi"},
    ]
    cli.run("collector-mapping", "delete", "compute")
    cli.run("collector-mapping", "delete", "image")
    assert cli.run("collector-mapping", "list", "-f", "json") == []
    gone = cli.run("collector-mapping", "get", "compute", check=False)
    assert gone.returncode != 0
    assert "No mapping for service: compute" in gone.stdout + gone.stderr


def test_collector_states(live):
    _, cli = live
    assert cli.run("collector", "state", "get", "gnocchi", "-f", "json") == [
        {"Collector": "gnocchi", "State": False}
    ]
    assert cli.run("collector", "enable", "gnocchi", "-f", "json") == [
        {"Collector": "gnocchi", "State": True}
    ]
    assert cli.run("collector", "state", "get", "gnocchi", "-f", "json") == [
        {"Collector": "gnocchi", "State": True}
    ]
    assert cli.run("collector", "disable", "gnocchi", "-f", "json") == [
        {"Collector": "gnocchi", "State": False}
    ]
