"""The request context: who is calling, built once per request."""

from __future__ import annotations

from typing import Any

from oslo_context import context as oslo_context

UNKNOWN_USER = "unknown"


class RequestContext(oslo_context.RequestContext):
    """oslo.context with the caller's identity from keystonemiddleware headers."""

    @property
    def audit_user(self) -> str:
        """The name written to created_by/updated_by/deleted_by.

        The user id validated by keystonemiddleware; no extra Keystone call
        (upstream called Keystone with TLS verification disabled).
        """
        return self.user_id or UNKNOWN_USER


def from_environ(environ: dict[str, Any], noauth: bool) -> RequestContext:
    ctx = RequestContext.from_environ(environ)
    if noauth:
        ctx.is_admin = True
    return ctx
