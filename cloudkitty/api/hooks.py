"""Pecan hooks: attach config, database and caller context to each request."""

from __future__ import annotations

from typing import Any

from pecan import hooks

from cloudkitty.api import context


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
