"""Refuse, before routing, request text that no database can store.

PostgreSQL rejects NUL characters in text, and a lone UTF-16 surrogate (a
``\\ud800`` escape in a JSON string) cannot be encoded for any driver; both
failed deep in the database layer as 500s. They are refused here, once for
every route, as a 400 with the version's error body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
NOT_ALLOWED = "NUL characters and lone surrogates are not allowed."


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def refusal(path: str, query: Any, body: bytes) -> str | None:
    """Why the request cannot be served, or None.

    ``query`` is the decoded query string (a WebOb MultiDict); a body that
    is not JSON is left to the route, which answers its own error.
    """
    if _BAD_TEXT.search(path):
        return f"Invalid path: {NOT_ALLOWED}"
    for key, value in query.items():
        if _BAD_TEXT.search(key) or _BAD_TEXT.search(value):
            return f"Invalid query parameter {key!r}: {NOT_ALLOWED}"
    if body and body.lstrip()[:1] in (b"{", b"["):
        try:
            document = json.loads(body)
        except ValueError:
            return None
        if any(_BAD_TEXT.search(text) for text in _strings(document)):
            return f"Invalid body: {NOT_ALLOWED}"
    return None
