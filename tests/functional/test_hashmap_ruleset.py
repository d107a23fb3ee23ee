"""Hashmap rules stored in real databases: bulk loading and exact prices."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import tables
from cloudkitty.db.engine import Database
from cloudkitty.rating.hashmap.engine import HashMapEngine
from cloudkitty.rating.hashmap.module import HashMap
from cloudkitty.rating.hashmap.ruleset import load_ruleset

UTC = datetime.timezone.utc
LONG_AGO = datetime.datetime(2014, 1, 1, tzinfo=UTC)
START = datetime.datetime(2024, 5, 1, tzinfo=UTC)
END = datetime.datetime(2024, 5, 1, 1, tzinfo=UTC)
IMAGE = "a41fba37-2429-4f15-aa00-b5bc4bf557bf"


class Rules:
    """Inserts hashmap rows with SQLAlchemy core, returning database ids."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _insert(self, table: sa.Table, **values: object) -> int:
        result = self.conn.execute(table.insert().values(**values))
        return int(result.inserted_primary_key[0])

    def service(self, name: str) -> int:
        return self._insert(tables.hashmap_services, service_id=str(uuid.uuid4()), name=name)

    def field(self, service: int, name: str) -> int:
        return self._insert(
            tables.hashmap_fields, field_id=str(uuid.uuid4()), name=name, service_id=service
        )

    def group(self, name: str) -> int:
        return self._insert(tables.hashmap_groups, group_id=str(uuid.uuid4()), name=name)

    def mapping(
        self,
        cost: str,
        map_type: str = "flat",
        *,
        service: int | None = None,
        field: int | None = None,
        value: str | None = None,
        group: int | None = None,
        tenant: str | None = None,
        start: datetime.datetime = LONG_AGO,
        end: datetime.datetime | None = None,
        deleted: datetime.datetime | None = None,
    ) -> int:
        return self._insert(
            tables.hashmap_mappings,
            mapping_id=str(uuid.uuid4()),
            value=value,
            cost=Decimal(cost),
            map_type=map_type,
            service_id=service,
            field_id=field,
            group_id=group,
            tenant_id=tenant,
            name=f"rule-{uuid.uuid4().hex[:8]}",
            created_at=LONG_AGO,
            start=start,
            end=end,
            deleted=deleted,
            created_by="tests",
        )

    def threshold(
        self,
        level: str,
        cost: str,
        map_type: str = "flat",
        *,
        service: int | None = None,
        field: int | None = None,
        group: int | None = None,
        tenant: str | None = None,
    ) -> int:
        return self._insert(
            tables.hashmap_thresholds,
            threshold_id=str(uuid.uuid4()),
            level=Decimal(level),
            cost=Decimal(cost),
            map_type=map_type,
            service_id=service,
            field_id=field,
            group_id=group,
            tenant_id=tenant,
        )


def insert_examples(db: Database) -> None:
    """Worked examples A, B and C of CONTRACT 3.3, side by side."""
    with db.begin() as conn:
        r = Rules(conn)
        # A
        compute = r.service("compute")
        flavor = r.field(compute, "flavor")
        image = r.field(compute, "image_id")
        memory = r.field(compute, "memory")
        vcpus = r.field(compute, "vcpus")
        test_group = r.group("test_group")
        second = r.group("second_test_group")
        r.mapping("1.00", service=compute)
        r.mapping("1.337", field=flavor, value="m1.nano", group=test_group)
        r.mapping("1.42", field=flavor, value="m1.tiny", group=test_group)
        r.mapping("1.10", "rate", field=image, value=IMAGE, group=test_group)
        r.threshold("64", "0.15", field=memory, group=test_group)
        r.threshold("128", "0.2", field=memory, group=test_group)
        r.mapping("16.0", field=vcpus, value="8", group=second)
        # B
        volume = r.service("volume.size")
        discounts = r.group("volume_thresholds")
        r.mapping("0.001", service=volume, group=discounts)
        r.threshold("50", "0.98", "rate", service=volume, group=discounts)
        r.threshold("200", "0.95", "rate", service=volume, group=discounts)
        r.threshold("50", "0.97", "rate", service=volume, group=discounts, tenant="T2")
        # C
        instance = r.service("instance")
        flavor_name = r.field(instance, "flavor_name")
        image_id = r.field(instance, "image_id")
        base = r.group("base")
        r.mapping("0.5", field=flavor_name, value="m1.small")
        r.mapping("0.8", field=flavor_name, value="m1.small", tenant="T2")
        r.mapping("1.2", "rate", field=image_id, value="win")
        r.mapping("0.1", service=instance, group=base)
        # Rules that must not count: soft-deleted, not yet started, ended.
        r.mapping("1000", field=flavor_name, value="m1.small", deleted=LONG_AGO)
        r.mapping("1000", field=flavor_name, value="m1.big", start=END)
        r.mapping("1000", field=flavor_name, value="m1.big", end=START)


def pt(qty: str | int, **groupby: object) -> DataPoint:
    return DataPoint.create("unit", qty, 0, groupby=groupby)


