"""/v1/storage/dataframes: v1-shaped rated points, exact decimals."""

from __future__ import annotations

import datetime

import pytest

from cloudkitty.utils import tz
from tests.unit.api.v1.conftest import JUNE, PROJECT_A, PROJECT_B, at

URL = "/v1/storage/dataframes"


def resource(service, volume, rating, **desc):
    return {"service": service, "volume": volume, "rating": rating, "desc": desc}


def frame(begin, end, tenant, *resources):
    return {"begin": begin, "end": end, "tenant_id": tenant, "resources": list(resources)}


A_00_CPU = frame(
    "2019-06-01T00:00:00",
    "2019-06-01T01:00:00",
    PROJECT_A,
    resource("cpu", "1", "1.337", flavor_name="m1.tiny", id="vm-1", project_id=PROJECT_A),
    resource("cpu", "2", "0.1", flavor_name="m1.nano", id="vm-2", project_id=PROJECT_A),
)
A_00_IMAGE = frame(
    "2019-06-01T00:00:00",
    "2019-06-01T01:00:00",
    PROJECT_A,
    resource(
        "image.size",
        "3.5",
        "0.2000000000000000000000000001",
        disk_format="raw",
        id="img-1",
        project_id=PROJECT_A,
    ),
)
B_00_CPU = frame(
    "2019-06-01T00:00:00",
    "2019-06-01T01:00:00",
    PROJECT_B,
    resource("cpu", "1", "2.25", id="vm-9", project_id=PROJECT_B),
)
A_01_CPU = frame(
    "2019-06-01T01:00:00",
    "2019-06-01T02:00:00",
    PROJECT_A,
    resource("cpu", "1", "1.337", flavor_name="m1.tiny", id="vm-1", project_id=PROJECT_A),
)


def by_key(frames):
    return sorted(frames, key=lambda f: (f["begin"], f["tenant_id"], f["resources"][0]["service"]))


@pytest.mark.usefixtures("rated")
def test_one_entry_per_period_type_and_scope(api):
    response = api.get(f"{URL}?{JUNE}")
    assert response.status_int == 200
    body = response.json
    assert list(body) == ["dataframes"]
    assert by_key(body["dataframes"]) == by_key([A_00_CPU, B_00_CPU, A_00_IMAGE, A_01_CPU])
    # every entry's tenant is the scope of each of its resources
    for entry in body["dataframes"]:
        assert {r["desc"]["project_id"] for r in entry["resources"]} == {entry["tenant_id"]}


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"{JUNE}&tenant_id={PROJECT_A}", [A_00_CPU, A_00_IMAGE, A_01_CPU]),
        (f"{JUNE}&tenant_id={PROJECT_A}&resource_type=image.size", [A_00_IMAGE]),
        (f"{JUNE}&resource_type=cpu", [A_00_CPU, B_00_CPU, A_01_CPU]),
        ("begin=2019-06-01T01:00:00&end=2019-06-01T02:00:00", [A_01_CPU]),
        (f"{JUNE}&tenant_id=", [A_00_CPU, B_00_CPU, A_00_IMAGE, A_01_CPU]),
    ],
)
def test_filters(api, query, expected):
    assert by_key(api.get(f"{URL}?{query}").json["dataframes"]) == by_key(expected)


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(
    "query",
    [
        "begin=2018-01-01&end=2018-02-01",
        f"{JUNE}&tenant_id=nobody",
        f"{JUNE}&resource_type=network.bw",
    ],
)
def test_nothing_is_an_empty_list_never_404(api, query):
    response = api.get(f"{URL}?{query}")
    assert (response.status_int, response.json) == (200, {"dataframes": []})


def test_defaults_to_the_current_month(api, push):
    start = tz.month_start()
    push(PROJECT_A, start, start + datetime.timedelta(hours=1), {"cpu": [("1", "0.5")]})
    push(PROJECT_A, start - datetime.timedelta(hours=1), start, {"cpu": [("1", "7")]})
    frames = api.get(URL).json["dataframes"]
    assert [(f["begin"], f["resources"][0]["rating"]) for f in frames] == [
        (tz.v1_format(start), "0.5")
    ]


def test_desc_is_metadata_and_groupby_with_groupby_winning(api, push):
    push(
        PROJECT_A,
        at(2019, 6, 1),
        at(2019, 6, 1, 1),
        {
            "cpu": [
                (
                    "0.000001",
                    "12345678901.0000000000000000000000000001",
                    {"id": "vm-1", "flavor": "groupby-wins"},
                    {"flavor": "metadata", "vcpus": 2, "dummy": True, "ratio": 1.5},
                )
            ]
        },
    )
    (entry,) = api.get(f"{URL}?{JUNE}").json["dataframes"]
    assert entry["resources"] == [
        resource(
            "cpu",
            "0.000001",
            "12345678901.0000000000000000000000000001",
            flavor="groupby-wins",
            vcpus=2,
            dummy=True,
            ratio=1.5,
            id="vm-1",
            project_id=PROJECT_A,
        )
    ]


def test_points_without_scope_attribute_are_undefined(api, push):
    push(None, at(2019, 6, 1), at(2019, 6, 1, 1), {"cpu": [("1", "1")]}, scoped=False)
    (entry,) = api.get(f"{URL}?{JUNE}").json["dataframes"]
    assert entry["tenant_id"] == "__UNDEF__"


@pytest.mark.parametrize(
    "query", ["begin=2019-07-01&end=2019-06-01", "begin=notadate", "unknown=1"]
)
def test_bad_parameters_are_400(api, query):
    assert api.get(f"{URL}?{query}", expect_errors=True).status_int == 400
