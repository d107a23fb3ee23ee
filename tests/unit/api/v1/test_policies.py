"""Keystone mode: the headers keystonemiddleware sets decide what a caller
sees. A reader or member of project A never sees project B through total,
summary, dataframes or tenants, even with a permissive policy file; admins
see everything."""

from __future__ import annotations

import pytest
import webtest
from oslo_policy import opts as policy_opts

from cloudkitty.api import app as app_mod
from tests.conftest import make_conf
from tests.unit.api.v1.conftest import JUNE, PROJECT_A, PROJECT_B, identity

READER_A = identity("reader", PROJECT_A)
# keystone expands implied roles: a member's token also lists reader
MEMBER_A = identity("member,reader", PROJECT_A)
ADMIN = identity("admin,member,reader", "admin-project")
UNSCOPED_READER = identity("reader")

A_JUNE = "2.9740000000000000000000000001"
B_JUNE = "2.25"
ALL_JUNE = "5.2240000000000000000000000001"


@pytest.fixture
def keystone(make_app, rated):
    return make_app(keystone=True)


def denied(response, rule):
    assert response.status_int == 403
    assert response.json == {
        "faultcode": "Client",
        "faultstring": f"Policy doesn't allow {rule} to be performed.",
        "debuginfo": None,
    }
    return True


def total(app, headers, query=""):
    return app.get(f"/v1/report/total?{JUNE}{query}", headers=headers, expect_errors=True)


def summary(app, headers, query=""):
    return app.get(f"/v1/report/summary?{JUNE}{query}", headers=headers, expect_errors=True)


def dataframes(app, headers, query=""):
    return app.get(f"/v1/storage/dataframes?{JUNE}{query}", headers=headers, expect_errors=True)


@pytest.mark.parametrize("caller", [READER_A, MEMBER_A], ids=["reader", "member"])
def test_project_user_sees_own_project_only(keystone, caller):
    assert total(keystone, caller).json == A_JUNE
    assert total(keystone, caller, f"&tenant_id={PROJECT_A}").json == A_JUNE
    rows = summary(keystone, caller, "&groupby=tenant_id,res_type").json["summary"]
    assert {r["tenant_id"] for r in rows} == {PROJECT_A}
    frames = dataframes(keystone, caller).json["dataframes"]
    assert frames and {f["tenant_id"] for f in frames} == {PROJECT_A}


@pytest.mark.parametrize("caller", [READER_A, MEMBER_A], ids=["reader", "member"])
@pytest.mark.parametrize(
    "query",
    [f"&tenant_id={PROJECT_B}", "&all_tenants=True", f"&all_tenants=1&tenant_id={PROJECT_A}"],
)
def test_project_user_cannot_widen_reports(keystone, caller, query):
    assert denied(total(keystone, caller, query), "report:get_total")
    assert denied(summary(keystone, caller, query + "&groupby=tenant_id"), "report:get_summary")


@pytest.mark.parametrize("caller", [READER_A, MEMBER_A], ids=["reader", "member"])
def test_project_user_cannot_read_other_dataframes_or_list_tenants(keystone, caller):
    assert denied(
        dataframes(keystone, caller, f"&tenant_id={PROJECT_B}"), "storage:list_data_frames"
    )
    response = keystone.get(f"/v1/report/tenants?{JUNE}", headers=caller, expect_errors=True)
    assert denied(response, "report:list_tenants")


def test_all_tenants_false_keeps_the_caller_project(keystone):
    # upstream took "False" as true and widened the report (bug 34)
    assert total(keystone, ADMIN, "&all_tenants=False").json == "0"
    assert total(keystone, READER_A, "&all_tenants=False").json == A_JUNE


