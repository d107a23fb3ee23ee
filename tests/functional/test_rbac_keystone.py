"""Who may read and write what, with a real Keystone and a live API.

A real Keystone issues tokens for an admin and for a member and a reader of
two projects, A and B. ``cloudkitty-api`` runs in keystone mode (the real
keystonemiddleware validating every token against that Keystone) on
PostgreSQL holding rated data of A and B, a state per scope and hashmap
rules. The tests prove:

* the role x route matrix: admin-only routes refuse members and readers
  (403), project routes serve them, routes for any authenticated user serve
  everyone, and a refused write changes nothing;
* project isolation: a member or reader of A never sees B's costs (nor B's
  id) through any route or parameter: ``tenant_id=B``, ``all_tenants``,
  ``filters=project_id:B``, groupby, pagination;
* no token, or an invalid one, is a 401 on every protected route, while
  ``/``, ``/v1``, ``/v2``, ``/healthcheck`` and the OpenAPI document need
  no token;
* python-cloudkittyclient works with keystoneauth sessions.

Keystone starts once per session (about 15 s); the rest takes seconds.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from cloudkittyclient import client as ck_client
from keystoneauth1 import exceptions as ks_exceptions

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import StateRepository
from tests.conftest import create_database, drop_database
from tests.functional.services.api_server import running_api

pytest_plugins = ["tests.functional.services.keystone"]

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
V1_WINDOW = "begin=2024-01-01T00:00:00&end=2024-01-02T00:00:00"
V2_WINDOW = "begin=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z"
HASHMAP = "/v1/rating/module_config/hashmap"
PYSCRIPTS = "/v1/rating/module_config/pyscripts"
METRICS_YML = """\
metrics:
  cpu:
    unit: instance
    alt_name: instance
    groupby: [id, project_id]
    metadata: [flavor]
  volume_size:
    unit: GiB
    alt_name: volume.size
    groupby: [id, project_id]
