"""POST /v1/rating/quote: priced in the API with the current rules, exactly."""

from __future__ import annotations

import decimal
import json
import uuid

import sqlalchemy as sa

from cloudkitty.db import engine, tables
from cloudkitty.utils import tz


def _hashmap_rules(url: str) -> None:
    """compute: flavor m1.small flat 0.1 (global), 0.3 for tenant T2; enabled."""
    eng = engine.get_engine(url)
    now = tz.utcnow()
    with eng.begin() as conn:
        conn.execute(tables.modules_state.insert().values(name="hashmap", state=True, priority=1))
        sid = conn.execute(
            tables.hashmap_services.insert().values(service_id=str(uuid.uuid4()), name="compute")
        ).inserted_primary_key[0]
        fid = conn.execute(
            tables.hashmap_fields.insert().values(
                field_id=str(uuid.uuid4()), name="flavor", service_id=sid
            )
        ).inserted_primary_key[0]
        for tenant, cost in ((None, "0.1"), ("T2", "0.3")):
            conn.execute(
                tables.hashmap_mappings.insert().values(
                    mapping_id=str(uuid.uuid4()),
                    value="m1.small",
                    cost=decimal.Decimal(cost),
                    map_type="flat",
                    field_id=fid,
                    tenant_id=tenant,
                    created_at=now,
                    start=now.replace(year=2000),
                    name=uuid.uuid4().hex,
                    created_by="test",
                )
            )
    assert sa  # the import documents that rules are written through core SQL


def _quote(api_app, resources, headers=None, status=200):
    return api_app.post(
        "/v1/rating/quote",
        json.dumps({"resources": resources}),
        content_type="application/json",
        headers=headers or {},
        status=status,
    )


def test_quote_without_rating_modules_is_zero(api_app):
    response = _quote(api_app, [{"service": "compute", "desc": {}, "volume": "1"}])
    assert response.json == 0


def test_quote_uses_flat_desc_keys_and_exact_decimals(api_app, sqlite_url):
    _hashmap_rules(sqlite_url)
    response = _quote(
        api_app,
        [
            {"service": "compute", "desc": {"flavor": "m1.small"}, "volume": 3},
            {"service": "compute", "desc": {"metadata": {"flavor": "m1.small"}}, "volume": 1},
        ],
    )
    # The body is a JSON number written from the Decimal's text: exact, and
    # without the float noise upstream shows (0.4000000000000000222...).
    assert decimal.Decimal(response.body.decode()) == decimal.Decimal("0.4")
    assert "0000000000000002" not in response.body.decode()


def test_quote_applies_the_callers_tenant_rules(api_app, sqlite_url):
    _hashmap_rules(sqlite_url)
    response = _quote(
        api_app,
        [{"service": "compute", "desc": {"flavor": "m1.small"}, "volume": 1}],
        headers={"X-Project-Id": "T2"},
    )
    assert decimal.Decimal(response.body.decode()) == decimal.Decimal("0.3")


def test_quote_rejects_bad_input(api_app):
    bad_volume = _quote(api_app, [{"service": "compute", "volume": "NaN"}], status=400)
    assert bad_volume.json["faultcode"] == "Client"
    assert "volume" in bad_volume.json["faultstring"]
    unknown = _quote(api_app, [{"service": "compute", "colour": 1}], status=400)
    assert "Unknown attribute" in unknown.json["faultstring"]
    not_json = api_app.post("/v1/rating/quote", "{", content_type="application/json", status=400)
    assert not_json.json["faultstring"] == "Request is not in valid JSON format"
