"""Who may see what: policy checks and the caller's scope restriction.

A non-admin caller reads rated data of its own project only: every storage
query it makes carries ``<scope_key> = <caller project>``, whatever filters it
sent, so no filter, groupby or pagination can reach another project's costs.
"""

from __future__ import annotations

from typing import Any

import pecan

from cloudkitty.policies import enforcer
from cloudkitty.storage import base as storage_base

_STORAGES: dict[tuple[int, int], storage_base.StorageBackend] = {}


def authorize(rule: str, target: dict[str, Any] | None = None) -> None:
    """Raise Forbidden (403) unless the caller may do ``rule``."""
    enforcer.authorize(pecan.request.conf, pecan.request.context, rule, target)


def caller_project() -> str | None:
    return pecan.request.context.project_id


def scope_key() -> str:
    """The groupby key naming a scope in rated data (``[collect] scope_key``)."""
    try:
        return str(pecan.request.conf.collect.scope_key)
    except AttributeError:
        return "project_id"


def restrict_to_caller(filters: dict[str, Any]) -> bool:
    """Force a non-admin caller's filters onto its own project.

    Admins are left alone. Returns False when the caller may see nothing:
    it is neither admin nor scoped to a project, or it filtered on other
    projects only (answering with its own data instead would be wrong).
    """
    if enforcer.is_admin(pecan.request.conf, pecan.request.context):
        return True
    project = caller_project()
    if not project:
        return False
    key = scope_key()
    asked = filters.get(key)
    if asked is not None:
        values = [asked] if isinstance(asked, str) else list(asked)
        if project not in values:
            return False
    filters[key] = [project]
    return True


def storage() -> storage_base.StorageBackend:
    """The configured storage driver, built once per configuration."""
    conf, db = pecan.request.conf, pecan.request.db
    key = (id(conf), id(db))
    driver = _STORAGES.get(key)
    if driver is None:
        driver = _STORAGES[key] = storage_base.get_storage(conf, db)
    return driver
