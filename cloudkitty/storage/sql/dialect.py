"""What differs between SQLite, PostgreSQL and MariaDB/MySQL, in one place.

Exact sums: PostgreSQL and MySQL sum NUMERIC exactly; SQLite has no decimal
type (ExactDecimal stores text there) and its SUM() goes through floats, so we
register an exact Decimal aggregate on each SQLite connection. Upserts and
"insert unless present" have three spellings. Sorting must be byte-wise
everywhere for results to be identical.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection

# Sums of NUMERIC(44,28) values need more than Decimal's default 28 digits.
EXACT = decimal.Context(prec=96, rounding=decimal.ROUND_HALF_EVEN)


class _DecimalSum:
    """SQLite aggregate ``ck_dsum(text)``: exact sum, returned as text."""

    def __init__(self) -> None:
        self.total: decimal.Decimal | None = None

    def step(self, value: Any) -> None:
        if value is None:
            return
        amount = decimal.Decimal(str(value))
        self.total = amount if self.total is None else EXACT.add(self.total, amount)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def _decimal_add(left: Any, right: Any) -> str | None:
    """SQLite function ``ck_dadd(a, b)`` for rollup upserts."""
    if left is None:
        return None if right is None else str(right)
    if right is None:
        return str(left)
    return str(EXACT.add(decimal.Decimal(str(left)), decimal.Decimal(str(right))))


def prepare(conn: Connection) -> None:
    """Register our SQLite functions on the connection (no-op elsewhere).

    Done per use rather than on engine connect because the engine is shared
    with code that does not know about storage; registering is cheap.
    """
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    raw.create_aggregate("ck_dsum", 1, _DecimalSum)  # type: ignore[union-attr]
    raw.create_function("ck_dadd", 2, _decimal_add, deterministic=True)  # type: ignore[union-attr]


def locks_scanned_rows(name: str) -> bool:
    """True where a DELETE locks every row its index scan passes (InnoDB
    at repeatable read), not only the rows it deletes: big deletes then go
    by primary key so concurrent writers of other scopes are not caught."""
    return name in ("mysql", "mariadb")


def dsum(name: str, column: Any) -> Any:
    """Exact SUM of a decimal column for dialect ``name``."""
    if name == "sqlite":
        return sa.func.ck_dsum(column, type_=sa.String())
    return sa.func.sum(column, type_=sa.Numeric(asdecimal=True))


def dadd(name: str, left: Any, right: Any) -> Any:
    """Exact ``left + right`` of two decimal columns."""
    if name == "sqlite":
        return sa.func.ck_dadd(left, right, type_=sa.String())
    return left + right


def to_decimal(value: Any, quantum: decimal.Decimal) -> decimal.Decimal:
    """A summed value from any driver (Decimal or text) at a fixed scale."""
    if value is None:
        value = 0
    if not isinstance(value, decimal.Decimal):
        value = decimal.Decimal(str(value))
    return value.quantize(quantum, context=EXACT)


def sortable(name: str, expr: Any) -> Any:
    """``expr`` compared byte-wise (PostgreSQL's database collation may not
    be ``C``; MySQL columns are utf8mb4_bin; SQLite is binary)."""
    if name == "postgresql":
        return sa.collate(expr, "C")
    return expr


def order_nulls_last(name: str, expr: Any, text: bool = True) -> list[Any]:
    """ORDER BY terms: NULLs last on every backend, then the value."""
    return [expr.is_(None), sortable(name, expr) if text else expr]


def insert_ignore(
    name: str,
    table: sa.Table,
    unique_cols: Sequence[str],
    source: tuple[Sequence[str], Any] | None = None,
) -> Any:
    """INSERT (VALUES, or ``source`` = (columns, SELECT)) that skips rows
    conflicting on ``unique_cols``.

    MySQL gets a no-op ON DUPLICATE KEY UPDATE rather than INSERT IGNORE,
    which would also turn real errors (truncation) into warnings.
    """
    module: Any = {"postgresql": postgresql, "sqlite": sqlite}.get(name, mysql)
    stmt = module.insert(table)
    if source is not None:
        stmt = stmt.from_select(*source)
    if module is mysql:
        first = unique_cols[0]
        return stmt.on_duplicate_key_update({first: stmt.inserted[first]})
    return stmt.on_conflict_do_nothing(index_elements=list(unique_cols))


def upsert_add(
    name: str,
    table: sa.Table,
    unique_cols: Sequence[str],
    decimal_cols: Sequence[str],
    int_cols: Sequence[str] = (),
    source: tuple[Sequence[str], Any] | None = None,
) -> Any:
    """INSERT (VALUES, or ``source`` = (columns, SELECT)), or add the new
    values to the existing row's sum columns."""
    if name in ("mysql", "mariadb"):
        stmt = mysql.insert(table)
        if source is not None:
            stmt = stmt.from_select(*source)
        return stmt.on_duplicate_key_update(
            {col: table.c[col] + stmt.inserted[col] for col in (*decimal_cols, *int_cols)}
        )
    module: Any = postgresql if name == "postgresql" else sqlite
    stmt = module.insert(table)
    if source is not None:
        stmt = stmt.from_select(*source)
    updates = {col: dadd(name, table.c[col], stmt.excluded[col]) for col in decimal_cols}
    updates.update({col: table.c[col] + stmt.excluded[col] for col in int_cols})
    return stmt.on_conflict_do_update(index_elements=list(unique_cols), set_=updates)