"""
#: Per-point prices: every figure of one project is a string that cannot
#: appear in the other's answers (nor in dates or ids).
PRICES = {
    "A": {"instance": "1.0625", "volume.size": "2.21875"},
    "B": {"instance": "40.125", "volume.size": "80.0625"},
}
#: Two hours of instance, one of volume.
TOTALS = {"A": Decimal("4.34375"), "B": Decimal("160.3125")}
SECRETS = {"A": ("1.0625", "2.21875", "4.34375"), "B": ("40.125", "80.0625", "160.3125")}
PROJECT_ROLES = ("member_a", "reader_a", "member_b", "reader_b")
ROLES = (*PROJECT_ROLES, "admin")  # the admin writes last: refused writes first


@dataclasses.dataclass
class Cloud:
    url: str
    projects: dict[str, str]  # "A"/"B" -> Keystone project id
    users: dict[str, Any]  # role name -> keystone User
    tokens: dict[str, str]
    ids: dict[str, str]  # hashmap and other resource ids

    def call(self, role: str | None, method: str, path: str, body: Any = None) -> Any:
        headers = {"X-Auth-Token": self.tokens[role]} if role else {}
        return requests.request(
            method, self.url + path, json=body, headers=headers, timeout=30, allow_redirects=False
        )

    def project_of(self, role: str) -> str:
        return "A" if role.endswith("_a") else "B"

    def client(self, role: str) -> Any:
        """python-cloudkittyclient v2 on a keystoneauth session of ``role``."""
        user = self.users[role]
        session = user.keystone.session(user.name, user.password, project_id=user.project_id)
        return ck_client.Client(
            "2", session=session, adapter_options={"endpoint_override": self.url}
        )


def _frame(start: datetime.datetime, project: str, name: str, volume: bool) -> DataFrame:
    prices = PRICES[name]
    usage = {
        "instance": [
            DataPoint.create(
                "instance",
                "1",
                prices["instance"],
                {"id": f"vm-{name}", "project_id": project},
                {"flavor": "m1.small"},
            )
        ]
    }
    if volume:
        usage["volume.size"] = [
            DataPoint.create(
                "GiB", "10", prices["volume.size"], {"id": f"vol-{name}", "project_id": project}
            )
        ]
    return DataFrame(start, start + HOUR, usage)


def _populate(db_url: str, projects: dict[str, str]) -> None:
    db = Database.from_url(db_url)
    storage = SQLStorage(None, db)
    states = StateRepository(db)
    for name, project in projects.items():
        frames = [_frame(T0, project, name, True), _frame(T0 + HOUR, project, name, False)]
        storage.push(frames, project)
        states.create(project, T0 + 2 * HOUR, scope_key="project_id", fetcher="keystone")


def _rules(cloud: Cloud) -> None:
    """Hashmap rules, created by the admin with the real client."""
    admin = cloud.client("admin")
    hashmap = admin.rating.hashmap
    service = hashmap.create_service(name="instance")
    field = hashmap.create_field(service_id=service["service_id"], name="flavor")
    hashmap.create_mapping(field_id=field["field_id"], value="m1.small", cost="0.5", type="flat")
    group = hashmap.create_group(name="victim")
    cloud.ids.update(
        service_id=service["service_id"], field_id=field["field_id"], group_id=group["group_id"]
    )


@pytest.fixture(scope="module")
def cloud(keystone_service: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    keystone = keystone_service
    tag = uuid.uuid4().hex[:8]
    # The service user keystonemiddleware validates tokens with (as devstack:
    # admin on a service project).
    service_project = f"ck-service-{tag}"
    service_project_id = keystone.create_project(service_project)
    service_user = keystone.user_with_roles(["admin"], service_project_id)
    projects = {"A": keystone.create_project(), "B": keystone.create_project()}
    users = {
        "admin": keystone.user_with_roles(["admin"], keystone.create_project()),
        "member_a": keystone.user_with_roles(["member"], projects["A"]),
        "reader_a": keystone.user_with_roles(["reader"], projects["A"]),
        "member_b": keystone.user_with_roles(["member"], projects["B"]),
        "reader_b": keystone.user_with_roles(["reader"], projects["B"]),
    }
    tokens = {role: user.token() for role, user in users.items()}

    tmp = tmp_path_factory.mktemp("rbac")
    metrics = tmp / "metrics.yml"
    metrics.write_text(METRICS_YML)
    db_url = create_database("postgresql", str(tmp), prefix="ck_rbac")
    authtoken = keystone.authtoken_options(
        service_user.name, service_user.password, service_project
    )
    extra = "[keystone_authtoken]\n" + "".join(f"{k} = {v}\n" for k, v in authtoken.items())
    extra += f"[collect]\nmetrics_conf = {metrics}\ncollector = prometheus\nperiod = 3600\n"
    try:
        with running_api(db_url, extra_config=extra, auth_strategy="keystone") as url:
            _populate(db_url, projects)
            live = Cloud(url, projects, users, tokens, {})
            _rules(live)
            yield live
    finally:
        drop_database(db_url)


# -- the matrix ------------------------------------------------------------------

ADMIN, PROJECT, ANY = "admin", "project", "any"


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    path: str
    policy: str
    status: int  # what the admin (and whoever is allowed) gets
    body: Any = None

    def render(self, cloud: Cloud, role: str) -> tuple[str, Any]:
        values = {**cloud.ids, "role": role, "A": cloud.projects["A"], "B": cloud.projects["B"]}

        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return value.format(**values)
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value

        return fill(self.path), fill(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.path.split('?')[0]}"


FRAME = {
    "period": {"begin": "2025-06-01T00:00:00Z", "end": "2025-06-01T01:00:00Z"},
    "usage": {
        "instance": [
            {
                "vol": {"unit": "instance", "qty": 1},
                "rating": {"price": 9},
                "groupby": {"project_id": "pz-{role}"},
                "metadata": {},
            }
        ]
    },
}

ROUTES = [
    # any authenticated user
    Route("GET", "/v1/info/config", ANY, 200),
    Route("GET", "/v1/info/metrics", ANY, 200),
    Route("GET", "/v1/info/metrics/instance", ANY, 200),
    Route("GET", "/v1/info/services", ANY, 200),
    Route("GET", "/v1/collector", ANY, 204),  # upstream's routing stub, no policy
    Route(
        "POST",
        "/v1/rating/quote",
        ANY,
        200,
        {"resources": [{"service": "instance", "desc": {"flavor": "m1.small"}, "volume": "2"}]},
    ),
    # readers of a project (their own project) and admins
    Route("GET", f"/v1/report/total?{V1_WINDOW}", PROJECT, 200),
    Route("GET", f"/v1/report/summary?{V1_WINDOW}", PROJECT, 200),
    Route("GET", f"/v1/storage/dataframes?{V1_WINDOW}", PROJECT, 200),
    Route("GET", f"/v2/summary?{V2_WINDOW}", PROJECT, 200),
    Route("GET", f"/v2/dataframes?{V2_WINDOW}", PROJECT, 200),
    # admin reads
    Route("GET", "/v1/rating/modules", ADMIN, 200),
    Route("GET", "/v1/rating/modules/hashmap", ADMIN, 200),
    Route("GET", "/v1/rating/reload_modules", ADMIN, 204),
    Route("GET", "/v1/collector/mappings", ADMIN, 200),
    Route("GET", "/v1/collector/states/col", ADMIN, 200),
    Route("GET", f"/v1/report/tenants?{V1_WINDOW}", ADMIN, 200),
    Route("GET", f"{HASHMAP}/types", ADMIN, 200),
    Route("GET", f"{HASHMAP}/services", ADMIN, 200),
    Route("GET", f"{HASHMAP}/services/{{service_id}}", ADMIN, 200),
    Route("GET", f"{HASHMAP}/fields?service_id={{service_id}}", ADMIN, 200),
    Route("GET", f"{HASHMAP}/mappings", ADMIN, 200),
    Route("GET", f"{HASHMAP}/thresholds?service_id={{service_id}}", ADMIN, 200),
    Route("GET", f"{HASHMAP}/groups", ADMIN, 200),
    Route("GET", f"{PYSCRIPTS}/scripts", ADMIN, 200),
    Route("GET", "/v2/scope", ADMIN, 200),
    Route("GET", "/v2/task/reprocesses", ADMIN, 200),
    Route("GET", "/v2/task/reprocesses/{A}", ADMIN, 200),
    Route("GET", "/v2/rating/modules", ADMIN, 200),
    Route("GET", "/v2/rating/modules/hashmap", ADMIN, 200),
    # admin writes (refused writes must change nothing)
    Route("PUT", "/v1/rating/modules/noop", ADMIN, 302, {"module_id": "noop", "priority": 1}),
    Route("POST", "/v1/collector/mappings/col/svc-{role}", ADMIN, 200),
    Route("PUT", "/v1/collector/states/st-{role}", ADMIN, 200, {"enabled": True}),
    Route("POST", f"{HASHMAP}/services", ADMIN, 201, {"name": "svc-{role}"}),
    Route("POST", f"{HASHMAP}/groups", ADMIN, 201, {"name": "grp-{role}"}),
    Route(
        "POST",
        f"{HASHMAP}/mappings",
        ADMIN,
        201,
        {"cost": "0.25", "service_id": "{service_id}", "tenant_id": "t-{role}"},
    ),
    Route("DELETE", f"{HASHMAP}/groups/{{group_id}}", ADMIN, 204),
    Route("POST", f"{PYSCRIPTS}/scripts", ADMIN, 201, {"name": "script-{role}", "data": "a = 0"}),
    Route("POST", "/v2/dataframes", ADMIN, 204, {"dataframes": [FRAME]}),
    Route(
        "PUT",
        "/v2/scope",
        ADMIN,
        202,
        {"scope_id": "{A}", "last_processed_timestamp": "2024-01-01T01:00:00Z"},
    ),
    Route("PATCH", "/v2/scope", ADMIN, 200, {"scope_id": "{B}", "active": True}),
    Route(
        "POST",
        "/v2/scope",
        ADMIN,
        200,
        {"scope_id": "new-{role}", "last_processed_timestamp": "2024-01-01T00:00:00Z"},
    ),
    Route(
        "POST",
        "/v2/task/reprocesses",
        ADMIN,
        202,
        {
            "scope_ids": ["{A}"],
            "start_reprocess_time": "2024-01-01T00:00:00Z",
            "end_reprocess_time": "2024-01-01T01:00:00Z",
            "reason": "rbac",
        },
    ),
    Route("PUT", "/v2/rating/modules/noop", ADMIN, 204, {"priority": 1}),
]
PUBLIC = ("/", "/v1", "/v2", "/v1/", "/healthcheck", "/openapi.yaml", "/openapi.json")


def _expected(route: Route, role: str) -> int:
    if role == "admin" or route.policy in (ANY, PROJECT):
        return route.status
    return 403


def _check_forbidden_body(route: Route, response: Any) -> None:
    body = response.json()
    if route.path.startswith("/v2/"):
        assert body == {"message": "You are not authorized to perform this action"}
    else:
        assert set(body) == {"faultcode", "faultstring", "debuginfo"}
        assert body["faultstring"].startswith("Policy doesn't allow"), body


def test_public_routes_need_no_token(cloud: Cloud) -> None:
    for path in PUBLIC:
        response = cloud.call(None, "GET", path)
        assert response.status_code != 401, path
    assert cloud.call(None, "GET", "/").json()["versions"][0]["id"] == "v1"
    assert cloud.call(None, "GET", "/openapi.json").json()["openapi"].startswith("3.")
    # Forged identity headers on a public route are dropped, not trusted.
    forged = requests.get(
        cloud.url + "/", headers={"X-Roles": "admin", "X-Project-Id": "x"}, timeout=10
    )
    assert forged.status_code == 200


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_or_invalid_token_is_401(cloud: Cloud, route: Route) -> None:
    path, body = route.render(cloud, "anonymous")
    for headers in ({}, {"X-Auth-Token": "gAAAAA-not-a-token"}):
        response = requests.request(
            route.method, cloud.url + path, json=body, headers=headers, timeout=30
        )
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == 401
    # Identity headers without a token are not trusted either.
    forged = {
        "X-Roles": "admin",
        "X-Project-Id": cloud.projects["A"],
        "X-Identity-Status": "Confirmed",
    }
    response = requests.request(
        route.method, cloud.url + path, json=body, headers=forged, timeout=30
    )
    assert response.status_code == 401


def test_role_route_matrix(cloud: Cloud) -> None:
    """Every route, every role; refused writes leave no trace."""
    wrong = []
    for role in ROLES:
        for route in ROUTES:
            path, body = route.render(cloud, role)
            response = cloud.call(role, route.method, path, body)
            if response.status_code != _expected(route, role):
                wrong.append((role, str(route), response.status_code, response.text[:200]))
            elif response.status_code == 403:
                _check_forbidden_body(route, response)
    assert not wrong, wrong
    # Nothing a member or reader tried to write exists; the admin's writes do.
    services = cloud.call("admin", "GET", f"{HASHMAP}/services").json()["services"]
    names = {service["name"] for service in services}
    scripts = cloud.call("admin", "GET", f"{PYSCRIPTS}/scripts").json()["scripts"]
    scopes = cloud.call("admin", "GET", "/v2/scope").json()["results"]
    for role in PROJECT_ROLES:
        assert f"svc-{role}" not in names
        assert all(script["name"] != f"script-{role}" for script in scripts)
        assert all(scope["scope_id"] != f"new-{role}" for scope in scopes)
        state = cloud.call("admin", "GET", f"/v1/collector/states/st-{role}").json()
        assert state["enabled"] is False
    assert "svc-admin" in names
    assert any(scope["scope_id"] == "new-admin" for scope in scopes)


# -- project isolation -----------------------------------------------------------


def _v2_rows(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    return [dict(zip(body["columns"], row, strict=True)) for row in body["results"]]


@pytest.mark.parametrize("role", PROJECT_ROLES)
def test_a_project_never_sees_the_other_projects_costs(cloud: Cloud, role: str) -> None:
    own_name = cloud.project_of(role)
    other_name = "B" if own_name == "A" else "A"
    own, other = cloud.projects[own_name], cloud.projects[other_name]
    seen: list[Any] = []

    def get(path: str) -> Any:
        response = cloud.call(role, "GET", path)
        seen.append(response)
        return response

    # v1 report: own project by default, 403 for another one or for all.
    total = get(f"/v1/report/total?{V1_WINDOW}")
    assert Decimal(total.json()) == TOTALS[own_name]
    assert Decimal(get(f"/v1/report/total?{V1_WINDOW}&tenant_id={own}").json()) == TOTALS[own_name]
    for query in (f"tenant_id={other}", "all_tenants=True", f"all_tenants=true&tenant_id={own}"):
        assert get(f"/v1/report/total?{V1_WINDOW}&{query}").status_code == 403, query
        assert get(f"/v1/report/summary?{V1_WINDOW}&{query}").status_code == 403, query
    summary = get(f"/v1/report/summary?{V1_WINDOW}&groupby=tenant_id,res_type").json()["summary"]
    assert {row["tenant_id"] for row in summary} == {own}
    assert sum(Decimal(row["rate"]) for row in summary) == TOTALS[own_name]
    assert get(f"/v1/report/tenants?{V1_WINDOW}").status_code == 403

    # v1 dataframes: own project only; another one is a 403.
    frames = get(f"/v1/storage/dataframes?{V1_WINDOW}").json()["dataframes"]
    assert frames and {frame["tenant_id"] for frame in frames} == {own}
    assert get(f"/v1/storage/dataframes?{V1_WINDOW}&tenant_id={other}").status_code == 403

    # v2 summary: filters on the other project give nothing; groupby and
    # pagination only ever walk the caller's rows.
    rows = _v2_rows(get(f"/v2/summary?{V2_WINDOW}&groupby=project_id"))
    assert [row["project_id"] for row in rows] == [own]
    assert Decimal(str(rows[0]["rate"])) == TOTALS[own_name]
    assert _v2_rows(get(f"/v2/summary?{V2_WINDOW}&filters=project_id:{other}")) == []
    mixed = get(
        f"/v2/summary?{V2_WINDOW}&groupby=project_id&filters=project_id:{other},project_id:{own}"
    )
    assert [row["project_id"] for row in _v2_rows(mixed)] == [own]
    pages = []
    for offset in range(4):
        pages += _v2_rows(
            get(f"/v2/summary?{V2_WINDOW}&groupby=type,project_id&limit=1&offset={offset}")
        )
    assert {row["project_id"] for row in pages} == {own}
    assert sum(Decimal(str(row["rate"])) for row in pages) == TOTALS[own_name]

    # v2 dataframes: the other project's filter is "nothing found".
    assert get(f"/v2/dataframes?{V2_WINDOW}&filters=project_id:{other}").status_code == 404
    listed = get(f"/v2/dataframes?{V2_WINDOW}").json()
    assert listed["total"] == 3
    for offset in range(4):
        get(f"/v2/dataframes?{V2_WINDOW}&limit=1&offset={offset}")

    # The admin-only views of every scope stay closed.
    for path in ("/v2/scope", f"/v2/scope?scope_id={other}", "/v2/task/reprocesses"):
        assert get(path).status_code == 403, path
    assert get(f"/v2/task/reprocesses/{other}").status_code == 403

    for response in seen:
        assert other not in response.text, response.url
        for secret in SECRETS[other_name]:
            assert secret not in response.text, (response.url, secret)


def test_the_admin_sees_every_project(cloud: Cloud) -> None:
    a, b = cloud.projects["A"], cloud.projects["B"]
    total = cloud.call("admin", "GET", f"/v1/report/total?{V1_WINDOW}&all_tenants=True").json()
    assert Decimal(total) == TOTALS["A"] + TOTALS["B"]
    rows = _v2_rows(cloud.call("admin", "GET", f"/v2/summary?{V2_WINDOW}&groupby=project_id"))
    assert {row["project_id"]: Decimal(str(row["rate"])) for row in rows} == {
        a: TOTALS["A"],
        b: TOTALS["B"],
    }
    tenants = cloud.call("admin", "GET", f"/v1/report/tenants?{V1_WINDOW}").json()
    assert {a, b} <= set(tenants)


# -- the real client ----------------------------------------------------------------


def test_the_client_works_with_keystone_sessions(cloud: Cloud) -> None:
    a = cloud.projects["A"]
    begin = datetime.datetime(2024, 1, 1)
    end = datetime.datetime(2024, 1, 2)

    reader = cloud.client("reader_a")
    summary = reader.summary.get_summary(begin=begin, end=end, groupby=["project_id"])
    assert [row[summary["columns"].index("project_id")] for row in summary["results"]] == [a]
    assert Decimal(reader.report.get_total(begin=begin, end=end)) == TOTALS["A"]
    frames = reader.dataframes.get_dataframes(begin=begin, end=end)
    assert frames["total"] == 3
    # The client wraps refusals into HttpError carrying the server's body.
    for call in (
        reader.rating.hashmap.get_service,
        lambda: reader.report.get_total(begin=begin, end=end, tenant_id=cloud.projects["B"]),
    ):
        with pytest.raises(ks_exceptions.HttpError) as refused:
            call()
        assert refused.value.http_status == 403
        assert "Policy doesn't allow" in str(refused.value)

    admin = cloud.client("admin")
    services = admin.rating.hashmap.get_service()["services"]
    assert any(service["service_id"] == cloud.ids["service_id"] for service in services)
    modules = {m["module_id"]: m for m in admin.rating.get_module()["modules"]}
    assert modules["hashmap"]["hot_config"] is True
    scopes = admin.scope.get_scope_state(scope_id=[a])["results"]
    assert [scope["scope_id"] for scope in scopes] == [a]


def test_the_cli_works_with_a_token(cloud: Cloud) -> None:
    """``cloudkitty`` with ``--os-auth-type v3token`` and an endpoint override."""
    user = cloud.users["reader_a"]
    program = shutil.which("cloudkitty", path=os.path.dirname(sys.executable)) or "cloudkitty"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        OS_AUTH_TYPE="v3token",
        OS_AUTH_URL=user.keystone.auth_url,
        OS_TOKEN=cloud.tokens["reader_a"],
        OS_PROJECT_ID=user.project_id,
        OS_RATING_API_VERSION="2",
    )
    argv = [program, "--os-rating-endpoint-override", cloud.url, "summary", "get"]
    argv += ["-g", "project_id", "-b", "2024-01-01T00:00:00", "-e", "2024-01-02T00:00:00"]
    result = subprocess.run(
        [*argv, "-f", "json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 1 and cloud.projects["A"] in json.dumps(rows[0]), rows
    assert cloud.projects["B"] not in result.stdout
    denied = subprocess.run(
        [program, "--os-rating-endpoint-override", cloud.url, "hashmap", "service", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert denied.returncode != 0
    assert "Policy doesn't allow rating:module_config" in denied.stdout + denied.stderr
