"""How the v1 read routes write values WSME has no type for.

Money and quantities become exact decimal text; free-form documents
(metrics.yml, point descriptions) pass through as JSON after their values are
made JSON-safe, so an odd value answers data rather than a 500.
"""

from __future__ import annotations

import base64
import datetime
import decimal
from collections.abc import Mapping
from typing import Any

from wsme import types as wtypes


def decimal_text(value: decimal.Decimal | int) -> str:
    """``value`` as plain decimal text: every significant digit, no exponent,
    no trailing zeros, ``"0"`` for zero.

    Storage hands back sums at the column scale (``5.8320000000``); those
    zeros carry no value, so they are dropped. Upstream rounded report rates
    through a float to 5 decimals; here nothing is rounded.
    """
    number = decimal.Decimal(value)
    if number.is_zero():
        return "0"
    text = format(number, "f")  # never scientific notation
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` accepts.

    Mapping keys become strings; Decimals become exact text (a JSON float
    would round them); dates become ISO strings; bytes (YAML ``!!binary``)
    become base64 text; anything else unknown becomes its ``str``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return decimal_text(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [json_safe(item) for item in items]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


class JsonDocument(wtypes.UserType):
    """A WSME type for an arbitrary JSON value, written as it is given.

    WSME serializes a user type through its base type; text has no
    converter, so the value reaches ``json.dumps`` untouched. Callers pass
    values through ``json_safe`` first.
    """

    basetype = wtypes.text
    name = "json"

    def validate(self, value: Any) -> Any:
        return value


JSON = JsonDocument()
