"""The OpenAPI document against the implementation.

* It is a valid OpenAPI 3 document, served unchanged at ``/openapi.yaml``
  and ``/openapi.json``, and ``doc/source/api/openapi.yaml`` is the same file.
* Every route the Pecan controller tree serves is documented: the tree is
  walked (attributes, RestController handlers, custom actions and the known
  ``_lookup`` expansions) and compared with the document's paths.
* Every documented operation answers on a populated SQLite database with a
  status other than 404/405, a status the document lists, and a body that
  validates against the documented schema for that status.
* Every documented error body is the version's contract body.
"""

from __future__ import annotations

import datetime
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec
from pecan import rest

from cloudkitty.api import app, openapi, root
from cloudkitty.api.v1 import collector as v1_collector
from cloudkitty.api.v1 import controllers as v1_controllers
from cloudkitty.api.v1 import rating as v1_rating
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.rating import base as rating_base
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import StateRepository
from tests.conftest import make_conf

ROOT = Path(__file__).resolve().parents[3]
DOC = yaml.safe_load(Path(openapi.PATH).read_text())
METHODS = ("get", "put", "post", "delete", "patch")
HASHMAP = "/v1/rating/module_config/hashmap"
PYSCRIPTS = "/v1/rating/module_config/pyscripts"

#: Served on purpose but not documented, with the reason.
UNDOCUMENTED = {
    ("GET", "/v1"): "version stub answering 405 (contract 2.2)",
}
#: Alias prefixes: the same controller object as the documented prefix.
ALIASES = {"/v1/billing": "/v1/rating"}
#: RestController handlers and the routes they make (others must be added here).
REST_HANDLERS = {"get", "get_all", "get_one", "post", "put", "delete", "patch"}


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def documented_operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in DOC["paths"].items()
        for method in METHODS
        if method in item
    ]


# -- the document itself ---------------------------------------------------------


def test_document_is_valid_openapi_3() -> None:
    validate_spec(DOC)
    assert DOC["openapi"].startswith("3.")


def test_doc_tree_copy_is_the_packaged_document() -> None:
    doc_copy = ROOT / "doc" / "source" / "api" / "openapi.yaml"
    assert doc_copy.resolve() == Path(openapi.PATH).resolve() or (
        doc_copy.read_text() == Path(openapi.PATH).read_text()
    )


def test_packaged_with_the_wheel() -> None:
    setup_cfg = (ROOT / "setup.cfg").read_text()
    package_data = setup_cfg.split("[options.package_data]", 1)[1].split("[", 1)[0]
    assert "api/openapi.yaml" in package_data


def test_error_responses_use_the_contract_bodies() -> None:
    """4xx/5xx JSON bodies: v1 faults under /v1, {"message"} under /v2,
    keystonemiddleware's body for 401."""
    wrong = []
    for path, item in DOC["paths"].items():
        for method in METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                if not str(status).startswith(("4", "5")):
                    continue
                name = response.get("$ref", "").rsplit("/", 1)[-1]
                if status == "401":
                    expected = "Unauthorized"
                elif path.startswith("/v1/"):
                    expected = "V1"
                elif path.startswith("/v2/"):
                    expected = "V2"
                else:
                    continue
                if not name.startswith(expected):
                    wrong.append((method, path, status, name))
    assert not wrong
    schemas = DOC["components"]["schemas"]
    assert schemas["V1Error"]["required"] == ["faultcode", "faultstring", "debuginfo"]
    assert schemas["V2Error"]["required"] == ["message"]


# -- the controller tree -------------------------------------------------------------


def _original(handler: Any) -> Any:
    return getattr(handler, "_wsme_original_func", handler)


