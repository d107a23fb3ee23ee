"""Prometheus metrics of the API: request latency by route template, method
and status (a paste filter), and the ``/metrics`` app that serves them.

Labels must stay few: paths are reduced to templates (identifiers become
``{id}``) and, past ``MAX_ROUTES`` distinct templates (a scanner probing
random URLs), further ones are counted under ``other``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, make_wsgi_app, multiprocess

REQUEST_SECONDS = Histogram(
    "cloudkitty_api_request_duration_seconds",
    "Time to answer an API request, until its body is sent, by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

MAX_ROUTES = 200
OTHER = "other"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# UUIDs (with or without dashes), long hex digests and integers name one
# resource among many: they are not part of the route.
_IDENTIFIER = re.compile(
    r"^(?:[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}|[0-9]+)$"
)
_MAX_SEGMENT = 64

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def route_template(path: str) -> str:
    """``/v1/rating/module_config/hashmap/services/<uuid>/`` ->
    ``/v1/rating/module_config/hashmap/services/{id}``."""
    segments = [s for s in path.split("/") if s]
    template = ["{id}" if _IDENTIFIER.match(s) or len(s) > _MAX_SEGMENT else s for s in segments]
    return "/" + "/".join(template)


class _Routes:
    """Templates seen so far, at most ``limit`` of them (thread-safe)."""

    def __init__(self, limit: int = MAX_ROUTES) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, path: str) -> str:
        template = route_template(path)
        with self._lock:
            if template in self._seen:
                return template
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(template)
            return template


class _TimedBody:
    """The response body, passed through; the request is measured when the
    server closes it (the body may be a stream)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


class RequestMetrics:
    """WSGI middleware observing ``REQUEST_SECONDS`` for every request."""

    def __init__(self, app: WSGIApp, routes: _Routes | None = None) -> None:
        self.app = app
        self.routes = routes or _Routes()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        began = time.perf_counter()
        route = self.routes.label(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in _METHODS:
            method = OTHER
        status = ["500"]  # what a request that raised before answering counts as
        observed = [False]

        def observe() -> None:
            if not observed[0]:
                observed[0] = True
                REQUEST_SECONDS.labels(route, method, status[0]).observe(
                    time.perf_counter() - began
                )

        def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            observe()
            raise
        return _TimedBody(body, observe)


def registry() -> CollectorRegistry:
    """This process's registry, or the sum over processes when the API runs in
    several (uWSGI, mod_wsgi) and ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined, path=directory)
    return combined


def filter_factory(global_conf: dict[str, Any], **local_conf: Any) -> Callable[[WSGIApp], Any]:
    """paste ``filter_factory`` of ``request_metrics``."""
    routes = _Routes()  # one route table per pipeline built
    return lambda app: RequestMetrics(app, routes)


def app_factory(global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """paste ``app_factory`` of ``/metrics``."""
    return make_wsgi_app(registry())
