"""Who may read which scope's rated data through the v1 read routes.

The policy file decides whether a caller may call a route for a target
project; on top of it a non-admin is pinned to the project of their token,
whatever ``tenant_id``/``all_tenants`` they send, so a permissive policy
file cannot widen a reader's view to other projects.
"""

from __future__ import annotations

from typing import Any

import pecan

from cloudkitty import exceptions
from cloudkitty.policies import enforcer


def _denied(rule: str) -> exceptions.Forbidden:
    # The same words as a policy refusal: callers see one kind of 403.
    return exceptions.Forbidden(f"Policy doesn't allow {rule} to be performed.")


def authorize(rule: str, target: dict[str, Any] | None = None) -> None:
    """Raise Forbidden (403) unless the caller may do ``rule`` on ``target``."""
    enforcer.authorize(pecan.request.conf, pecan.request.context, rule, target)


def caller_project() -> str | None:
    """The project of the caller's token (None in noauth or when unscoped)."""
    project: str | None = pecan.request.context.project_id
    return project or None


def caller_is_admin() -> bool:
    return enforcer.is_admin(pecan.request.conf, pecan.request.context)


def report_scope(rule: str, tenant_id: str | None, all_tenants: bool) -> str | None:
    """The scope a total or summary covers; None means every scope.

    ``all_tenants`` wins, then ``tenant_id``, then the caller's project
    (none in noauth: every scope, as upstream). A non-admin asking for
    anything but their own project gets 403 rather than a silently narrowed
    answer: a report that quietly ignores ``tenant_id`` would present one
    project's costs under another project's name.
    """
    if all_tenants:
        scope = None
    else:
        scope = tenant_id or caller_project()
    authorize(rule, {"project_id": scope})
    if not caller_is_admin():
        own = caller_project()
        if own is None or scope != own:
            raise _denied(rule)
    return scope


def dataframes_scope(rule: str, tenant_id: str | None) -> tuple[bool, str | None]:
    """``(visible, scope)`` for the v1 dataframes: ``visible`` False means
    the caller sees nothing (an unscoped non-admin); ``scope`` None means
    every scope (admins without ``tenant_id``)."""
    own = caller_project()
    authorize(rule, {"project_id": tenant_id or own})
    if caller_is_admin():
        return True, tenant_id
    if tenant_id and tenant_id != own:
        raise _denied(rule)
    if own is None:
        return False, None
    return True, own
