"""The Gnocchi fetcher against a real Gnocchi 4.7: distinct scope values,
value-marker pagination, several resource types, null attributes."""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
from oslo_config import cfg

from cloudkitty.conf import fetcher_gnocchi
from cloudkitty.fetcher import base
from cloudkitty.fetcher import gnocchi as gnocchi_fetcher

pytest_plugins = ["tests.functional.services.gnocchi"]


class Resources:
    def __init__(self, gnocchi: Any) -> None:
        tag = uuid.uuid4().hex[:8]
        self.tag = tag
        self.disk_type = f"disk_{tag}"
        gnocchi.create_resource_type(self.disk_type, {"size": "number"})
        # 7 projects with 1..3 resources each (generic), 2 more only on disks.
        self.generic_projects = [f"{tag}-p{i}" for i in range(7)]
        self.disk_projects = [f"{tag}-d{i}" for i in range(2)]
        for index, project in enumerate(self.generic_projects):
            for _ in range(1 + index % 3):
                gnocchi.create_resource("generic", {"project_id": project}, {})
        for project in self.disk_projects:
            gnocchi.create_resource(self.disk_type, {"project_id": project, "size": 1}, {})
        # No project at all: must not become a scope "None".
        gnocchi.create_resource("generic", {"user_id": f"{tag}-lonely"}, {})


@pytest.fixture(scope="module")
def resources(gnocchi_service: Any) -> Resources:
    return Resources(gnocchi_service)


def make_fetcher(gnocchi: Any, **options: Any) -> gnocchi_fetcher.GnocchiFetcher:
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    fetcher_gnocchi.register_opts(conf)
    values = {**gnocchi.client_options(), **options}
    for name, value in values.items():
        conf.set_override(name, value, "fetcher_gnocchi")
    fetcher = base.get_fetcher("gnocchi", conf)  # through the real entry point
    assert isinstance(fetcher, gnocchi_fetcher.GnocchiFetcher)
    return fetcher


def ours(scopes: list[str], resources: Resources) -> list[str]:
    # Other tests share this Gnocchi: look only at this module's values.
    return [s for s in scopes if s.startswith(resources.tag)]


@pytest.mark.parametrize("page_size", [1000, 2, 1])
def test_distinct_projects_over_pages(gnocchi_service, resources, page_size):
    fetcher = make_fetcher(gnocchi_service)
    search = fetcher.client.resource.search
    with (
        mock.patch.object(gnocchi_fetcher, "PAGE_SIZE", page_size),
        mock.patch.object(fetcher.client.resource, "search", wraps=search) as spy,
    ):
        scopes = fetcher.get_scopes()
    # 'generic' covers every type, the disk projects included.
    expected = sorted(resources.generic_projects + resources.disk_projects)
    assert ours(scopes, resources) == expected
    assert scopes == sorted(set(scopes)) and "None" not in scopes
    if page_size == 1:
        # One call per distinct value (+1 for the empty last page): the
        # other resources of a project already seen are skipped.
        assert spy.call_count == len(scopes) + 1
    for call in spy.call_args_list[1:]:
        assert ">" in call.kwargs["query"]  # a value marker, no "not in" list


def test_resource_types_restrict_the_search(gnocchi_service, resources):
    fetcher = make_fetcher(gnocchi_service, resource_types=[resources.disk_type])
    assert fetcher.get_scopes() == sorted(resources.disk_projects)


def test_another_scope_attribute(gnocchi_service, resources):
    fetcher = make_fetcher(gnocchi_service, scope_attribute="user_id")
    assert f"{resources.tag}-lonely" in fetcher.get_scopes()


def test_unknown_resource_type_is_a_fetcher_error(gnocchi_service, resources):
    fetcher = make_fetcher(gnocchi_service, resource_types=["no_such_type"])
    with pytest.raises(base.FetcherError):
        fetcher.get_scopes()
