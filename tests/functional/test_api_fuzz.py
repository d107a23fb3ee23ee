"""Property-based fuzzing of the live API from its own OpenAPI document.

A real ``cloudkitty-api`` (noauth) on PostgreSQL, with rated data, scope
states and hashmap rules, is driven by schemathesis with cases generated from
``/openapi.json`` as the server serves it: for every documented operation,
a bounded number of valid (positive) and invalid (negative) requests.

Every answer must be:

* never a 5xx;
* for a 4xx, the contract's error body of its version: v1
  ``{"faultcode": "Client", "faultstring": str, "debuginfo": null}``, v2
  ``{"message": str}``; Pecan's plain 404/405 only where the contract has
  them, a path that no controller serves (an invalid path parameter);
* for a valid request, a status the document lists, with the documented
  content type and a body matching the documented schema.

Bounded and deterministic: hypothesis is derandomized (the same cases on
every run), with no example database and a fixed number of cases.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as oas_checks

from cloudkitty.api import openapi
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import StateRepository
from tests.conftest import create_database, drop_database
from tests.functional.services.api_server import running_api

#: Cases per operation and generation mode (CK_FUZZ_EXAMPLES overrides).
EXAMPLES = {
    GenerationMode.POSITIVE: int(os.environ.get("CK_FUZZ_EXAMPLES", "12")),
    GenerationMode.NEGATIVE: int(os.environ.get("CK_FUZZ_EXAMPLES", "12")) * 2 // 3,
}
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
OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi.document()["paths"].items()
    for method in ("get", "put", "post", "delete", "patch")
    if method in item
]
#: Answers seen, by (mode, status); printed at the end of the module.
STATS: collections.Counter[tuple[str, int]] = collections.Counter()


class Live:
    def __init__(self, url: str, schema: Any) -> None:
        self.url = url
        self.schema = schema
        self.session = requests.Session()


def _populate(db_url: str, url: str) -> None:
    db = Database.from_url(db_url)
    storage = SQLStorage(None, db)
    states = StateRepository(db)
    for project in ("pa", "pb"):
        point = DataPoint.create(
            "instance", "1", "0.5", {"project_id": project, "id": "vm"}, {"flavor": "m1"}
        )
        storage.push([DataFrame(T0, T0 + HOUR, {"instance": [point]})], project)
        states.create(project, T0 + 2 * HOUR, scope_key="project_id")
    hashmap = f"{url}/v1/rating/module_config/hashmap"
    service = requests.post(f"{hashmap}/services", json={"name": "instance"}, timeout=10)
    service_id = service.json()["service_id"]
    field = requests.post(
        f"{hashmap}/fields", json={"name": "flavor", "service_id": service_id}, timeout=10
    ).json()
    requests.post(
        f"{hashmap}/mappings",
        json={"cost": "0.1", "field_id": field["field_id"], "value": "m1"},
        timeout=10,
    ).raise_for_status()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("fuzz")
    metrics = tmp / "metrics.yml"
    metrics.write_text(METRICS_YML)
    db_url = create_database("postgresql", str(tmp), prefix="ck_fuzz")
    extra = f"[collect]\nmetrics_conf = {metrics}\ncollector = prometheus\nperiod = 3600\n"
    try:
        with running_api(db_url, extra_config=extra) as url:
            _populate(db_url, url)
            schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
            yield Live(url, schema)
    finally:
        drop_database(db_url)
        if STATS:
            summary = ", ".join(
                f"{mode} {status}: {n}" for (mode, status), n in sorted(STATS.items())
            )
            print(f"\nfuzz answers: {sum(STATS.values())} ({summary})")


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def check_error_body(path: str, response: Any, invalid_path: bool) -> None:
    """A 4xx carries its version's contract body."""
    body = _json(response)
    content_type = response.headers.get("content-type", [""])[0]
    if body is None and response.status_code in (404, 405) and invalid_path:
        # Pecan's routing answer: a path no controller serves (contract 2.1).
        assert not content_type.startswith("application/json"), response.content
        STATS[("routing", response.status_code)] += 1
        return
    if path.startswith("/v1/"):
        assert isinstance(body, dict), response.content
        assert set(body) == {"faultcode", "faultstring", "debuginfo"}, body
        assert body["faultcode"] == "Client", body
        assert isinstance(body["faultstring"], str) and body["faultstring"], body
        assert body["debuginfo"] is None, body
    elif path.startswith("/v2/"):
        assert isinstance(body, dict) and set(body) == {"message"}, response.content
        assert isinstance(body["message"], str) and body["message"], body
    else:
        raise AssertionError(f"unexpected {response.status_code} on {path}")


def _path_is_negative(case: Any) -> bool:
    meta = case.meta
    if meta is None:
        return False
    return any(
        location.name.lower() == "path" and info.mode.is_negative
        for location, info in meta.components.items()
    )


CONFORMANCE = [
    oas_checks.status_code_conformance,
    oas_checks.content_type_conformance,
    oas_checks.response_schema_conformance,
]


def run_operation(live: Live, method: str, path: str, mode: GenerationMode) -> None:
    operation = live.schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        response = case.call(base_url=live.url, session=live.session, timeout=60)
        STATS[(mode.value, response.status_code)] += 1
        where = case.as_curl_command()
        assert response.status_code < 500, f"{response.status_code} {response.content!r}\n{where}"
        if 400 <= response.status_code < 500:
            try:
                check_error_body(path, response, _path_is_negative(case))
            except AssertionError as error:
                raise AssertionError(f"{error}\n{where}") from None
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, checks=CONFORMANCE)

    fuzz()


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_operation(live: Live, method: str, path: str) -> None:
    run_operation(live, method, path, GenerationMode.POSITIVE)
    item = openapi.document()["paths"][path]
    operation = item[method.lower()]
    # Negative cases need something to break: parameters or a body.
    if "requestBody" in operation or operation.get("parameters") or item.get("parameters"):
        run_operation(live, method, path, GenerationMode.NEGATIVE)
