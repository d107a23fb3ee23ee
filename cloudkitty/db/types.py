"""Column types that keep money exact and times in UTC on every backend."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from cloudkitty.utils import tz


class ExactDecimal(TypeDecorator[decimal.Decimal]):
    """NUMERIC(p, s) where the backend has exact decimals; text on SQLite.

    SQLite has no decimal type and would round-trip NUMERIC through a float
    (upstream's ``0.1000000000000000055511151231``). Storing the canonical
    string keeps every digit. Values are quantized to the column scale so all
    backends answer the same thing.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = decimal.Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(self.precision + 2))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, decimal.Decimal):
            raise TypeError(f"ExactDecimal needs a Decimal, got {type(value).__name__}")
        value = value.quantize(self._quantum, context=decimal.Context(prec=self.precision + 2))
        if dialect.name == "sqlite":
            return str(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> decimal.Decimal | None:
        if value is None:
            return None
        return decimal.Decimal(value).quantize(
            self._quantum, context=decimal.Context(prec=self.precision + 2)
        )


class UTCDateTime(TypeDecorator[datetime.datetime]):
    """DATETIME stored as naive UTC, returned as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            # Microseconds matter: rule start/end and audit times are compared.
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return tz.to_naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime.datetime | None:
        if value is None:
            return None
        return tz.as_utc(value)