def _id_params(handler: Any) -> list[inspect.Parameter]:
    """Positional parameters that may come from the path (not the body)."""
    params = [
        p
        for p in list(inspect.signature(_original(handler)).parameters.values())[1:]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    definition = getattr(handler, "_wsme_definition", None)
    if definition is not None and definition.body_type is not None and params:
        params = params[:-1]
    return params


def _is_controller(value: Any) -> bool:
    return (
        not inspect.isroutine(value)
        and not inspect.isclass(value)
        and type(value).__module__.startswith("cloudkitty.")
    )


def _lookups(controller: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """The sub-trees a ``_lookup`` builds, for the controllers that have one."""
    if isinstance(controller, v1_collector.CollectorController):
        yield f"{prefix}/{{name}}/states", v1_collector.NamedStateController("x")
    elif isinstance(controller, v1_rating.ModuleConfigController):
        for name, cls in sorted(rating_base.module_classes().items()):
            sub = cls.config_controller()
            if sub is not None:
                yield f"{prefix}/{name}", sub
    else:
        raise AssertionError(f"{type(controller).__name__} has a _lookup this test does not know")


def walk(controller: Any, prefix: str = "", only_get_all: bool = False) -> set[tuple[str, str]]:
    """(METHOD, path template) pairs served under ``prefix``."""
    routes: set[tuple[str, str]] = set()
    cls = type(controller)
    handlers = {
        name
        for name in REST_HANDLERS | {"new", "edit", "get_delete"}
        if getattr(getattr(controller, name, None), "exposed", False)
    }
    assert not handlers - REST_HANDLERS, f"{cls.__name__}: unexpected handlers"
    if only_get_all:
        # A sub-controller reached through its parent's id (services/<id>/fields):
        # only its list is meant to be reached that way.
        return {("GET", prefix)} if "get_all" in handlers else set()
    if isinstance(controller, rest.RestController):
        base = prefix or "/"
        for name in handlers:
            handler = getattr(cls, name)  # unbound: its signature starts with self
            if name in ("get", "get_all"):
                routes.add(("GET", base))
            elif name == "get_one":
                routes.add(("GET", f"{prefix}/{{}}"))
            elif name in ("post", "patch"):
                routes.add((name.upper(), base))
            else:  # put, delete: the id in the path, or in the body when optional
                ids = _id_params(handler)
                if ids:
                    routes.add((name.upper(), f"{prefix}/{{}}"))
                if not ids or ids[0].default is not inspect.Parameter.empty:
                    routes.add((name.upper(), base))
        for action, methods in getattr(controller, "_custom_actions", {}).items():
            for method in methods:
                routes.add((method.upper(), f"{prefix}/{action}"))
    if getattr(controller, "_lookup", None) is not None and "_lookup" in vars(cls):
        for sub_prefix, sub in _lookups(controller, prefix):
            routes |= walk(sub, sub_prefix)
    through_id = "get_one" in handlers
    for name in sorted(dir(controller)):
        if name.startswith("_") or name in REST_HANDLERS:
            continue
        if name in getattr(controller, "_custom_actions", {}):
            continue
        value = getattr(controller, name)
        if not _is_controller(value):
            continue
        sub_prefix = f"{prefix}/{{}}/{name}" if through_id else f"{prefix}/{name}"
        routes |= walk(value, sub_prefix, only_get_all=through_id)
    return routes


def served_routes() -> set[tuple[str, str]]:
    served = set()
    for method, path in walk(root.RootController()):
        alias = next((a for a in ALIASES if path == a or path.startswith(a + "/")), None)
        if alias is not None:
            continue
        if (method, path) in UNDOCUMENTED:
            continue
        served.add((method, _norm(path)))
    return served


def test_aliases_are_the_same_controllers() -> None:
    assert v1_controllers.V1Controller.billing is v1_controllers.V1Controller.rating


def test_every_served_route_is_documented() -> None:
    documented = {(method, _norm(path)) for method, path in documented_operations()}
    served = served_routes()
    missing = sorted(served - documented)
    assert not missing, f"served but not documented: {missing}"
    # The walk must see the bulk of the API (guards against a walk that finds nothing).
    assert len(served) >= 60


# -- every documented operation answers -------------------------------------------

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
METRICS_YML = """\
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id, project_id]
    metadata: [flavor]
"""


class Probe:
    """A noauth API on a SQLite file with one of everything."""

    def __init__(self, tmp_path: Path, sqlite_url: str) -> None:
        metrics = tmp_path / "metrics.yml"
        metrics.write_text(METRICS_YML)
        conf = make_conf(
            sqlite_url,
            collect={"metrics_conf": str(metrics), "collector": "prometheus", "period": 3600},
        )
        self.api = webtest.TestApp(app.load_app(conf))
        self.counter = 0
        db = Database.from_url(sqlite_url)
        storage = SQLStorage(None, db)
        states = StateRepository(db)
        for project in ("pa", "pb"):
            point = DataPoint.create(
                "instance", "1", "0.5", {"project_id": project, "id": "vm"}, {"flavor": "m1"}
            )
            storage.push([DataFrame(T0, T0 + HOUR, {"instance": [point]})], project)
            states.create(project, T0 + 2 * HOUR, scope_key="project_id")
        self.ids: dict[str, str] = {
            "metric_id": "instance",
            "module_id": "hashmap",
            "scope_id": "pa",
            "name": "col",
            "collector": "col",
            "service": "svc",
        }
        self.api.post("/v1/collector/mappings/col/svc")
        self.ids["service_id"] = self.create("services")
        self.ids["field_id"] = self.create("fields")
        self.ids["group_id"] = self.create("groups")
        self.ids["mapping_id"] = self.create("mappings")
        self.ids["threshold_id"] = self.create("thresholds")
        self.ids["script_id"] = self.create("scripts")
        self.api.post_json(
            "/v2/task/reprocesses",
            {
                "scope_ids": "pa",
                "start_reprocess_time": "2024-01-01T00:00:00Z",
                "end_reprocess_time": "2024-01-01T01:00:00Z",
                "reason": "probe",
            },
        )

    def unique(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}-{self.counter}"

    def create(self, kind: str) -> str:
        """A new resource of ``kind`` (for the routes that delete one); its id."""
        if kind == "collector":
            service = self.unique("victim")
            self.api.post(f"/v1/collector/mappings/col/{service}")
            return service
        if kind == "scripts":
            # Not started yet: every attribute stays updatable.
            body = {"name": self.unique("script"), "data": "a = 0", "start": "2999-01-01"}
            response = self.api.post_json(f"{PYSCRIPTS}/scripts", body)
            return str(response.json["script_id"])
        bodies: dict[str, dict[str, Any]] = {
            "services": {"name": self.unique("compute")},
            "fields": {"name": self.unique("flavor"), "service_id": self.ids.get("service_id")},
            "groups": {"name": self.unique("group")},
            "mappings": {
                "cost": "1.5",
                "field_id": self.ids.get("field_id"),
                "value": self.unique("m1"),
                "group_id": self.ids.get("group_id"),
            },
            "thresholds": {
                "cost": "0.5",
                "level": str(self.counter + 1),
                "service_id": self.ids.get("service_id"),
                "group_id": self.ids.get("group_id"),
            },
        }
        response = self.api.post_json(f"{HASHMAP}/{kind}", bodies[kind])
        return str(response.json[f"{kind[:-1]}_id"])


def _kind(path: str) -> str:
    if path.startswith("/v1/collector/mappings"):
        return "collector"
    return path.split("/")[5]


#: A request body per operation (bodies of DELETE are built from a new victim).
BODIES: dict[str, Any] = {
    "v1SetCollectorMapping": {"collector": "col", "service": "svc2"},
    "v1SetCollectorStateByBody": {"name": "col", "enabled": True},
    "v1SetCollectorState": {"enabled": True},
    "v1SetNamedCollectorState": {"enabled": False},
    "v1UpdateModule": {"module_id": "hashmap", "enabled": True, "priority": 2},
    "v1Quote": {"resources": [{"service": "instance", "desc": {"flavor": "m1"}, "volume": "2"}]},
    "hashmapCreateService": {"name": "created-service"},
    "hashmapCreateField": {"name": "created-field", "service_id": "{service_id}"},
    "hashmapCreateGroup": {"name": "created-group"},
    "hashmapCreateMapping": {"cost": "0.1", "service_id": "{service_id}", "type": "rate"},
    "hashmapUpdateMappingByBody": {"mapping_id": "{mapping_id}", "end": "2999-01-01"},
    "hashmapUpdateMapping": {"end": "2999-01-01"},
    "hashmapCreateThreshold": {"cost": "1", "level": "99", "field_id": "{field_id}"},
    "hashmapUpdateThresholdByBody": {"threshold_id": "{threshold_id}", "level": "3", "cost": "1"},
    "hashmapUpdateThreshold": {"level": "4", "cost": "2", "type": "rate"},
    "pyscriptsCreateScript": {"name": "created-script", "data": "b = 1"},
    "pyscriptsUpdateScriptByBody": {"script_id": "{script_id}", "description": "d"},
    "pyscriptsUpdateScript": {"description": "e"},
    "v2AddDataFrames": {
        "dataframes": [
            {
                "period": {"begin": "2024-01-02T00:00:00Z", "end": "2024-01-02T01:00:00Z"},
                "usage": {
                    "instance": [
                        {
                            "vol": {"unit": "instance", "qty": 1},
                            "rating": {"price": 0.25},
                            "groupby": {"project_id": "pa"},
                            "metadata": {},
                        }
                    ]
                },
            }
        ]
    },
    "v2ResetScopes": {"scope_id": "pb", "last_processed_timestamp": "2024-01-01T00:00:00Z"},
    "v2PatchScope": {"scope_id": "pb", "active": True},
    "v2CreateScope": {"scope_id": "pc", "last_processed_timestamp": "2024-01-01T00:00:00Z"},
    "v2UpdateModule": {"enabled": True},
    "v2ScheduleReprocess": {
        "scope_ids": ["pb"],
        "start_reprocess_time": "2024-01-01T00:00:00Z",
        "end_reprocess_time": "2024-01-01T01:00:00Z",
        "reason": "probe",
    },
}
#: Query strings of operations that need (or show best with) one.
QUERIES: dict[str, str] = {
    "v1ListTenants": "begin=2024-01-01&end=2024-02-01",
    "v1GetTotal": "begin=2024-01-01&end=2024-02-01",
    "v1GetSummary": "begin=2024-01-01&end=2024-02-01&groupby=tenant_id,res_type",
    "v1ListDataFrames": "begin=2024-01-01&end=2024-02-01",
    "v2GetDataFrames": "begin=2024-01-01T00:00:00Z&end=2024-02-01T00:00:00Z",
    "v2GetSummary": "begin=2024-01-01T00:00:00Z&end=2024-02-01T00:00:00Z&groupby=project_id",
    "hashmapListThresholds": "service_id={service_id}",
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def resolve(node: Any) -> Any:
    """``node`` with every local ``$ref`` inlined."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = DOC
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target)
        return {key: resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item) for item in node]
    return node


def _required_query(operation: dict[str, Any], item: dict[str, Any]) -> list[str]:
    params = resolve(item.get("parameters", [])) + resolve(operation.get("parameters", []))
    return [p["name"] for p in params if p["in"] == "query" and p.get("required")]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Probe:
    from cloudkitty.db import migrate

    tmp_path = tmp_path_factory.mktemp("openapi")
    url = f"sqlite:///{tmp_path}/probe.sqlite"
    migrate.upgrade(url)
    return Probe(tmp_path, url)


def _ordered() -> list[tuple[str, str]]:
    # Deletions last, so the resources the other probes read still exist.
    return sorted(documented_operations(), key=lambda op: op[0] == "DELETE")


@pytest.mark.parametrize(("method", "path"), _ordered(), ids=lambda v: v)
def test_documented_operation_answers(probe: Probe, method: str, path: str) -> None:
    item = DOC["paths"][path]
    operation = item[method.lower()]
    op_id = operation["operationId"]
    ids = dict(probe.ids)
    body = None
    if method == "DELETE":
        victim = probe.create(_kind(path))
        key = re.findall(r"\{(\w+)\}", path)
        if key:
            ids[key[-1]] = victim
        else:
            schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
            body = {schema["required"][0]: victim}
    elif "requestBody" in operation:
        body = _fill(BODIES[op_id], ids)
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
    query = _fill(QUERIES.get(op_id, ""), ids)
    missing = [name for name in _required_query(operation, item) if f"{name}=" not in query]
    query = "&".join([query, *(f"{name}={ids[name]}" for name in missing)]).strip("&")
    if query:
        url = f"{url}?{query}"
    kwargs: dict[str, Any] = {"expect_errors": True}
    if body is not None:
        kwargs.update(body=json.dumps(body).encode(), content_type="application/json")
    response = probe.api.request(url, method=method, **kwargs)

    assert response.status_int not in (404, 405), (url, response.status, response.text)
    responses = operation["responses"]
    assert str(response.status_int) in responses, (url, response.status, response.text)
    documented = resolve(responses[str(response.status_int)])
    content = documented.get("content")
    if not content:
        assert response.body == b"", (url, response.body)
        return
    media_type = response.content_type
    assert media_type in content, (url, media_type)
    if media_type == "application/json":
        OAS30Validator(content[media_type]["schema"]).validate(response.json)


def test_documented_statuses_are_mostly_successes(probe: Probe) -> None:
    """The probes above mostly succeed (so the success schemas are exercised):
    check a few at random spots with explicit expectations."""
    api = probe.api
    assert api.get("/openapi.yaml").text == Path(openapi.PATH).read_text()
    assert api.get("/openapi.json").json == DOC
    assert api.get(f"{HASHMAP}/services/{probe.ids['service_id']}").status_int == 200
    assert api.get("/v2/scope").status_int == 200
