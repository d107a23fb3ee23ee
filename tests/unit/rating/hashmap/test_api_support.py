"""Shared helpers of the hashmap API unit tests (this module holds no tests).

One migrated SQLite file and one WebTest app (the full paste pipeline, noauth)
per test module; every test starts from empty hashmap tables. ``rejected``
checks a refused request left the database exactly as it was.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
import webtest

from cloudkitty.db import engine as ck_engine
from cloudkitty.db import migrate, tables
from tests.conftest import make_conf

BASE = "/v1/rating/module_config/hashmap"
COST_ZERO = "0." + "0" * 28
HASHMAP_TABLES = (
    tables.hashmap_thresholds,
    tables.hashmap_mappings,
    tables.hashmap_fields,
    tables.hashmap_services,
    tables.hashmap_groups,
)


def cost(text: str) -> str:
    """A cost as the API renders it: 28 decimals."""
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(28, '0')}"


def level(text: str) -> str:
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(8, '0')}"


class HashmapClient:
    """A WebTest app plus the database under it."""

    def __init__(self, directory: str) -> None:
        self.url = f"sqlite:///{os.path.join(directory, 'hashmap.sqlite')}"
        migrate.upgrade(self.url)
        from cloudkitty.api import app

        self.app = webtest.TestApp(app.load_app(make_conf(self.url)))

    # --- database -----------------------------------------------------------------

    def reset(self) -> None:
        with ck_engine.get_engine(self.url).begin() as conn:
            for table in HASHMAP_TABLES:
                conn.execute(table.delete())

    def snapshot(self) -> dict[str, list[tuple[str, ...]]]:
        with ck_engine.get_engine(self.url).connect() as conn:
            return {
                table.name: sorted(
                    tuple(str(v) for v in row) for row in conn.execute(sa.select(table))
                )
                for table in HASHMAP_TABLES
            }

    def count(self, table: sa.Table) -> int:
        with ck_engine.get_engine(self.url).connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    # --- HTTP ---------------------------------------------------------------------

    def get(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.app.get(BASE + path, status=status, **kwargs)
        return response.json if response.body else None

    def post(self, path: str, body: Any, status: int = 201) -> Any:
        response = self.app.post_json(BASE + path, body, status=status)
        if status == 201:
            new_id = next(v for k, v in response.json.items() if k.endswith("_id") and v)
            collection = path.split("?")[0].rstrip("/")
            assert response.headers["Location"].endswith(f"{BASE}{collection}/{new_id}")
        return response.json

    def put(self, path: str, body: Any, status: int = 302) -> webtest.TestResponse:
        response = self.app.put_json(BASE + path, body, status=status)
        if status == 302:
            assert response.body == b""
            assert response.headers["Location"].startswith("http://localhost" + BASE)
        return response

    def delete(self, path: str, body: Any = None, status: int = 204) -> webtest.TestResponse:
        if body is None:
            return self.app.delete(BASE + path, status=status)
        return self.app.delete_json(BASE + path, body, status=status)

    def rejected(
        self, method: str, path: str, body: Any = None, status: int = 400, message: str = ""
    ) -> str:
        """Send a request that must fail; the database must not change."""
        before = self.snapshot()
        url = BASE + path
        if method == "GET":
            response = self.app.get(url, status=status)
        elif body is None:
            response = getattr(self.app, method.lower())(url, status=status)
        elif isinstance(body, (bytes, str)):
            response = self.app.request(
                url,
                method=method,
                body=body if isinstance(body, bytes) else body.encode(),
                headers={"Content-Type": "application/json"},
                status=status,
            )
        else:
            response = getattr(self.app, f"{method.lower()}_json")(url, body, status=status)
        assert self.snapshot() == before, f"{method} {path} changed the database"
        fault = response.json
        assert fault["faultcode"] == "Client"
        assert fault["debuginfo"] is None
        assert message in fault["faultstring"], fault["faultstring"]
        return str(fault["faultstring"])

    # --- fixtures through the API -------------------------------------------------------

    def service(self, name: str = "compute") -> str:
        return str(self.post("/services/", {"name": name})["service_id"])

    def field(self, service_id: str, name: str = "flavor") -> str:
        return str(self.post("/fields/", {"service_id": service_id, "name": name})["field_id"])

    def group(self, name: str = "g1") -> str:
        return str(self.post("/groups/", {"name": name})["group_id"])

    def mapping(self, **body: Any) -> dict[str, Any]:
        body.setdefault("cost", "1")
        return dict(self.post("/mappings/", body))

    def threshold(self, **body: Any) -> dict[str, Any]:
        body.setdefault("cost", "1")
        return dict(self.post("/thresholds/", body))
