"""The Gnocchi fetcher with an in-memory resource search: distinct values,
value-marker pagination, nulls, several types, errors."""

from __future__ import annotations

from typing import Any

import pytest
from gnocchiclient import exceptions as gexc
from oslo_config import cfg

from cloudkitty.conf import fetcher_gnocchi
from cloudkitty.fetcher import base
from cloudkitty.fetcher import gnocchi as gnocchi_fetcher


class FakeSearch:
    """Implements the two filters the fetcher sends, sorted and limited like
    Gnocchi: ``{"!=": {attr: None}}`` and ``{">": {attr: value}}``."""

    def __init__(self, resources: dict[str, list[dict]]) -> None:
        self.resources = resources
        self.calls: list[dict] = []
        self.resource = self
        self.error: Exception | None = None

    def search(self, **kwargs: Any) -> list[dict]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        ((operator, condition),) = kwargs["query"].items()
        ((attr, value),) = condition.items()
        rows = [r for r in self.resources[kwargs["resource_type"]] if r.get(attr) is not None]
        if operator == ">":
            rows = [r for r in rows if r[attr] > value]
        assert kwargs["sorts"] == [f"{attr}:asc"]
        return sorted(rows, key=lambda r: r[attr])[: kwargs["limit"]]


def resources(*projects: str | None) -> list[dict]:
    return [
        {"id": f"r{i}", "project_id": p, "user_id": f"u{i % 2}"} for i, p in enumerate(projects)
    ]


def make(client: FakeSearch, **options: Any) -> gnocchi_fetcher.GnocchiFetcher:
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    fetcher_gnocchi.register_opts(conf)
    for name, value in options.items():
        conf.set_override(name, value, "fetcher_gnocchi")
    return gnocchi_fetcher.GnocchiFetcher(conf, client=client)


def test_distinct_values_with_value_markers(monkeypatch):
    monkeypatch.setattr(gnocchi_fetcher, "PAGE_SIZE", 3)
    client = FakeSearch({"generic": resources("b", "a", "a", "a", "a", "c", None, "d", "b")})
    assert make(client).get_scopes() == ["a", "b", "c", "d"]
    queries = [c["query"] for c in client.calls]
    # Page 1: a, a, a -> next after "a" skips the fourth "a" entirely.
    assert queries == [
        {"!=": {"project_id": None}},
        {">": {"project_id": "a"}},
        {">": {"project_id": "c"}},
    ]


def test_several_resource_types_and_another_attribute():
    client = FakeSearch(
        {"instance": resources("p1", "p2"), "volume": resources("p3"), "generic": []}
    )
    fetcher = make(client, resource_types=["instance", "volume", "instance"])
    assert fetcher.get_scopes() == ["p1", "p2", "p3"]
    assert [c["resource_type"] for c in client.calls] == ["instance", "volume"]
    assert make(client, resource_types=["instance"], scope_attribute="user_id").get_scopes() == [
        "u0",
        "u1",
    ]


@pytest.mark.parametrize(
    "error", [gexc.ConnectionFailure(message="refused"), gexc.NotFound(404, "Resource type x")]
)
def test_errors_are_fetcher_errors(error):
    client = FakeSearch({"generic": []})
    client.error = error
    with pytest.raises(base.FetcherError) as caught:
        make(client).get_scopes()
    assert caught.value.cause.cause is error


def test_defaults():
    fetcher = make(FakeSearch({"generic": resources("p")}))
    assert fetcher.options.resource_types == ["generic"]
    assert fetcher.options.scope_attribute == "project_id"
    assert fetcher.options.gnocchi_auth_type == "keystone"
    assert fetcher.get_scopes() == ["p"]
