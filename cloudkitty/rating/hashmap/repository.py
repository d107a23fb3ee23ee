"""Hashmap rule storage: services, fields and groups, plus the shared checks.

Every function opens one transaction (``Database.begin``) for a mutation and
validates before it writes, so a rejected request leaves the database as it
was. Results are frozen dataclasses carrying the wire identifiers (UUIDs);
the integer keys the foreign keys use never leave this layer. Mappings and
thresholds live in ``repository_mappings`` and ``repository_thresholds``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import uuid
from collections.abc import Iterator
from collections.abc import Mapping as MappingType
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from cloudkitty import exceptions
from cloudkitty.db import tables
from cloudkitty.db.engine import Database
from cloudkitty.utils import tz

MAP_TYPES: tuple[str, ...] = tables.MAP_TYPES

SERVICES = tables.hashmap_services
FIELDS = tables.hashmap_fields
GROUPS = tables.hashmap_groups
MAPPINGS = tables.hashmap_mappings
THRESHOLDS = tables.hashmap_thresholds

# NUMERIC(40,28) and NUMERIC(20,8) both keep 12 integer digits.
_MAX_MAGNITUDE = Decimal(10) ** 12


@dataclasses.dataclass(frozen=True, slots=True)
class Service:
    service_id: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    field_id: str
    name: str
    service_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Parents:
    """The resolved parent and group of a rule: integer keys and UUIDs."""

    service_pk: int | None
    field_pk: int | None
    group_pk: int | None
    service_id: str | None
    field_id: str | None
    group_id: str | None

    @property
    def kind(self) -> str:
        """``service`` or ``field``: the wording of the conflict messages."""
        return "service" if self.service_pk is not None else "field"

    @property
    def parent_id(self) -> str | None:
        return self.service_id if self.service_pk is not None else self.field_id

    def columns(self) -> dict[str, int | None]:
        """The foreign key values of a rule row under these parents."""
        return {"service_id": self.service_pk, "field_id": self.field_pk, "group_id": self.group_pk}


# --- transactions ------------------------------------------------------------------


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Connection]:
    """One transaction; a unique key violated by a concurrent request is a 409.

    The checks above the writes give the precise messages; this only covers
    the race where another request inserted the same thing in between.
    """
    try:
        with db.begin() as conn:
            yield conn
    except sa.exc.IntegrityError as error:
        raise exceptions.Conflict("The entry conflicts with an existing one.") from error


def _insert(conn: Connection, table: sa.Table, **values: Any) -> None:
    conn.execute(table.insert().values(**values))


# --- shared validation ---------------------------------------------------------


def new_uuid() -> str:
    return str(uuid.uuid4())


def check_length(attribute: str, value: str | None, column: sa.Column[Any]) -> None:
    """Reject text longer than its column before the database does (as a 500)."""
    limit = getattr(column.type, "length", None)
    if value is not None and limit is not None and len(value) > limit:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {attribute}. "
            f"Value: '{value}'. Value should have at most {limit} characters."
        )


def check_name(attribute: str, value: str | None, column: sa.Column[Any]) -> str:
    """A mandatory, non-blank name that fits its column."""
    if value is None or not value.strip():
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {attribute}. "
            f"Value: '{value}'. Value must not be empty."
        )
    check_length(attribute, value, column)
    return value


def check_amount(attribute: str, value: Decimal | None, *, negative: bool = True) -> Decimal:
    """A finite amount that fits 12 integer digits; ``negative`` allows < 0.

    Negative costs stay allowed: operators use them for discounts.
    """
    if value is None:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {attribute}. "
            "Value: 'None'. Mandatory field missing."
        )
    try:
        finite = value.is_finite()
    except (AttributeError, InvalidOperation):
        finite = False
    if not isinstance(value, Decimal) or not finite:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {attribute}. Value: '{value}'. "
            "Value should be a finite number."
        )
    if not negative and value < 0:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {attribute}. Value: '{value}'. "
            "Value must not be negative."
        )
    if abs(value) >= _MAX_MAGNITUDE:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute {attribute}. Value: '{value}'. "
            "Value should have at most 12 integer digits."
        )
    return value


def check_map_type(value: str | None) -> str:
    if value is None:
        return "flat"
    if value not in MAP_TYPES:
        raise exceptions.InvalidInput(
            f"Invalid input for field/attribute type. Value: '{value}'. "
            f"Value should be one of: {', '.join(MAP_TYPES)}"
        )
    return value


def fmt_time(value: datetime.datetime | None) -> str:
    """Dates inside error messages: naive UTC, ``2024-05-01 00:00:00``."""
    return "None" if value is None else str(tz.to_naive_utc(value))


def same(a: Any, b: Any) -> bool:
    """Equality that compares times as instants and decimals as numbers."""
    if isinstance(a, datetime.datetime) and isinstance(b, datetime.datetime):
        return tz.as_utc(a) == tz.as_utc(b)
    return bool(a == b)


# --- lookups shared by the rule modules -------------------------------------------


def _service_row(conn: Connection, service_id: str, lock: bool = False) -> Row[Any] | None:
    query = sa.select(SERVICES).where(SERVICES.c.service_id == service_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def _field_row(conn: Connection, field_id: str, lock: bool = False) -> Row[Any] | None:
    query = sa.select(FIELDS).where(FIELDS.c.field_id == field_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def _group_row(conn: Connection, group_id: str) -> Row[Any] | None:
    return conn.execute(sa.select(GROUPS).where(GROUPS.c.group_id == group_id)).first()


def resolve_group(conn: Connection, group_id: str | None) -> tuple[int | None, str | None]:
    """The integer key of a group given by UUID; unknown groups are a 400."""
    if not group_id:
        return None, None
    row = _group_row(conn, group_id)
    if row is None:
        raise exceptions.InvalidInput(f"No such group: None (UUID: {group_id})")
    return row.id, row.group_id


def resolve_parents(
    conn: Connection,
    service_id: str | None,
    field_id: str | None,
    group_id: str | None,
) -> Parents:
    """Check "exactly one parent" and resolve parent and group UUIDs.

    The parent row is locked (where the backend can) so two concurrent
    creations under one parent serialise and see each other's duplicates.
    """
    if service_id and field_id:
        raise exceptions.InvalidInput("You can only specify one parent.")
    if not service_id and not field_id:
        raise exceptions.InvalidInput("You must specify one parent.")
    service_pk = field_pk = None
    if service_id:
        row = _service_row(conn, service_id, lock=True)
        if row is None:
            raise exceptions.InvalidInput(f"No such service: None (UUID: {service_id})")
        service_pk = row.id
    else:
        row = _field_row(conn, str(field_id), lock=True)
        if row is None:
            raise exceptions.InvalidInput(f"No such field: {field_id}")
        field_pk = row.id
    group_pk, group_uuid = resolve_group(conn, group_id)
    return Parents(
        service_pk=service_pk,
        field_pk=field_pk,
        group_pk=group_pk,
        service_id=service_id or None,
        field_id=field_id or None,
        group_id=group_uuid,
    )


def get_group_pk(conn: Connection, group_id: str) -> int:
    """The integer key of an existing group; 404 otherwise."""
    row = _group_row(conn, group_id)
    if row is None:
        raise exceptions.NotFound(f"No such group: None (UUID: {group_id})")
    return int(row.id)


def group_by_pk(conn: Connection, group_pk: int) -> Group:
    return row_to(Group, conn.execute(sa.select(GROUPS).where(GROUPS.c.id == group_pk)).one())


# --- what mappings and thresholds share ------------------------------------------

_SVC = SERVICES.alias("svc")
_FLD = FIELDS.alias("fld")
_GRP = GROUPS.alias("grp")

_Rule = TypeVar("_Rule")


@dataclasses.dataclass(frozen=True, slots=True)
class RuleFilter:
    """Parent, group and tenant filters of a rule listing; None: not filtered on."""

    service_id: str | None = None
    field_id: str | None = None
    group_id: str | None = None
    no_group: bool = False
    tenant_id: str | None = None
    filter_tenant: bool = False


def rule_query(table: sa.Table, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """``columns`` of a rule table (mappings or thresholds) with its ``id``,
    the UUIDs of its parent and group (``service_id``, ``field_id``,
    ``group_id``) and their integer keys (``service_pk``, ``field_pk``,
    ``group_pk``), in ``id`` order."""
    return (
        sa.select(
            table.c.id,
            *columns,
            _SVC.c.service_id,
            _FLD.c.field_id,
            _GRP.c.group_id,
            table.c.service_id.label("service_pk"),
            table.c.field_id.label("field_pk"),
            table.c.group_id.label("group_pk"),
        )
        .select_from(
            table.outerjoin(_SVC, table.c.service_id == _SVC.c.id)
            .outerjoin(_FLD, table.c.field_id == _FLD.c.id)
            .outerjoin(_GRP, table.c.group_id == _GRP.c.id)
        )
        .order_by(table.c.id)
    )


def filter_rules(query: sa.Select[Any], table: sa.Table, flt: RuleFilter) -> sa.Select[Any]:
    """Apply ``flt`` to a ``rule_query`` of ``table``."""
    # The service filter wins over the field one, as the v1 API always did.
    if flt.service_id:
        query = query.where(_SVC.c.service_id == flt.service_id)
    elif flt.field_id:
        query = query.where(_FLD.c.field_id == flt.field_id)
    if flt.group_id:
        query = query.where(_GRP.c.group_id == flt.group_id)
    elif flt.no_group:
        query = query.where(table.c.group_id.is_(None))
    if flt.filter_tenant:
        query = query.where(
            table.c.tenant_id == flt.tenant_id if flt.tenant_id else table.c.tenant_id.is_(None)
        )
    return query


def row_to(cls: type[_Rule], row: Row[Any]) -> _Rule:
    """The dataclass ``cls`` from the same-named columns of ``row``."""
    data = row._mapping
    return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def rule_group(conn: Connection, row: Row[Any], kind: str, rule_id: str) -> Group:
    """The group of a rule (a ``rule_query`` row of a ``kind``); 404 without one."""
    if row.group_pk is None:
        raise exceptions.NotFound(f"{kind} has no group (UUID: {rule_id})")
    return group_by_pk(conn, row.group_pk)


def same_parent(table: sa.Table, parents: Parents) -> sa.ColumnElement[bool]:
    """Rows of a rule table under the same service or field as ``parents``."""
    if parents.service_pk is not None:
        return table.c.service_id == parents.service_pk
    return table.c.field_id == parents.field_pk


def check_parent_kept(kind: str, current: Any, changes: MappingType[str, Any]) -> None:
    """An update may repeat the parent of a rule (``current``), not change it."""
    for attribute in ("service_id", "field_id"):
        wanted = changes.get(attribute)
        if wanted and wanted != getattr(current, attribute):
            raise exceptions.InvalidInput(
                f"The {attribute} of a {kind} cannot be changed; delete it and create a new one."
            )


def updated_parents(conn: Connection, row: Row[Any], changes: MappingType[str, Any]) -> Parents:
    """The parents of a rule (a ``rule_query`` row) once the group in
    ``changes``, if any, replaces its own; an unknown group is a 400."""
    group_pk, group_uuid = row.group_pk, row.group_id
    if "group_id" in changes and changes["group_id"] != row.group_id:
        group_pk, group_uuid = resolve_group(conn, changes["group_id"])
    return Parents(
        service_pk=row.service_pk,
        field_pk=row.field_pk,
        group_pk=group_pk,
        service_id=row.service_id,
        field_id=row.field_id,
        group_id=group_uuid,
    )


# --- services ----------------------------------------------------------------------


def list_services(db: Database) -> list[Service]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(SERVICES).order_by(SERVICES.c.id))
        return [row_to(Service, r) for r in rows]


def get_service(db: Database, service_id: str) -> Service:
    with db.connect() as conn:
        row = _service_row(conn, service_id)
    if row is None:
        raise exceptions.NotFound(f"No such service: None (UUID: {service_id})")
    return row_to(Service, row)


def _existing_by_name(
    conn: Connection, table: sa.Table, name: str, **where: Any
) -> Row[Any] | None:
    query = sa.select(table).where(table.c.name == name)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    return conn.execute(query).first()


def create_service(db: Database, name: str) -> Service:
    check_name("name", name, SERVICES.c.name)
    with transaction(db) as conn:
        # The unique index also guards this, but the message needs the UUID
        # of the existing service (and MySQL compares names without case).
        existing = _existing_by_name(conn, SERVICES, name)
        if existing is not None:
            raise exceptions.Conflict(
                f"Service {name} already exists (UUID: {existing.service_id})"
            )
        service = Service(service_id=new_uuid(), name=name)
        _insert(conn, SERVICES, service_id=service.service_id, name=name)
    return service


def delete_service(db: Database, service_id: str) -> None:
    """Hard delete, with its fields and every rule under it (even history)."""
    with transaction(db) as conn:
        row = _service_row(conn, service_id, lock=True)
        if row is None:
            raise exceptions.NotFound(f"No such service: None (UUID: {service_id})")
        # Explicit rather than trusting ON DELETE CASCADE: SQLite only honours
        # it when the connection enabled foreign keys.
        field_pks = sa.select(FIELDS.c.id).where(FIELDS.c.service_id == row.id)
        for table in (MAPPINGS, THRESHOLDS):
            conn.execute(
                table.delete().where(
                    sa.or_(table.c.service_id == row.id, table.c.field_id.in_(field_pks))
                )
            )
        conn.execute(FIELDS.delete().where(FIELDS.c.service_id == row.id))
        conn.execute(SERVICES.delete().where(SERVICES.c.id == row.id))


# --- fields --------------------------------------------------------------------------


def _field_query() -> sa.Select[Any]:
    return (
        sa.select(FIELDS.c.field_id, FIELDS.c.name, SERVICES.c.service_id)
        .select_from(FIELDS.join(SERVICES, FIELDS.c.service_id == SERVICES.c.id))
        .order_by(FIELDS.c.id)
    )


def list_fields(db: Database, service_id: str) -> list[Field]:
    """Fields of a service; an unknown service simply has none."""
    with db.connect() as conn:
        rows = conn.execute(_field_query().where(SERVICES.c.service_id == service_id))
        return [row_to(Field, r) for r in rows]


def get_field(db: Database, field_id: str) -> Field:
    with db.connect() as conn:
        row = conn.execute(_field_query().where(FIELDS.c.field_id == field_id)).first()
    if row is None:
        raise exceptions.NotFound(f"No such field: {field_id}")
    return row_to(Field, row)


def create_field(db: Database, service_id: str, name: str) -> Field:
    check_name("name", name, FIELDS.c.name)
    with transaction(db) as conn:
        service = _service_row(conn, service_id, lock=True)
        if service is None:
            raise exceptions.InvalidInput(f"No such service: None (UUID: {service_id})")
        existing = _existing_by_name(conn, FIELDS, name, service_id=service.id)
        if existing is not None:
            raise exceptions.Conflict(f"Field {name} already exists (UUID: {existing.field_id})")
        field = Field(field_id=new_uuid(), name=name, service_id=service.service_id)
        _insert(conn, FIELDS, field_id=field.field_id, name=name, service_id=service.id)
    return field


def delete_field(db: Database, field_id: str) -> None:
    with transaction(db) as conn:
        row = _field_row(conn, field_id, lock=True)
        if row is None:
            raise exceptions.NotFound(f"No such field: {field_id}")
        for table in (MAPPINGS, THRESHOLDS):
            conn.execute(table.delete().where(table.c.field_id == row.id))
        conn.execute(FIELDS.delete().where(FIELDS.c.id == row.id))


# --- groups ----------------------------------------------------------------------------


def list_groups(db: Database) -> list[Group]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(GROUPS).order_by(GROUPS.c.id))
        return [row_to(Group, r) for r in rows]


def get_group(db: Database, group_id: str) -> Group:
    with db.connect() as conn:
        row = _group_row(conn, group_id)
    if row is None:
        raise exceptions.NotFound(f"No such group: None (UUID: {group_id})")
    return row_to(Group, row)


def create_group(db: Database, name: str) -> Group:
    check_name("name", name, GROUPS.c.name)
    with transaction(db) as conn:
        existing = _existing_by_name(conn, GROUPS, name)
        if existing is not None:
            raise exceptions.Conflict(f"Group {name} already exists (UUID: {existing.group_id})")
        group = Group(group_id=new_uuid(), name=name)
        _insert(conn, GROUPS, group_id=group.group_id, name=name)
    return group


def delete_group(db: Database, group_id: str, recursive: bool = False) -> None:
    """Delete a group; its rules go with it (``recursive``) or lose their group."""
    with transaction(db) as conn:
        pk = get_group_pk(conn, group_id)
        for table in (MAPPINGS, THRESHOLDS):
            if recursive:
                conn.execute(table.delete().where(table.c.group_id == pk))
            else:
                conn.execute(table.update().where(table.c.group_id == pk).values(group_id=None))
        conn.execute(GROUPS.delete().where(GROUPS.c.id == pk))
