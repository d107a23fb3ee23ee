"""Version discovery, error bodies and the rating module routes (v1 and v2)."""

from __future__ import annotations


def test_root_lists_both_versions_with_request_host(api_app):
    response = api_app.get("/", headers={"Host": "ck.example:8889"})
    assert response.status_int == 200
    assert response.json == {
        "versions": [
            {
                "id": "v1",
                "links": [{"href": "http://ck.example:8889/v1", "rel": "self"}],
                "status": "CURRENT",
            },
            {
                "id": "v2",
                "links": [{"href": "http://ck.example:8889/v2", "rel": "self"}],
                "status": "EXPERIMENTAL",
            },
        ]
    }
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_healthcheck_answers(api_app):
    assert api_app.get("/healthcheck").status_int == 200


def test_v1_module_list_shows_every_installed_module(api_app):
    modules = {m["module_id"]: m for m in api_app.get("/v1/rating/modules/").json["modules"]}
    assert set(modules) >= {"noop", "hashmap", "pyscripts"}
    assert modules["noop"] == {
        "module_id": "noop",
        "description": "Dummy test module.",
        "enabled": True,
        "hot-config": False,
        "priority": 1,
    }
    assert modules["hashmap"]["enabled"] is False
    assert modules["hashmap"]["hot-config"] is True


def test_v1_module_put_answers_302_and_changes_only_given_values(api_app):
    module = api_app.get("/v1/rating/modules/hashmap?module_id=hashmap").json
    module.update(enabled=True, priority=7)
    response = api_app.put_json("/v1/rating/modules/hashmap", module)
    assert response.status_int == 302
    assert response.headers["Location"].endswith("/v1/rating/modules/hashmap")
    assert api_app.get("/v1/rating/modules/hashmap").json["priority"] == 7
    api_app.put_json("/v1/rating/modules/hashmap", {"module_id": "hashmap", "enabled": False})
    after = api_app.get("/v1/rating/modules/hashmap").json
    assert (after["enabled"], after["priority"]) == (False, 7)


def test_v1_module_put_with_id_only_in_body(api_app):
    response = api_app.put_json("/v1/rating/modules/", {"module_id": "hashmap", "enabled": True})
    assert response.status_int == 302
    assert api_app.get("/v1/rating/modules/hashmap").json["enabled"] is True


def test_v1_unknown_module_is_a_404_fault(api_app):
    response = api_app.get("/v1/rating/modules/nope", expect_errors=True)
    assert response.status_int == 404
    assert response.json == {
        "faultcode": "Client",
        "faultstring": "Module not found.",
        "debuginfo": None,
    }


def test_v1_bad_priority_and_unknown_attribute_are_400(api_app):
    bad = api_app.put_json(
        "/v1/rating/modules/hashmap", {"module_id": "hashmap", "priority": 0}, expect_errors=True
    )
    assert bad.status_int == 400
    assert "priority" in bad.json["faultstring"]
    unknown = api_app.put_json(
        "/v1/rating/modules/hashmap", {"module_id": "hashmap", "colour": "red"}, expect_errors=True
    )
    assert unknown.status_int == 400
    assert "Unknown attribute" in unknown.json["faultstring"]
    assert api_app.get("/v1/rating/modules/hashmap").json["priority"] == 1


def test_v1_noop_cannot_be_disabled(api_app):
    api_app.put_json("/v1/rating/modules/noop", {"module_id": "noop", "enabled": False})
    assert api_app.get("/v1/rating/modules/noop").json["enabled"] is True


def test_v1_billing_is_an_alias_of_rating(api_app):
    assert api_app.get("/v1/billing/modules/noop").json["module_id"] == "noop"


def test_v1_reload_modules_is_204(api_app):
    assert api_app.get("/v1/rating/reload_modules/").status_int == 204


def test_v1_module_config_of_unconfigurable_module_is_409(api_app):
    for method in ("get", "post", "put", "delete"):
        response = getattr(api_app, method)(
            "/v1/rating/module_config/noop/anything", expect_errors=True
        )
        assert response.status_int == 409
        assert response.json["faultstring"] == "Module is not configurable"


def test_v2_modules(api_app):
    listed = {m["module_id"]: m for m in api_app.get("/v2/rating/modules").json["modules"]}
    assert listed["hashmap"] == {
        "module_id": "hashmap",
        "description": "HashMap rating module.",
        "enabled": False,
        "hot_config": True,
        "priority": 1,
    }
    response = api_app.put_json("/v2/rating/modules/hashmap", {"enabled": True, "priority": 3})
    assert response.status_int == 204
    shown = api_app.get("/v2/rating/modules/hashmap").json
    assert (shown["enabled"], shown["priority"]) == (True, 3)


def test_v2_errors_have_message_bodies(api_app):
    missing = api_app.get("/v2/rating/modules/nope", expect_errors=True)
    assert missing.status_int == 404
    assert missing.json == {"message": "Module 'nope' not found"}
    extra = api_app.put_json("/v2/rating/modules/hashmap", {"colour": 1}, expect_errors=True)
    assert extra.status_int == 400
    assert "extra keys not allowed" in extra.json["message"]
    bad = api_app.put_json("/v2/rating/modules/hashmap", {"priority": "high"}, expect_errors=True)
    assert bad.status_int == 400
    assert api_app.get("/v2/rating/modules/hashmap").json["priority"] == 1
