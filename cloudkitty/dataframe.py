"""The domain model: rated usage as immutable points grouped in frames.

Quantities and prices are ``Decimal``; times are timezone-aware UTC. Nothing
here imports anything outside the standard library.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from cloudkitty import exceptions
from cloudkitty.utils import tz

Decimal = decimal.Decimal
ZERO = Decimal(0)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def to_decimal(value: Any, what: str = "value") -> Decimal:
    """Convert an edge value to Decimal without float noise.

    Floats go through ``str()`` (shortest repr) so ``0.1`` stays ``0.1``.
    NaN and infinities are rejected: they cannot be a price or a quantity.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise exceptions.InvalidInput(f"{what} must be a number, not a boolean")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, (float, str)):
        try:
            result = Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise exceptions.InvalidInput(f"{what} is not a number: {value!r}") from None
    else:
        raise exceptions.InvalidInput(f"{what} is not a number: {value!r}")
    if not result.is_finite():
        raise exceptions.InvalidInput(f"{what} must be finite: {value!r}")
    return result


def frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Return a read-only view of a copy of ``mapping``."""
    if not mapping:
        return _EMPTY
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping))


class DataPoint(NamedTuple):
    """One measured resource in one period.

    ``groupby`` holds the dimensions storage aggregates on; ``metadata`` is
    descriptive. A NamedTuple keeps creation cheap on the rating hot path;
    ``_replace`` returns a new point (rating never mutates).
    """

    unit: str
    qty: Decimal
    price: Decimal = ZERO
    groupby: Mapping[str, Any] = _EMPTY
    metadata: Mapping[str, Any] = _EMPTY
    description: str | None = None

    @classmethod
    def create(
        cls,
        unit: str,
        qty: Any,
        price: Any = ZERO,
        groupby: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> DataPoint:
        """Validating constructor for values coming from outside."""
        return cls(
            unit=str(unit) if unit is not None else "undefined",
            qty=to_decimal(qty, "qty"),
            price=to_decimal(price, "price"),
            groupby=frozen(groupby),
            metadata=frozen(metadata),
            description=description,
        )

    @property
    def desc(self) -> dict[str, Any]:
        """Metadata merged with groupby (groupby wins), as rating sees it."""
        merged = dict(self.metadata)
        merged.update(self.groupby)
        return merged

    def with_price(self, price: Decimal) -> DataPoint:
        return self._replace(price=price)

    def to_dict(self) -> dict[str, Any]:
        """The v2 wire/dict form (Decimals kept; JSON encoding is the API's job)."""
        return {
            "vol": {"unit": self.unit, "qty": self.qty},
            "rating": {"price": self.price},
            "groupby": dict(self.groupby),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataPoint:
        """Parse the v2 dict form; raise InvalidInput naming the bad key."""
        if not isinstance(data, Mapping):
            raise exceptions.InvalidInput("a datapoint must be an object")
        for key in ("vol", "groupby", "metadata"):
            if key not in data:
                raise exceptions.InvalidInput(f"datapoint: required key not provided: {key}")
        vol = data["vol"]
        if not isinstance(vol, Mapping) or "unit" not in vol or "qty" not in vol:
            raise exceptions.InvalidInput("datapoint: vol needs 'unit' and 'qty'")
        rating = data.get("rating") or {}
        if not isinstance(rating, Mapping):
            raise exceptions.InvalidInput("datapoint: rating must be an object")
        for key in ("groupby", "metadata"):
            if not isinstance(data[key], Mapping):
                raise exceptions.InvalidInput(f"datapoint: {key} must be an object")
        return cls.create(
            unit=vol["unit"],
            qty=vol["qty"],
            price=rating.get("price", ZERO),
            groupby=data["groupby"],
            metadata=data["metadata"],
            description=data.get("description"),
        )


class DataFrame:
    """The points of several metric types over one period ``[start, end)``."""

    __slots__ = ("start", "end", "_usage")

    def __init__(
        self,
        start: datetime.datetime,
        end: datetime.datetime,
        usage: Mapping[str, Any] | None = None,
    ) -> None:
        start = tz.as_utc(start)
        end = tz.as_utc(end)
        if not start < end:
            raise exceptions.InvalidInput(f"period start {start} must be before end {end}")
        self.start = start
        self.end = end
        usage = usage or {}
        self._usage: dict[str, tuple[DataPoint, ...]] = {
            key: tuple(usage[key]) for key in sorted(usage)
        }

    @property
    def usage(self) -> Mapping[str, tuple[DataPoint, ...]]:
        return MappingProxyType(self._usage)

    def metric_types(self) -> list[str]:
        return list(self._usage)

    def points(self, metric_type: str) -> tuple[DataPoint, ...]:
        return self._usage.get(metric_type, ())

    def iterpoints(self) -> Iterator[tuple[str, DataPoint]]:
        for metric_type, points in self._usage.items():
            for point in points:
                yield metric_type, point

    def __len__(self) -> int:
        return sum(len(p) for p in self._usage.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataFrame):
            return NotImplemented
        return (self.start, self.end, self._usage) == (other.start, other.end, other._usage)

    def __repr__(self) -> str:
        return f"DataFrame({self.start.isoformat()}, {self.end.isoformat()}, {len(self)} points)"

    def replace_usage(self, usage: Mapping[str, Any]) -> DataFrame:
        """A new frame over the same period with other points."""
        return DataFrame(self.start, self.end, usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"begin": self.start, "end": self.end},
            "usage": {k: [p.to_dict() for p in v] for k, v in self._usage.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataFrame:
        """Parse the v2 dict form (``period.begin/end`` and ``usage``)."""
        if not isinstance(data, Mapping):
            raise exceptions.InvalidInput("a dataframe must be an object")
        period = data.get("period")
        if not isinstance(period, Mapping) or "begin" not in period or "end" not in period:
            raise exceptions.InvalidInput("dataframe: period needs 'begin' and 'end'")
        start = tz.parse_datetime(period["begin"], "period.begin")
        end = tz.parse_datetime(period["end"], "period.end")
        usage = data.get("usage", {})
        if not isinstance(usage, Mapping):
            raise exceptions.InvalidInput("dataframe: usage must be an object")
        parsed: dict[str, list[DataPoint]] = {}
        for metric_type, points in usage.items():
            if not isinstance(points, list):
                raise exceptions.InvalidInput(f"dataframe: usage.{metric_type} must be a list")
            parsed[str(metric_type)] = [DataPoint.from_dict(p) for p in points]
        return cls(start, end, parsed)
