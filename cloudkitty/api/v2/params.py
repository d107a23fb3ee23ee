"""The v2 input conventions, written once: query strings and JSON bodies.

Query strings: a *single* parameter appears at most once; a *multi* one may
be repeated and/or comma-separated (``a,b``); a *dict* one is made of
``key:value`` tokens (repeated and/or comma-separated) whose keys are unique
("single" mode, dataframes) or accumulate into OR lists ("multi" mode,
summary); ``offset`` >= 0 and ``limit`` >= 1 default to 0 and 100; any
parameter a route does not know is refused. Bodies must be JSON objects
without unknown keys. Every refusal is an ``InvalidInput`` (HTTP 400) whose
text keeps upstream's wording, which clients match.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cloudkitty import exceptions
from cloudkitty.utils import tz

EXTRA_KEYS = "extra keys not allowed"
DEFAULT_OFFSET = 0
DEFAULT_LIMIT = 100
MAX_INTEGER = 2**63 - 1


def invalid(message: str, path: str) -> exceptions.InvalidInput:
    """A 400 naming the offending parameter or key, as upstream does."""
    return exceptions.InvalidInput(f"Invalid data: {message} (path: '{path}')")


class QueryParams:
    """The query string of one request, checked against the names a route
    accepts. ``query`` is a WebOb MultiDict (``pecan.request.GET``)."""

    def __init__(self, query: Any, allowed: Iterable[str]) -> None:
        self._items: list[tuple[str, str]] = list(query.items())
        known = set(allowed)
        for key, _value in self._items:
            if key not in known:
                raise invalid(EXTRA_KEYS, key)

    def _values(self, name: str) -> list[str]:
        return [value for key, value in self._items if key == name]

    def single(self, name: str, default: str | None = None) -> str | None:
        """The one value of ``name``; a repeated parameter is refused."""
        values = self._values(name)
        if not values:
            return default
        if len(values) != 1:
            raise invalid("length of value must be 1", name)
        return values[0]

    def multi(self, name: str) -> list[str] | None:
        """Every value of ``name``, repeated and/or comma-separated, in
        order and without duplicates; None when absent or empty."""
        tokens: list[str] = []
        for value in self._values(name):
            for token in value.split(","):
                token = token.strip()
                if token and token not in tokens:
                    tokens.append(token)
        return tokens or None

    def _pairs(self, name: str) -> list[tuple[str, str]]:
        pairs = []
        for value in self._values(name):
            for token in value.split(","):
                if not token.strip():
                    continue
                parts = token.split(":")
                if len(parts) != 2:
                    raise invalid(f"invalid key:value association {token}", name)
                pairs.append((parts[0].strip(), parts[1].strip()))
        return pairs

    def dict_single(self, name: str) -> dict[str, str]:
        """``key:value`` tokens with unique keys."""
        result: dict[str, str] = {}
        for key, value in self._pairs(name):
            if key in result:
                raise invalid(f"key {key} already provided", name)
            result[key] = value
        return result

    def dict_multi(self, name: str) -> dict[str, list[str]]:
        """``key:value`` tokens; a repeated key gathers its values (OR)."""
        result: dict[str, list[str]] = {}
        for key, value in self._pairs(name):
            values = result.setdefault(key, [])
            if value not in values:
                values.append(value)
        return result

    def integer(self, name: str, default: int, minimum: int) -> int:
        text = self.single(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise invalid("expected int", name) from None
        if value < minimum:
            raise invalid(f"value must be at least {minimum}", name)
        if value > MAX_INTEGER:
            # Databases bind 64-bit integers; a larger one failed as a 500.
            raise invalid(f"value must be at most {MAX_INTEGER}", name)
        return value

    def flags(self, name: str) -> list[bool] | None:
        """A multi parameter of 0/1 integers (``active``)."""
        tokens = self.multi(name)
        if tokens is None:
            return None
        if any(token not in ("0", "1") for token in tokens):
            raise invalid("value must be 0 or 1", name)
        return [token == "1" for token in tokens]

    def pagination(self) -> tuple[int, int]:
        """``(offset, limit)``."""
        return (
            self.integer("offset", DEFAULT_OFFSET, 0),
            self.integer("limit", DEFAULT_LIMIT, 1),
        )

    def date(self, name: str) -> datetime.datetime | None:
        text = self.single(name)
        return None if text is None else parse_date(text, name)

    def period(self) -> tuple[datetime.datetime, datetime.datetime]:
        """``begin``/``end``; missing ones default to the current UTC month."""
        now = tz.utcnow()
        begin = self.date("begin") or tz.month_start(now)
        end = self.date("end") or tz.next_month(now)
        return begin, end


def parse_date(value: Any, path: str) -> datetime.datetime:
    """An aware UTC datetime from an ISO 8601 text (lenient, see tz)."""
    try:
        return tz.parse_datetime(value, path)
    except exceptions.InvalidInput:
        raise invalid("expected a valid ISO 8601 date", path) from None


# -- JSON bodies ---------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def read_body(raw: bytes | str | None, allowed: Iterable[str]) -> dict[str, Any]:
    """The JSON object of a request body (empty body: ``{}``).

    Numbers with a fraction become Decimals parsed from their JSON text,
    never floats. No Content-Type is required: the client posts dataframes
    without one.
    """
    if not raw or not raw.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(raw, parse_float=decimal.Decimal, parse_constant=_no_constants)
        except ValueError:
            raise exceptions.InvalidInput("Request is not in valid JSON format") from None
    if not isinstance(body, dict):
        raise exceptions.InvalidInput("The request body must be a JSON object")
    known = set(allowed)
    for key in body:
        if key not in known:
            raise invalid(EXTRA_KEYS, key)
    return body


def body_str(
    body: Mapping[str, Any], key: str, max_length: int, required: bool = False
) -> str | None:
    """A non-empty string of at most ``max_length`` characters."""
    value = body.get(key)
    if value is None:
        if required:
            raise invalid("required key not provided", key)
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid("expected a non-empty string", key)
    if len(value) > max_length:
        raise invalid(f"length of value must be at most {max_length}", key)
    return value


def body_str_list(body: Mapping[str, Any], key: str, max_length: int) -> list[str] | None:
    """A string or a list of strings; strings may be comma-separated (the
    client joins repeated CLI options with commas)."""
    value = body.get(key)
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise invalid("expected a string or a list of strings", key)
    tokens: list[str] = []
    for item in items:
        for token in item.split(","):
            token = token.strip()
            if len(token) > max_length:
                raise invalid(f"length of value must be at most {max_length}", key)
            if token and token not in tokens:
                tokens.append(token)
    return tokens or None


def body_bool(body: Mapping[str, Any], key: str) -> bool | None:
    """A JSON boolean (``"true"``/``"false"`` strings accepted too)."""
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid("expected bool", key)


def body_date(body: Mapping[str, Any], key: str) -> datetime.datetime | None:
    value = body.get(key)
    return None if value is None else parse_date(value, key)
