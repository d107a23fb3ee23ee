"""Fixtures of the v1 read-route tests: a migrated SQLite file per test
(copied from one migrated template), a metrics.yml, the API in noauth mode
(full paste pipeline) or in keystone mode (the Pecan app, with the headers
keystonemiddleware would set), and rated data pushed through the storage."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import webtest

from cloudkitty.api import app
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import migrate
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.conftest import make_conf

UTC = datetime.timezone.utc

#: gnocchi is the default collector: resource_type is mandatory there.
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
  volume.size:
    - unit: GiB
      groupby: [id]
      metadata: [volume_type]
      extra_args:
        resource_type: volume
    - unit: GiB
      alt_name: volume.backup
      extra_args:
        resource_type: volume
"""

PROJECT_A = "8f82cc70-e50c-466e-8624-24bdea811375"
PROJECT_B = "7606a24a-b8ad-4ae0-be6c-3d7a41334a2e"
JUNE = "begin=2019-06-01 00:00:00&end=2019-07-01 00:00:00"


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("v1-template") / "template.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def v1_db_url(template_db: str, tmp_path: Any) -> str:
    """A migrated, empty SQLite file for this test (a copy: no migration)."""
    path = tmp_path / "v1.sqlite"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def metrics_path(tmp_path: Any) -> str:
    path = tmp_path / "metrics.yml"
    path.write_text(METRICS_YML)
    return str(path)


@pytest.fixture
def make_app(v1_db_url: str, metrics_path: str) -> Callable[..., webtest.TestApp]:
    """Build the API with option overrides per group (``collect={...}``).

    ``keystone=True`` builds the bare Pecan app with auth_strategy=keystone:
    the tests then send X-Roles/X-Project-Id/X-User-Id themselves, as
    keystonemiddleware does after validating a token.
    """

    def build(keystone: bool = False, **groups: dict[str, object]) -> webtest.TestApp:
        groups = {key: dict(value) for key, value in groups.items()}
        groups.setdefault("collect", {}).setdefault("metrics_conf", metrics_path)
        if keystone:
            groups.setdefault("DEFAULT", {})["auth_strategy"] = "keystone"
            conf = make_conf(v1_db_url, **groups)
            return webtest.TestApp(app.setup_app(conf))
        return webtest.TestApp(app.load_app(make_conf(v1_db_url, **groups)))

    return build


@pytest.fixture
def api(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    """The API in noauth mode (everyone is an admin without a project)."""
    return make_app()


Push = Callable[..., None]


@pytest.fixture
def push(v1_db_url: str) -> Push:
    """``push(scope, begin, end, {type: [(qty, price, groupby, metadata)]})``.

    The scope id is added to each point's groupby as ``project_id``, as the
    collector does, unless the groupby already names it (or ``scoped=False``).
    """
    storage = SQLStorage(None, Database.from_url(v1_db_url))

    def _push(
        scope: str | None,
        begin: datetime.datetime,
        end: datetime.datetime,
        usage: Mapping[str, list[tuple[Any, ...]]],
        scoped: bool = True,
    ) -> None:
        points: dict[str, list[DataPoint]] = {}
        for metric_type, rows in usage.items():
            for qty, price, *rest in rows:
                groupby = dict(rest[0]) if rest else {}
                metadata = dict(rest[1]) if len(rest) > 1 else {}
                if scoped and scope is not None:
                    groupby.setdefault("project_id", scope)
                points.setdefault(metric_type, []).append(
                    DataPoint.create("unit", qty, price, groupby, metadata)
                )
        storage.push([DataFrame(begin, end, points)], scope)

    return _push


@pytest.fixture
def rated(push: Push) -> None:
    """Two projects in June 2019 and B again in July.

    A: 00:00 cpu 1.337 + 0.1, image.size 0.2 (+1e-28); 01:00 cpu 1.337.
    B: 00:00 cpu 2.25; July cpu 5.
    """
    push(
        PROJECT_A,
        at(2019, 6, 1, 0),
        at(2019, 6, 1, 1),
        {
            "cpu": [
                ("1", "1.337", {"id": "vm-1"}, {"flavor_name": "m1.tiny"}),
                ("2", "0.1", {"id": "vm-2"}, {"flavor_name": "m1.nano"}),
            ],
            "image.size": [
                ("3.5", "0.2000000000000000000000000001", {"id": "img-1"}, {"disk_format": "raw"}),
            ],
        },
    )
    push(
        PROJECT_A,
        at(2019, 6, 1, 1),
        at(2019, 6, 1, 2),
        {"cpu": [("1", "1.337", {"id": "vm-1"}, {"flavor_name": "m1.tiny"})]},
    )
    push(PROJECT_B, at(2019, 6, 1, 0), at(2019, 6, 1, 1), {"cpu": [("1", "2.25", {"id": "vm-9"})]})
    push(PROJECT_B, at(2019, 7, 1, 0), at(2019, 7, 1, 1), {"cpu": [("1", "5", {"id": "vm-9"})]})


def identity(roles: str, project: str | None = None, user: str = "user-1") -> dict[str, str]:
    """The headers keystonemiddleware sets for a validated token."""
    headers = {"X-Roles": roles, "X-User-Id": user}
    if project:
        headers["X-Project-Id"] = project
    return headers
