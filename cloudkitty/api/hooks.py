"""Pecan hooks: attach config, database and caller context to each request."""

from __future__ import annotations

from typing import Any

import webob
import webob.exc
from pecan import hooks

from cloudkitty.api import context, errors, guard
from cloudkitty.api.v1 import faults


class ServiceHook(hooks.PecanHook):
    """Puts ``conf``, ``db`` and ``context`` on ``pecan.request``."""

    def __init__(self, conf: Any, db: Any) -> None:
        self.conf = conf
        self.db = db

    def on_route(self, state: Any) -> None:
        # on_route, not before: _lookup methods run during routing and need these.
        request = state.request
        request.conf = self.conf
        request.db = self.db
        request.context = context.from_environ(
            request.environ, noauth=self.conf.auth_strategy == "noauth"
        )
        # Reading the query string may fail to decode: Pecan answers 400.
        reason = guard.refusal(request.path_info, request.GET, request.body)
        if reason is not None:
            raise webob.exc.HTTPBadRequest(detail=reason)

    def on_error(self, state: Any, error: Exception) -> webob.Response | None:
        """A 400 raised before a route ran (undecodable query or body, text
        refused by the guard) gets the version's error body. Routing 404/405
        stay Pecan's own answers, as upstream."""
        if not isinstance(error, webob.exc.HTTPBadRequest):
            return None
        message = error.detail or "The request is not valid UTF-8."
        # The raw WSGI path: decoding request.path may be what failed.
        path = state.request.environ.get("PATH_INFO", "")
        if path == "/v1" or path.startswith("/v1/"):
            return faults.fault(400, message)
        if path == "/v2" or path.startswith("/v2/"):
            return errors.v2_error_body(400, message)
        return None
