"""Loading the price book: through the repository, idempotent, checked."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import tables
from cloudkitty.db.engine import Database
from cloudkitty.rating import state
from cloudkitty.rating.hashmap import repository as repo
from cloudkitty.rating.hashmap import repository_mappings as mappings_repo
from cloudkitty.samples import load_pricebook


def _count(db, table):
    with db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_bundled_price_book_loads_once(sqlite_url):
    db = Database.from_url(sqlite_url)
    rules = load_pricebook.read_pricebook()
    first = load_pricebook.load(db, rules)
    assert len(first.created) == len(rules) == 13
    second = load_pricebook.load(db, rules)
    assert (second.created, second.differing, second.refused) == ([], [], [])
    assert len(second.unchanged) == len(rules)
    assert _count(db, tables.hashmap_mappings) == 12
    assert _count(db, tables.hashmap_thresholds) == 1
    assert _count(db, tables.hashmap_services) == 5
    assert [g.name for g in repo.list_groups(db)] == ["licences"]
    with db.connect() as conn:
        assert state.get_states(conn, ["hashmap"])["hashmap"].enabled


def test_rules_apply_to_past_hours(sqlite_url):
    db = Database.from_url(sqlite_url)
    load_pricebook.load(db, load_pricebook.read_pricebook())
    found = mappings_repo.list_mappings(db, mappings_repo.MappingFilter())
    assert {m.start for m in found} == {load_pricebook.RULES_START}
    tenant = [m for m in found if m.tenant_id]
    assert [(m.value, m.cost) for m in tenant] == [("m1.large", D("0.085"))]


def test_a_changed_cost_is_reported_not_applied(sqlite_url):
    db = Database.from_url(sqlite_url)
    rules = load_pricebook.read_pricebook()
    load_pricebook.load(db, rules)
    changed = [dataclasses.replace(r, cost=r.cost + 1) for r in rules[:1]]
    report = load_pricebook.load(db, changed)
    assert report.differing == [rules[0].label] and not report.created
    assert "kept as it is" in report.describe()


def test_a_rule_made_by_hand_with_the_same_key_is_left_alone(sqlite_url):
    db = Database.from_url(sqlite_url)
    service = repo.create_service(db, "floating_ip")
    mappings_repo.create_mapping(db, cost=D("0.01"), user="admin", service_id=service.service_id)
    rule = load_pricebook.Rule("floating_ip", None, None, "flat", D("0.005"))
    report = load_pricebook.load(db, [rule])
    assert report.refused and "floating_ip" in report.refused[0]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "expected a mapping with key 'services'"),
        ({"services": {"s": {"mappings": [{"cost": "1", "colour": "red"}]}}}, "unknown key"),
        ({"services": {"s": {"mappings": [{"value": "x", "cost": "1"}]}}}, "has no value"),
        (
            {"services": {"s": {"fields": {"f": {"mappings": [{"cost": "1"}]}}}}},
            "has a value",
        ),
        ({"services": {"s": {"mappings": [{}]}}}, "cost is required"),
        ({"services": {"s": {"mappings": [{"cost": "x"}]}}}, "not a number"),
        ({"services": {"s": {"mappings": [{"cost": "1", "type": "tax"}]}}}, "flat or rate"),
        ({"services": {"s": {"thresholds": [{"cost": "1"}]}}}, "level is required"),
    ],
)
def test_mistakes_name_the_rule(document, message):
    with pytest.raises(exceptions.ConfigError, match=message):
        load_pricebook.parse_pricebook(document)


def test_float_costs_stay_exact():
    (rule,) = load_pricebook.parse_pricebook({"services": {"s": {"mappings": [{"cost": 0.1}]}}})
    assert rule.cost == D("0.1")


def test_command_line(sqlite_url, tmp_path, capsys):
    config = tmp_path / "ck.conf"
    config.write_text(f"[database]\nconnection = {sqlite_url}\n")
    assert load_pricebook.main(["--config-file", str(config)]) == 0
    assert "13 rules created, 0 already present; hashmap enabled" in capsys.readouterr().out