def test_admin_sees_everything(keystone):
    assert total(keystone, ADMIN, "&all_tenants=True").json == ALL_JUNE
    assert total(keystone, ADMIN, f"&tenant_id={PROJECT_B}").json == B_JUNE
    # without either, an admin's own project (which has no data)
    assert total(keystone, ADMIN).json == "0"
    rows = summary(keystone, ADMIN, "&all_tenants=True&groupby=tenant_id").json["summary"]
    assert {r["tenant_id"]: r["rate"] for r in rows} == {PROJECT_A: A_JUNE, PROJECT_B: B_JUNE}
    frames = dataframes(keystone, ADMIN).json["dataframes"]
    assert {f["tenant_id"] for f in frames} == {PROJECT_A, PROJECT_B}
    frames = dataframes(keystone, ADMIN, f"&tenant_id={PROJECT_B}").json["dataframes"]
    assert {f["tenant_id"] for f in frames} == {PROJECT_B}
    tenants = keystone.get(f"/v1/report/tenants?{JUNE}", headers=ADMIN).json
    assert tenants == sorted([PROJECT_A, PROJECT_B])


def test_unscoped_user(keystone):
    assert dataframes(keystone, UNSCOPED_READER).json == {"dataframes": []}
    assert denied(total(keystone, UNSCOPED_READER), "report:get_total")
    assert denied(summary(keystone, UNSCOPED_READER), "report:get_summary")


def test_user_without_role_in_another_project(keystone):
    outsider = identity("reader", "project-c")
    assert total(keystone, outsider).json == "0"
    assert dataframes(keystone, outsider).json == {"dataframes": []}
    assert denied(total(keystone, outsider, f"&tenant_id={PROJECT_A}"), "report:get_total")


def test_permissive_policy_file_does_not_widen_a_non_admin(rated, v1_db_url, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        '"report:get_total": ""\n"report:get_summary": ""\n"storage:list_data_frames": ""\n'
    )
    conf = make_conf(
        v1_db_url,
        DEFAULT={"auth_strategy": "keystone"},
        collect={"metrics_conf": str(tmp_path / "none.yml")},
    )
    policy_opts.set_defaults(conf, policy_file=str(policy))
    api = webtest.TestApp(app_mod.setup_app(conf))
    assert total(api, READER_A).json == A_JUNE
    assert denied(total(api, READER_A, f"&tenant_id={PROJECT_B}"), "report:get_total")
    assert denied(total(api, READER_A, "&all_tenants=True"), "report:get_total")
    assert denied(summary(api, READER_A, "&all_tenants=True"), "report:get_summary")
    assert denied(dataframes(api, READER_A, f"&tenant_id={PROJECT_B}"), "storage:list_data_frames")
    assert {f["tenant_id"] for f in dataframes(api, READER_A).json["dataframes"]} == {PROJECT_A}


@pytest.mark.parametrize(
    ("method", "path", "rule"),
    [
        ("get", "/v1/collector/mappings", "collector:list_mappings"),
        ("get", "/v1/collector/mappings/compute", "collector:get_mapping"),
        ("post", "/v1/collector/mappings/gnocchi/compute", "collector:manage_mapping"),
        ("delete", "/v1/collector/mappings/compute", "collector:manage_mapping"),
        ("get", "/v1/collector/states/gnocchi", "collector:get_state"),
        ("get", "/v1/collector/gnocchi/states", "collector:get_state"),
    ],
)
def test_collector_routes_are_admin_only(keystone, method, path, rule):
    response = getattr(keystone, method)(path, headers=MEMBER_A, expect_errors=True)
    assert denied(response, rule)
    response = getattr(keystone, method)(path, headers=ADMIN, expect_errors=True)
    assert response.status_int != 403


def test_collector_state_put_is_admin_only(keystone):
    body = {"name": "gnocchi", "enabled": True}
    response = keystone.put_json(
        "/v1/collector/states/", body, headers=MEMBER_A, expect_errors=True
    )
    assert denied(response, "collector:update_state")
    assert keystone.put_json("/v1/collector/states/", body, headers=ADMIN).json == body


@pytest.mark.parametrize(
    "path",
    ["/v1/info/metrics", "/v1/info/metrics/instance", "/v1/info/services", "/v1/info/config"],
)
def test_info_is_open_to_any_authenticated_user(keystone, path):
    assert keystone.get(path, headers=READER_A).status_int == 200
    assert keystone.get(path, headers=identity("", "project-c")).status_int == 200
