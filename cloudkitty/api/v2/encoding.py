"""JSON rendering of v2 answers: money and quantities as exact JSON numbers.

``json`` (and Pecan's encoder) can only write a Decimal through ``float``,
which turns a price of 0.1 into 0.1000000000000000055511151231 once a client
reads it back as a decimal. This writer emits each Decimal's own digits as
a JSON number, and datetimes as ISO strings (aware ``+00:00`` in v2, naive
for the reprocessing routes, as upstream).
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Mapping
from typing import Any

import webob

from cloudkitty.utils import tz

DateFormat = Callable[[datetime.datetime], str | None]


def decimal_text(value: decimal.Decimal) -> str:
    """The shortest plain (no exponent) spelling of a finite Decimal:
    ``1.5000`` -> ``1.5``, ``1E+2`` -> ``100``."""
    if not value.is_finite():
        raise ValueError(f"{value} has no JSON spelling")
    # Not normalize(): it rounds to the context precision (28 digits).
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _write(value: Any, out: list[str], date_format: DateFormat) -> None:
    if value is None or isinstance(value, (bool, str)):
        out.append(json.dumps(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, decimal.Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, float):
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, datetime.datetime):
        out.append(json.dumps(date_format(value)))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(", ")
            out.append(json.dumps(str(key)))
            out.append(": ")
            _write(item, out, date_format)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            _write(item, out, date_format)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any, naive_dates: bool = False) -> str:
    """JSON text of ``value``; see the module docstring."""
    out: list[str] = []
    _write(value, out, tz.v1_format if naive_dates else tz.v2_format)
    return "".join(out)


def json_response(body: Any, status: int = 200, naive_dates: bool = False) -> webob.Response:
    """A complete JSON answer; Pecan sends a returned Response as it is."""
    response = webob.Response(status=status, content_type="application/json", charset="UTF-8")
    response.text = dumps(body, naive_dates)
    return response


def no_content() -> webob.Response:
    """204, no body."""
    response = webob.Response(status=204)
    response.content_type = None
    return response
