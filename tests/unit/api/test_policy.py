"""Policy enforcement in keystone mode, and overrides from a policy file.

The Pecan app is driven directly with the identity headers keystonemiddleware
would set after validating a token (the real middleware and a real Keystone
are exercised in the functional RBAC tests).
"""

from __future__ import annotations

import webtest
from oslo_policy import opts as policy_opts

from cloudkitty.api import app
from cloudkitty.policies import enforcer
from tests.conftest import make_conf


def _app(sqlite_url, tmp_path, policy_text=None):
    conf = make_conf(sqlite_url)
    conf.set_override("auth_strategy", "keystone")
    if policy_text is not None:
        path = tmp_path / "policy.yaml"
        path.write_text(policy_text)
        # What an operator's [oslo_policy] policy_file does.
        policy_opts.set_defaults(conf, policy_file=str(path))
    enforcer.get_enforcer(conf)
    return webtest.TestApp(app.setup_app(conf))


def _headers(roles, project="p1"):
    return {
        "X-Identity-Status": "Confirmed",
        "X-Roles": ",".join(roles),
        "X-Project-Id": project,
        "X-User-Id": "u1",
    }


def test_admin_role_lists_modules_member_does_not(sqlite_url, tmp_path):
    api = _app(sqlite_url, tmp_path)
    ok = api.get("/v1/rating/modules", headers=_headers(["admin"]))
    assert ok.status_int == 200
    denied = api.get(
        "/v1/rating/modules", headers=_headers(["member", "reader"]), expect_errors=True
    )
    assert denied.status_int == 403
    assert denied.json["faultstring"] == "Policy doesn't allow rating:list_modules to be performed."


def test_v2_forbidden_body(sqlite_url, tmp_path):
    api = _app(sqlite_url, tmp_path)
    denied = api.get("/v2/rating/modules", headers=_headers(["reader"]), expect_errors=True)
    assert denied.status_int == 403
    assert denied.json == {"message": "You are not authorized to perform this action"}


def test_module_config_tree_needs_admin(sqlite_url, tmp_path):
    api = _app(sqlite_url, tmp_path)
    denied = api.get(
        "/v1/rating/module_config/hashmap/services",
        headers=_headers(["member"]),
        expect_errors=True,
    )
    assert denied.status_int == 403
    ok = api.get("/v1/rating/module_config/hashmap/services", headers=_headers(["admin"]))
    assert ok.json == {"services": []}


def test_quote_is_open_to_any_authenticated_user(sqlite_url, tmp_path):
    api = _app(sqlite_url, tmp_path)
    response = api.post_json("/v1/rating/quote", {"resources": []}, headers=_headers(["reader"]))
    assert response.status_int == 200


def test_policy_file_overrides_a_default(sqlite_url, tmp_path):
    api = _app(sqlite_url, tmp_path, policy_text='"rating:list_modules": "role:reader"\n')
    ok = api.get("/v1/rating/modules", headers=_headers(["reader"]))
    assert ok.status_int == 200
    still_denied = api.get(
        "/v1/rating/modules/hashmap", headers=_headers(["reader"]), expect_errors=True
    )
    assert still_denied.status_int == 403
