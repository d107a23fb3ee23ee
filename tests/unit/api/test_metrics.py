"""/metrics on the API: request latency by route template, method and status."""

from __future__ import annotations

import pytest

from cloudkitty.api import metrics

UUID = "0b8f3f2e-1111-2222-3333-444455556666"


def _count(text, route, method, status):
    line = (
        "cloudkitty_api_request_duration_seconds_count"
        f'{{method="{method}",route="{route}",status="{status}"}} '
    )
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/", "/"),
        ("/v1/rating/modules/", "/v1/rating/modules"),
        (
            f"/v1/rating/module_config/hashmap/mappings/{UUID}",
            "/v1/rating/module_config/hashmap/mappings/{id}",
        ),
        ("/v2/scope/" + UUID.replace("-", ""), "/v2/scope/{id}"),
        ("/v1/things/42/parts", "/v1/things/{id}/parts"),
        ("/v1/info/metrics/instance", "/v1/info/metrics/instance"),
        ("/x/" + "a" * 80, "/x/{id}"),
    ],
)
def test_paths_become_templates(path, template):
    assert metrics.route_template(path) == template


def test_requests_are_measured_by_template(api_app):
    before = api_app.get("/metrics").text
    api_app.get("/v1/rating/modules/")
    api_app.get(f"/v1/rating/module_config/hashmap/services/{UUID}", status=404)
    after = api_app.get("/metrics").text
    assert _count(after, "/v1/rating/modules", "GET", "200") == (
        _count(before, "/v1/rating/modules", "GET", "200") + 1
    )
    route = "/v1/rating/module_config/hashmap/services/{id}"
    assert _count(after, route, "GET", "404") == _count(before, route, "GET", "404") + 1
    assert UUID not in after
    # /metrics and /healthcheck are outside the measured pipeline.
    assert 'route="/metrics"' not in after


def test_metrics_and_healthcheck_answer_without_the_api_pipeline(api_app):
    response = api_app.get("/metrics")
    assert response.content_type.startswith("text/plain")
    assert "# TYPE cloudkitty_api_request_duration_seconds histogram" in response.text
    assert "x-openstack-request-id" not in response.headers


def _app(status="200 OK", raises=None):
    def app(environ, start_response):
        if raises:
            raise raises
        start_response(status, [("Content-Type", "text/plain")])
        return [b"body"]

    return app


def _environ(path, method="GET"):
    return {"PATH_INFO": path, "SCRIPT_NAME": "", "REQUEST_METHOD": method}


def _sample(route, method, status):
    value = metrics.REGISTRY.get_sample_value(
        "cloudkitty_api_request_duration_seconds_count",
        {"route": route, "method": method, "status": status},
    )
    return value or 0.0


def test_a_failing_application_counts_as_500():
    middleware = metrics.RequestMetrics(_app(raises=RuntimeError("boom")))
    before = _sample("/unit/raises", "GET", "500")
    with pytest.raises(RuntimeError):
        middleware(_environ("/unit/raises"), lambda *a: None)
    assert _sample("/unit/raises", "GET", "500") == before + 1


def test_the_request_ends_when_the_body_is_closed():
    middleware = metrics.RequestMetrics(_app("201 Created"))
    before = _sample("/unit/body", "other", "201")  # unknown methods are "other"
    body = middleware(_environ("/unit/body", "BREW"), lambda *a: None)
    assert list(body) == [b"body"]
    assert _sample("/unit/body", "other", "201") == before  # still sending
    body.close()
    body.close()  # a second close does not count twice
    assert _sample("/unit/body", "other", "201") == before + 1


def test_route_labels_are_capped():
    routes = metrics._Routes(limit=2)
    assert routes.label("/a") == "/a"
    assert routes.label("/b") == "/b"
    assert routes.label("/c") == metrics.OTHER
    assert routes.label("/a/") == "/a"
