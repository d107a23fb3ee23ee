"""WSME adaptations that keep money exact and inputs strict, installed once.

* JSON bodies are decoded with ``parse_float=Decimal``: a cost of ``0.1``
  reaches the code as ``Decimal('0.1')``, never through a binary float.
* Decimal attributes reject NaN/Infinity and non-numbers with a 400.
* Dates (query and body) are parsed leniently as clients send them
  (``2019-06-01 00:00:00``, ``2019-06-01T00:00:00+00:00``, ``2019-06-01``)
  and become aware UTC.
* Boolean query flags are parsed strictly: ``True/true/1/yes/on`` and
  ``False/false/0/no/off`` (upstream took any non-empty string as true, so
  ``?deleted=false`` meant true).
"""

from __future__ import annotations

import datetime
import decimal
import json as _stdlib_json
import types
from typing import Any

import wsme.exc
import wsme.rest.args
import wsme.rest.json

from cloudkitty import exceptions
from cloudkitty.dataframe import to_decimal
from cloudkitty.utils import tz

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "n", "f", ""})


def _loads(text: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("parse_float", decimal.Decimal)
    return _stdlib_json.loads(text, **kwargs)


def _load(stream: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("parse_float", decimal.Decimal)
    return _stdlib_json.load(stream, **kwargs)


# wsme.rest.json calls ``json.loads``/``json.dumps`` through its module global.
wsme.rest.json.json = types.SimpleNamespace(  # type: ignore[attr-defined]
    loads=_loads, load=_load, dumps=_stdlib_json.dumps
)


def _override(generic_function: Any, obj: Any) -> Any:
    """Replace WSME's converter for ``obj`` (simplegeneric refuses a second
    ``when_object`` registration, so we reach its registry directly)."""
    when_object = generic_function.when_object
    cells = dict(zip(when_object.__code__.co_freevars, when_object.__closure__, strict=True))
    registry = cells["_by_object"].cell_contents

    def decorate(func: Any) -> Any:
        registry[id(obj)] = (obj, func)
        return func

    return decorate


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise wsme.exc.ClientSideError(f"Invalid boolean value: {value!r}")


def _decimal(value: Any) -> decimal.Decimal | None:
    if value is None:
        return None
    try:
        return to_decimal(value)
    except exceptions.InvalidInput as error:
        # WSME turns ValueError into "Invalid input for field/attribute ...".
        raise ValueError(str(error)) from None


def _datetime(value: Any) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    try:
        return tz.parse_datetime(value)
    except exceptions.InvalidInput as error:
        raise ValueError(str(error)) from None


@_override(wsme.rest.json.fromjson, decimal.Decimal)
def _decimal_fromjson(datatype: Any, value: Any) -> decimal.Decimal | None:
    return _decimal(value)


@_override(wsme.rest.json.fromjson, datetime.datetime)
def _datetime_fromjson(datatype: Any, value: Any) -> datetime.datetime | None:
    return _datetime(value)


@_override(wsme.rest.json.fromjson, bool)
def _bool_fromjson(datatype: Any, value: Any) -> bool | None:
    if value is None:
        return None
    try:
        return parse_bool(value)
    except wsme.exc.ClientSideError as error:
        raise ValueError(error.faultstring) from None


@_override(wsme.rest.json.tojson, datetime.datetime)
def _datetime_tojson(datatype: Any, value: Any) -> str | None:
    # v1 renders naive UTC ISO strings.
    return tz.v1_format(value)


@_override(wsme.rest.args.from_param, bool)
def _bool_from_param(datatype: Any, value: Any) -> bool | None:
    if value is None:
        return None
    return parse_bool(value)


@_override(wsme.rest.args.from_param, datetime.datetime)
def _datetime_from_param(datatype: Any, value: Any) -> datetime.datetime | None:
    try:
        return _datetime(value)
    except ValueError as error:
        raise wsme.exc.ClientSideError(str(error)) from None


@_override(wsme.rest.args.from_param, decimal.Decimal)
def _decimal_from_param(datatype: Any, value: Any) -> decimal.Decimal | None:
    try:
        return _decimal(value)
    except ValueError as error:
        raise wsme.exc.ClientSideError(str(error)) from None
