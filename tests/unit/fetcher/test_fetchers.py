"""Fetcher loader, source fetcher and Prometheus fetcher (no network)."""

from __future__ import annotations

import datetime
import json

import pytest
import requests
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.conf import fetcher as fetcher_conf
from cloudkitty.conf import fetcher_prometheus, fetcher_source
from cloudkitty.fetcher import base
from cloudkitty.fetcher.prometheus import PrometheusFetcher
from cloudkitty.fetcher.source import SourceFetcher
from tests.unit.collector.fakes import FakeResponse, FakeSession, vector

URL = "http://prom.example:9090/api/v1"


def make_conf(module=None, **overrides):
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    if module is not None:
        conf.register_opts(module.opts, group=module.GROUP)
        for key, value in overrides.items():
            conf.set_override(key, value, group=module.GROUP)
    return conf


def test_fetcher_class_lookup():
    assert base.fetcher_class("source") is SourceFetcher
    assert base.fetcher_class("prometheus") is PrometheusFetcher


def test_unknown_fetcher_is_a_config_error():
    with pytest.raises(exceptions.ConfigError) as err:
        base.get_fetcher("nope", make_conf())
    assert str(err.value).startswith("unknown fetcher 'nope'; installed: ")
    assert "source" in str(err.value)


def test_load_fetcher_from_backend_option():
    conf = make_conf(fetcher_source, sources=["a"])
    conf.register_opts(fetcher_conf.opts, group="fetcher")
    assert conf.fetcher.backend == "keystone"  # the contract's default
    conf.set_override("backend", "source", group="fetcher")
    fetcher = base.load_fetcher(conf)
    assert isinstance(fetcher, SourceFetcher)
    assert fetcher.get_scopes() == ["a"]


def test_source_fetcher_dedupes_and_strips():
    conf = make_conf(fetcher_source, sources=["b", " a", "b", "", "c "])
    assert SourceFetcher(conf).get_scopes() == ["b", "a", "c"]


def test_source_fetcher_empty_by_default():
    assert SourceFetcher(make_conf()).get_scopes() == []


def prometheus_fetcher(session, **overrides):
    options = {"metric": "openstack_identity_project_info", "prometheus_url": URL, **overrides}
    return PrometheusFetcher(make_conf(fetcher_prometheus, **options), session=session)


def test_prometheus_fetcher_query_and_scopes():
    session = FakeSession(
        vector(
            ({"project_id": "p2"}, "1"),
            ({"project_id": "p1"}, "1"),
            ({"project_id": ""}, "1"),
            ({}, "1"),
        )
    )
    fetcher = prometheus_fetcher(
        session, filters={"domain_id": 'de"fault', "enabled": "1"}, prometheus_user="u"
    )
    at = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    assert fetcher.get_scopes(at) == ["p1", "p2"]
    (call,) = session.calls
    assert call["url"] == f"{URL}/query"
    assert call["params"] == {
        "query": 'max(openstack_identity_project_info{domain_id="de\\"fault", enabled="1"})'
        " by (project_id)",
        "time": "2024-01-01T00:00:00Z",
    }
    assert call["auth"] == ("u", "")


def test_prometheus_fetcher_without_filters_and_other_attribute():
    session = FakeSession(vector(({"tenant": "t"}, "1")))
    fetcher = prometheus_fetcher(session, scope_attribute="tenant")
    assert fetcher.build_query() == "max(openstack_identity_project_info{}) by (tenant)"
    assert fetcher.get_scopes() == ["t"]
    assert "time" in session.calls[0]["params"]  # always explicit


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"metric": None}, "metric: required"),
        ({"metric": "bad-name"}, "not a Prometheus metric name"),
        ({"prometheus_url": ""}, "prometheus_url: required"),
        ({"scope_attribute": "a b"}, "'a b' is not a Prometheus label name"),
        ({"filters": {"x-y": "1"}}, "'x-y' is not a Prometheus label name"),
    ],
)
def test_prometheus_fetcher_config_errors(overrides, fragment):
    with pytest.raises(exceptions.ConfigError) as err:
        prometheus_fetcher(FakeSession(), **overrides)
    assert fragment in str(err.value) and "[fetcher_prometheus]" in str(err.value)


@pytest.mark.parametrize(
    "answer",
    [
        FakeResponse(400, json.dumps({"status": "error", "errorType": "bad_data", "error": "x"})),
        FakeResponse(500, "oops"),
        requests.ConnectionError("refused"),
    ],
)
def test_prometheus_fetcher_errors(answer):
    with pytest.raises(base.FetcherError) as err:
        prometheus_fetcher(FakeSession(answer)).get_scopes()
    assert isinstance(err.value, exceptions.BackendError)
    assert err.value.cause is not None
    assert str(err.value).startswith("prometheus fetcher: Prometheus at ")
