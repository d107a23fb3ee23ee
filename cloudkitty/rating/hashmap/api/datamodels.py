"""WSME types of the hashmap v1 API and the conversions from repository values.

Amounts are ``Decimal`` from the JSON text to the database and back; they are
rendered as plain strings at the column scale (``"0.1000000000000000000000000000"``,
never ``"0E-28"``). Rule dates are rendered as naive UTC ISO strings.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Any, TypeVar

from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.dataframe import to_decimal
from cloudkitty.rating.hashmap import repository, repository_mappings, repository_thresholds
from cloudkitty.utils import tz

#: ``end`` given as a bare date covers that whole day
_END_OF_DAY = datetime.time(23, 59, 59)


class AmountType(wtypes.UserType):
    """A decimal amount carried as a JSON string (numbers accepted on input)."""

    basetype = wtypes.text
    name = "decimal"

    def validate(self, value: Any) -> Decimal:
        # Runs when the attribute is set: WSME then names the attribute in
        # its "Invalid input for field/attribute cost" message.
        try:
            return to_decimal(value, "Value")
        except exceptions.InvalidInput as error:
            raise ValueError(str(error)) from None

    def tobasetype(self, value: Decimal | None) -> str | None:
        # format(..., "f"): str() would write "0E-28" for a zero cost.
        return None if value is None else format(value, "f")


class RuleDateType(wtypes.UserType):
    """A rule ``start``/``end``: lenient ISO 8601 in, naive UTC ISO out.

    With ``end_of_day``, a bare date (``2024-05-01``) means the end of that
    day (``23:59:59``), as the v1 API always stored it.
    """

    basetype = wtypes.text

    def __init__(self, name: str, end_of_day: bool = False) -> None:
        self.name = name
        self.end_of_day = end_of_day

    def validate(self, value: Any) -> datetime.datetime:
        try:
            parsed = tz.parse_datetime(value)
        except exceptions.InvalidInput as error:
            raise ValueError(str(error)) from None
        if self.end_of_day and tz.is_date_only(value):
            parsed = datetime.datetime.combine(parsed.date(), _END_OF_DAY, tzinfo=tz.UTC)
        return parsed

    def tobasetype(self, value: datetime.datetime | None) -> str | None:
        return tz.v1_format(value)


AMOUNT = AmountType()
RULE_START = RuleDateType("start")
RULE_END = RuleDateType("end", end_of_day=True)
MAP_TYPE = wtypes.Enum(wtypes.text, *repository.MAP_TYPES)


class Service(wtypes.Base):
    service_id = wtypes.wsattr(wtypes.text)
    name = wtypes.wsattr(wtypes.text, mandatory=True)


class ServiceCollection(wtypes.Base):
    services = [Service]


class Field(wtypes.Base):
    field_id = wtypes.wsattr(wtypes.text)
    name = wtypes.wsattr(wtypes.text, mandatory=True)
    service_id = wtypes.wsattr(wtypes.text, mandatory=True)


class FieldCollection(wtypes.Base):
    fields = [Field]


class Group(wtypes.Base):
    group_id = wtypes.wsattr(wtypes.text)
    name = wtypes.wsattr(wtypes.text, mandatory=True)


class GroupCollection(wtypes.Base):
    groups = [Group]


class Mapping(wtypes.Base):
    """A mapping; the audit attributes are output only (ignored on input, so
    a client may send back the object it read)."""

    mapping_id = wtypes.wsattr(wtypes.text)
    value = wtypes.wsattr(wtypes.text)
    map_type = wtypes.wsattr(MAP_TYPE, name="type")
    cost = wtypes.wsattr(AMOUNT)
    service_id = wtypes.wsattr(wtypes.text)
    field_id = wtypes.wsattr(wtypes.text)
    group_id = wtypes.wsattr(wtypes.text)
    tenant_id = wtypes.wsattr(wtypes.text)
    created_at = wtypes.wsattr(datetime.datetime)
    start = wtypes.wsattr(RULE_START)
    end = wtypes.wsattr(RULE_END)
    name = wtypes.wsattr(wtypes.text)
    description = wtypes.wsattr(wtypes.text)
    deleted = wtypes.wsattr(datetime.datetime)
    created_by = wtypes.wsattr(wtypes.text)
    updated_by = wtypes.wsattr(wtypes.text)
    deleted_by = wtypes.wsattr(wtypes.text)


class MappingCollection(wtypes.Base):
    mappings = [Mapping]


class Threshold(wtypes.Base):
    threshold_id = wtypes.wsattr(wtypes.text)
    level = wtypes.wsattr(AMOUNT)
    map_type = wtypes.wsattr(MAP_TYPE, name="type")
    cost = wtypes.wsattr(AMOUNT)
    service_id = wtypes.wsattr(wtypes.text)
    field_id = wtypes.wsattr(wtypes.text)
    group_id = wtypes.wsattr(wtypes.text)
    tenant_id = wtypes.wsattr(wtypes.text)


class ThresholdCollection(wtypes.Base):
    thresholds = [Threshold]


#: attributes of a mapping body that describe the rule (the rest is audit data)
MAPPING_INPUTS = (
    "value",
    "map_type",
    "cost",
    "service_id",
    "field_id",
    "group_id",
    "tenant_id",
    "start",
    "end",
    "name",
    "description",
)
THRESHOLD_INPUTS = ("level", "map_type", "cost", "service_id", "field_id", "group_id", "tenant_id")


_Wire = TypeVar("_Wire", bound=wtypes.Base)


def _to_wire(cls: type[_Wire], item: Any) -> _Wire:
    """The wire form of a repository dataclass: its fields are the
    attributes of ``cls`` (Python names: ``map_type`` for ``type``)."""
    return cls(**{field.name: getattr(item, field.name) for field in dataclasses.fields(item)})


def to_service(item: repository.Service) -> Service:
    return _to_wire(Service, item)


def to_field(item: repository.Field) -> Field:
    return _to_wire(Field, item)


def to_group(item: repository.Group) -> Group:
    return _to_wire(Group, item)


def to_mapping(item: repository_mappings.Mapping) -> Mapping:
    return _to_wire(Mapping, item)


def to_threshold(item: repository_thresholds.Threshold) -> Threshold:
    return _to_wire(Threshold, item)