def examples_frame() -> DataFrame:
    return DataFrame(
        START,
        END,
        {
            "compute": [
                pt(1, flavor="m1.nano", image_id="other", memory="64", vcpus="1"),
                pt(2, flavor="m1.tiny", image_id=IMAGE, memory="512"),
                pt(2, flavor="m1.xlarge", memory=16384, vcpus=8),
                pt(1, flavor="m1.nano", image_id=IMAGE, memory="64"),
            ],
            "volume.size": [pt(20), pt(50), pt(80), pt(250)],
            "instance": [
                pt(1, flavor_name="m1.small", image_id="win"),
                pt(2, flavor_name="m1.small", image_id="linux"),
                pt(1, flavor_name="m1.big", image_id="win"),
            ],
            "not-a-service": [pt(3)],
        },
    )


EXPECTED = {
    "T1": {
        "compute": ["2.487", "5.564", "34.4", "2.6357"],
        "volume.size": ["0.02", "0.049", "0.0784", "0.2375"],
        "instance": ["0.7", "1.2", "0.1"],
        "not-a-service": ["0"],
    },
    "T2": {
        "compute": ["2.487", "5.564", "34.4", "2.6357"],
        "volume.size": ["0.02", "0.0485", "0.0776", "0.2375"],
        "instance": ["1.06", "1.8", "0.1"],
        "not-a-service": ["0"],
    },
}


def prices(frame: DataFrame) -> dict[str, list[Decimal]]:
    return {mt: [p.price for p in frame.points(mt)] for mt in frame.metric_types()}


def expected(scope: str) -> dict[str, list[Decimal]]:
    return {mt: [Decimal(v) for v in values] for mt, values in EXPECTED[scope].items()}


def test_worked_examples_from_the_database(db_url: str) -> None:
    db = Database.from_url(db_url)
    insert_examples(db)
    with db.connect() as conn:
        engine = HashMapEngine(load_ruleset(conn))
    for scope in ("T1", "T2"):
        rated = engine.price_frame(examples_frame(), scope)
        assert prices(rated) == expected(scope)
        # Exact digits, whatever the backend stores (SQLite: text).
        assert [str(p) for p in prices(rated)["compute"]] == EXPECTED[scope]["compute"]


def test_module_load_and_rate(db_url: str) -> None:
    db = Database.from_url(db_url)
    insert_examples(db)
    rater = HashMap(conf=None, db=db).load()  # type: ignore[arg-type]
    assert prices(rater.rate(examples_frame(), "T2")) == expected("T2")
    assert prices(rater.rate(examples_frame(), "T1")) == expected("T1")


def test_load_ruleset_values(db_url: str) -> None:
    db = Database.from_url(db_url)
    with db.begin() as conn:
        r = Rules(conn)
        svc = r.service("svc")
        fld = r.field(svc, "f")
        grp = r.group("g")
        kept = r.mapping(
            "0.1000000000000000000000000001",
            "rate",
            field=fld,
            value="v",
            group=grp,
            tenant="T",
            start=START,
            end=END,
        )
        gone = r.mapping("2", service=svc, deleted=START)
        thr = r.threshold("12.5", "3", service=svc)
    with db.connect() as conn:
        ruleset = load_ruleset(conn)
        with_deleted = load_ruleset(conn, include_deleted=True)
    assert [s.name for s in ruleset.services] == ["svc"]
    assert [(f.name, f.service_id) for f in ruleset.fields] == [("f", svc)]
    assert [g.name for g in ruleset.groups] == ["g"]
    (mapping,) = ruleset.mappings
    assert mapping.id == kept
    assert mapping.cost == Decimal("0.1000000000000000000000000001")
    assert (mapping.map_type, mapping.value, mapping.tenant_id) == ("rate", "v", "T")
    assert (mapping.field_id, mapping.service_id) == (fld, None)
    assert (mapping.group_id, mapping.group_name, mapping.group) == (grp, "g", "g")
    assert (mapping.start, mapping.end, mapping.deleted) == (START, END, None)
    assert mapping.start.tzinfo is not None
    assert [m.id for m in with_deleted.mappings] == [kept, gone]
    (threshold,) = ruleset.thresholds
    assert threshold.id == thr
    assert (threshold.level, threshold.cost, threshold.map_type) == (
        Decimal("12.5"),
        Decimal(3),
        "flat",
    )
    assert (threshold.group_name, threshold.group, threshold.tenant_id) == (None, "_DEFAULT_", None)


def test_load_ruleset_query_count_does_not_grow_with_rules(db_url: str) -> None:
    db = Database.from_url(db_url)
    with db.begin() as conn:
        r = Rules(conn)
        groups = [r.group(f"g{i}") for i in range(3)]
        for s in range(5):
            svc = r.service(f"svc{s}")
            for f in range(3):
                fld = r.field(svc, f"f{f}")
                for v in range(4):
                    r.mapping("1", field=fld, value=str(v), group=groups[v % 3])
                r.threshold(str(f), "1", field=fld)
            r.mapping("1", service=svc)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.connect() as conn:
            ruleset = load_ruleset(conn)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(ruleset.mappings) == 5 * 3 * 4 + 5
    assert len(ruleset.thresholds) == 15
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 5
