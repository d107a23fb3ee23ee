"""The v1 tree as a whole: the billing alias and failures that must not
leak internals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cloudkitty.db import engine
from tests.unit.api.v1.conftest import JUNE


def test_billing_is_an_alias_of_rating_only(api):
    assert api.get("/v1/billing/modules/").json == api.get("/v1/rating/modules/").json
    # no /v1/billing/report or /v1/billing/info: billing aliases rating only
    for path in ("/v1/billing/report/total", "/v1/billing/info/metrics"):
        assert api.get(path, expect_errors=True).status_int in (404, 405)


def test_v1_root_is_still_405(api):
    assert api.get("/v1", expect_errors=True).status_int == 405


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/report/total?{JUNE}",
        f"/v1/report/summary?{JUNE}",
        f"/v1/report/tenants?{JUNE}",
        f"/v1/storage/dataframes?{JUNE}",
    ],
)
def test_storage_failures_do_not_leak_database_details(api, v1_db_url, path):
    with engine.get_engine(v1_db_url).begin() as conn:
        # every table a report may read from (points and each rollup level)
        for table in (
            "rated_points",
            "rated_points_daily",
            "rated_points_monthly",
            "rated_types_daily",
        ):
            conn.execute(sa.text(f"DROP TABLE {table}"))
    response = api.get(path, expect_errors=True)
    assert response.status_int in (500, 503)
    assert response.json["faultcode"] == "Server"
    assert response.json["debuginfo"] is None
    assert response.json["faultstring"] in (
        "Internal Server Error",
        "The rated data storage is unavailable; please retry later.",
    )
    assert "rated_points" not in response.text
    assert "SELECT" not in response.text.upper()


def test_unexpected_errors_are_a_bare_500(api, monkeypatch):
    from cloudkitty.api.v1 import backends

    def explode():
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(backends, "state_scope_ids", explode)
    response = api.get("/v1/report/tenants", expect_errors=True)
    assert response.status_int == 500
    assert response.json == {
        "faultcode": "Server",
        "faultstring": "Internal Server Error",
        "debuginfo": None,
    }
