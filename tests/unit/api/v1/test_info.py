"""/v1/info: metrics (and the services alias) and the raw configuration."""

from __future__ import annotations

import pytest

from tests.unit.api.v1.conftest import METRICS_YML

EXPECTED_METRICS = [
    {"metric_id": "image.size", "metadata": ["disk_format", "container_format"], "unit": "MiB"},
    # metadata in file order: the scope key and groupby are never listed
    {
        "metric_id": "instance",
        "metadata": ["vcpus", "flavor_name", "flavor_id"],
        "unit": "instance",
    },
    {"metric_id": "volume.backup", "metadata": [], "unit": "GiB"},
    {"metric_id": "volume.size", "metadata": ["volume_type"], "unit": "GiB"},
]
INVALID = "Invalid endpoint: no metrics in current configuration."


@pytest.mark.parametrize("path", ["/v1/info/metrics", "/v1/info/metrics/", "/v1/info/services/"])
def test_metric_list_is_sorted_with_metadata_in_file_order(api, path):
    response = api.get(path)
    assert response.status_int == 200
    assert response.json == {"metrics": EXPECTED_METRICS}


def test_metric_list_order_is_stable_across_calls(api):
    first = api.get("/v1/info/metrics/").json
    assert all(api.get("/v1/info/metrics/").json == first for _ in range(3))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("instance", EXPECTED_METRICS[1]),  # alt_name
        ("cpu", EXPECTED_METRICS[1]),  # the source name of a single definition
        ("image.size", EXPECTED_METRICS[0]),
        ("volume.backup", EXPECTED_METRICS[2]),
    ],
)
def test_metric_get_by_metric_id(api, name, expected):
    assert api.get(f"/v1/info/metrics/{name}").json == expected
    assert api.get(f"/v1/info/services/{name}").json == expected


def test_metric_get_unknown_is_404_naming_it(api):
    response = api.get("/v1/info/metrics/nope", expect_errors=True)
    assert response.status_int == 404
    assert response.json == {"faultcode": "Client", "faultstring": "nope", "debuginfo": None}


def test_source_name_with_several_definitions_is_not_guessed(make_app, tmp_path):
    # volume.size has two definitions; its own alt-name-less one answers.
    api = make_app()
    assert api.get("/v1/info/metrics/volume.size").json == EXPECTED_METRICS[3]
    path = tmp_path / "two.yml"
    path.write_text(
        "metrics:\n  cpu:\n"
        "    - {unit: a, alt_name: x, extra_args: {resource_type: i}}\n"
        "    - {unit: b, alt_name: y, extra_args: {resource_type: i}}\n"
    )
    api = make_app(collect={"metrics_conf": str(path)})
    assert api.get("/v1/info/metrics/cpu", expect_errors=True).status_int == 404


def test_config_is_the_raw_document(api):
    response = api.get("/v1/info/config/")
    assert response.status_int == 200
    body = response.json
    assert body["metrics"]["cpu"] == {
        "unit": "instance",
        "alt_name": "instance",
        "groupby": ["id", "user_id"],
        "metadata": ["vcpus", "flavor_name", "flavor_id"],
        "extra_args": {"resource_type": "instance"},
    }
    assert body["metrics"]["image.size"]["factor"] == pytest.approx(1e-9)
    assert len(body["metrics"]["volume.size"]) == 2
    assert api.get("/v1/info/config").json == body


def test_config_renders_yaml_values_json_has_no_spelling_for(make_app, tmp_path):
    path = tmp_path / "odd.yml"
    path.write_text(
        METRICS_YML + "  x:\n    unit: u\n    since: 2019-06-01\n    mutate_map: {0: 1}\n"
    )
    body = make_app(collect={"metrics_conf": str(path)}).get("/v1/info/config").json
    assert body["metrics"]["x"]["since"] == "2019-06-01"
    assert body["metrics"]["x"]["mutate_map"] == {"0": 1}


@pytest.mark.parametrize(
    "path", ["/v1/info/config", "/v1/info/metrics", "/v1/info/metrics/instance"]
)
def test_missing_file_is_a_server_fault_naming_the_path(make_app, tmp_path, path):
    missing = str(tmp_path / "absent" / "metrics.yml")
    api = make_app(collect={"metrics_conf": missing})
    response = api.get(path, expect_errors=True)
    assert response.status_int == 500
    assert response.json == {
        "faultcode": "Server",
        "faultstring": f"Metrics configuration {missing} cannot be read: No such file or directory",
        "debuginfo": None,
    }


def test_broken_yaml(make_app, tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("metrics:\n  cpu: [unit\n")
    api = make_app(collect={"metrics_conf": str(path)})
    config = api.get("/v1/info/config", expect_errors=True)
    assert config.status_int == 500
    assert config.json["faultstring"].startswith(f"Metrics configuration {path} is not valid YAML")
    assert "Traceback" not in config.text
    metrics = api.get("/v1/info/metrics", expect_errors=True)
    assert (metrics.status_int, metrics.json["faultstring"]) == (405, INVALID)


def test_file_invalid_for_the_configured_collector_is_405(make_app, tmp_path):
    # gnocchi requires extra_args.resource_type
    path = tmp_path / "nores.yml"
    path.write_text("metrics:\n  cpu:\n    unit: instance\n")
    api = make_app(collect={"metrics_conf": str(path)})
    for url in ("/v1/info/metrics", "/v1/info/metrics/cpu", "/v1/info/services"):
        response = api.get(url, expect_errors=True)
        assert response.status_int == 405
        assert response.json == {"faultcode": "Client", "faultstring": INVALID, "debuginfo": None}
    # the raw document is still shown: it is what the operator must fix
    assert api.get("/v1/info/config").json == {"metrics": {"cpu": {"unit": "instance"}}}


def test_validation_uses_the_active_collector_schema(make_app):
    # "image.size" is fine for gnocchi but not a Prometheus metric name, and
    # resource_type is not a Prometheus extra_arg.
    api = make_app(collect={"collector": "prometheus"})
    response = api.get("/v1/info/metrics", expect_errors=True)
    assert (response.status_int, response.json["faultstring"]) == (405, INVALID)


def test_prometheus_file(make_app, tmp_path):
    path = tmp_path / "prom.yml"
    path.write_text(
        "metrics:\n  node_cpu:\n    unit: core\n    alt_name: cpu\n    groupby: [instance]\n"
        "    metadata: [mode, job]\n"
    )
    api = make_app(collect={"collector": "prometheus", "metrics_conf": str(path)})
    assert api.get("/v1/info/metrics").json == {
        "metrics": [{"metric_id": "cpu", "metadata": ["mode", "job"], "unit": "core"}]
    }
