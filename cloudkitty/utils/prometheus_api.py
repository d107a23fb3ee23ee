"""A minimal client of the Prometheus HTTP API and PromQL quoting helpers.

Scope ids and filter values are data, never code: every value put in a query
goes through ``quote`` (and ``regex_escape`` inside a regex matcher).
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from cloudkitty.exceptions import UNAVAILABLE_STATUSES, BadSourceAnswer, SourceUnreachable
from cloudkitty.utils import tz

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
# The metacharacters of RE2 (what Go's regexp.QuoteMeta escapes).
_REGEX_META = re.compile(r"([\\.+*?()|\[\]{}^$])")
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_label_name(name: str) -> bool:
    return bool(_LABEL_NAME.match(name))


def is_metric_name(name: str) -> bool:
    return bool(_METRIC_NAME.match(name))


def quote(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal."""
    out = []
    for char in value:
        if char in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            # Raw control characters end a PromQL string with a lexer error.
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def regex_escape(value: str) -> str:
    """``value`` as an RE2 pattern matching exactly that text."""
    return _REGEX_META.sub(r"\\\1", value)


def label_matcher(label: str, values: Sequence[str]) -> str:
    """``label="v"`` for one value, ``label=~"v1|v2"`` for several.

    Prometheus anchors regex matchers (``^(?:...)$``) and every value is
    escaped, so the alternation matches exactly the listed values.
    """
    if len(values) == 1:
        return f"{label}={quote(values[0])}"
    return f"{label}=~{quote('|'.join(regex_escape(v) for v in values))}"


def format_time(at: datetime.datetime) -> str:
    """RFC 3339 in UTC, as the ``time`` parameter of an instant query."""
    return tz.as_utc(at).isoformat().replace("+00:00", "Z")


class PrometheusClient:
    """Instant queries against ``<url>/query`` (``url`` ends with ``/api/v1``)."""

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        cafile: str | None = None,
        insecure: bool = False,
        timeout: float = 60,
        session: Any = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.auth = (user, password or "") if user else None
        # An explicit "insecure" wins over a CA file: it is the stronger wish.
        self.verify: bool | str = False if insecure else (cafile or True)
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()

    def close(self) -> None:
        self.session.close()

    def query(self, promql: str, at: datetime.datetime) -> list[Mapping[str, Any]]:
        """Result items (``{"metric": {...}, "value": [ts, "v"]}``) of an
        instant query evaluated at ``at``.

        Raises SourceUnreachable (network, timeout) or BadSourceAnswer (HTTP
        error, ``status: error``, malformed answer), keeping the cause.
        """
        where = f"Prometheus at {self.url}"
        params = {"query": promql, "time": format_time(at)}
        try:
            response = self.session.get(
                f"{self.url}/query",
                params=params,
                auth=self.auth,
                verify=self.verify,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise SourceUnreachable(f"{where}: no answer within {self.timeout}s", exc) from exc
        except requests.RequestException as exc:
            raise SourceUnreachable(f"{where}: unreachable: {network_reason(exc)}", exc) from exc
        body = self._decode(response, where)
        data = body.get("data")
        if not isinstance(data, Mapping) or data.get("resultType") != "vector":
            kind = data.get("resultType") if isinstance(data, Mapping) else None
            raise BadSourceAnswer(f"{where}: expected a vector result, got {kind!r} for {promql}")
        result = data.get("result")
        if not isinstance(result, list):
            raise BadSourceAnswer(f"{where}: malformed answer: data.result is not a list")
        for item in result:
            if not _is_vector_item(item):
                raise BadSourceAnswer(f"{where}: malformed result item {item!r}"[:500])
        return result

    @staticmethod
    def _decode(response: Any, where: str) -> Mapping[str, Any]:
        status_code = response.status_code
        if status_code in UNAVAILABLE_STATUSES:
            # A server starting, stopping or behind a proxy whose backend is
            # away: an outage like a refused connection, not a bad answer
            # (one kind of error for the whole outage, logged once).
            snippet = " ".join((response.text or "").split())[:200]
            raise SourceUnreachable(f"{where}: unavailable: HTTP {status_code} {snippet}".rstrip())
        try:
            # Numbers as Decimal: nothing on this path may turn into a float.
            body = json.loads(response.text, parse_float=decimal.Decimal)
        except ValueError as exc:
            snippet = (response.text or "")[:200]
            raise BadSourceAnswer(
                f"{where}: HTTP {status_code}, answer is not JSON: {snippet!r}", exc
            ) from exc
        if not isinstance(body, Mapping):
            raise BadSourceAnswer(f"{where}: HTTP {status_code}, answer is not a JSON object")
        if body.get("status") != "success" or status_code >= 400:
            error_type = body.get("errorType", "unknown")
            error = body.get("error", "no error message")
            raise BadSourceAnswer(f"{where}: HTTP {status_code}, {error_type}: {error}")
        return body


def network_reason(exc: BaseException) -> str:
    """The cause of a failed request without the request URL.

    requests words a refused connection as "...Max retries exceeded with url:
    /api/v1/query?query=<the whole encoded PromQL> (Caused by ...)": hundreds
    of characters of query in every log line and in the scope state, where
    the operator needs "Connection refused". The innermost urllib3 reason
    says it; its "HTTPConnection(host=..., port=...): " prefix repeats what
    the caller's message already names.
    """
    reason: Any = exc
    if getattr(exc, "reason", None) is None and exc.args and isinstance(exc.args[0], Exception):
        reason = exc.args[0]  # requests wraps urllib3's error as its first argument
    while isinstance(getattr(reason, "reason", None), BaseException):
        reason = reason.reason
    text = str(reason)
    text = _CONNECTION_PREFIX.sub("", text)
    return _URL_IN_MESSAGE.sub("", text).strip() or type(exc).__name__


_CONNECTION_PREFIX = re.compile(r"^\s*<?HTTPS?Connection(?:Pool)?\b[^:]*>?:\s*")
_URL_IN_MESSAGE = re.compile(r"\s*with url: \S+")


def _is_vector_item(item: Any) -> bool:
    if not isinstance(item, Mapping) or not isinstance(item.get("metric"), Mapping):
        return False
    value = item.get("value")
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)
