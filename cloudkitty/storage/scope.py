"""Scope state values: how a processor names a scope, the defaults that
fill missing names, the state row as a frozen dataclass, and which row a
scope continues from (legacy and renamed rows included)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScopeIdentity:
    """How one processor names a scope: the state row's unique key."""

    scope_id: str
    scope_key: str
    fetcher: str
    collector: str


@dataclass(frozen=True)
class ScopeDefaults:
    """Values used where a caller leaves scope_key/fetcher/collector out
    (POST /v2/scope without them used to store NULLs and answer 500)."""

    scope_key: str = "project_id"
    fetcher: str = "keystone"
    collector: str = "gnocchi"

    @classmethod
    def from_conf(cls, conf: Any) -> ScopeDefaults:
        """``[collect] scope_key/collector`` and ``[fetcher] backend``."""

        def _opt(group: str, name: str, default: str) -> str:
            try:
                return str(getattr(getattr(conf, group), name))
            except AttributeError:  # group not registered in this process
                return default

        return cls(
            scope_key=_opt("collect", "scope_key", cls.scope_key),
            fetcher=_opt("fetcher", "backend", cls.fetcher),
            collector=_opt("collect", "collector", cls.collector),
        )

    def identity(self, scope_id: str) -> ScopeIdentity:
        return ScopeIdentity(scope_id, self.scope_key, self.fetcher, self.collector)


@dataclass(frozen=True)
class ScopeState:
    id: int
    scope_id: str
    scope_key: str | None
    fetcher: str | None
    collector: str | None
    last_processed_timestamp: datetime.datetime
    active: bool
    scope_activation_toggle_date: datetime.datetime
    last_error: str | None
    last_error_at: datetime.datetime | None
    error_count: int

    @classmethod
    def from_db(cls, row: Any) -> ScopeState:
        return cls(
            id=row.id,
            scope_id=row.identifier,
            scope_key=row.scope_key,
            fetcher=row.fetcher,
            collector=row.collector,
            last_processed_timestamp=row.last_processed_timestamp,
            active=bool(row.active),
            scope_activation_toggle_date=row.scope_activation_toggle_date,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            error_count=int(row.error_count or 0),
        )


def as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, (str, bool, int)):
        return [value]
    return list(value)


def resolve_row(rows: Sequence[Any], identity: ScopeIdentity) -> Any | None:
    """The row that holds ``identity``'s progress, among the rows of its id.

    1. the exact row; 2. a legacy row whose NULL columns are compatible;
    3. a row of the same collector under another fetcher or scope_key: a
       config change must not restart the scope from scratch and rate its
       periods twice (upstream bug). Ties: the most advanced row.
    """
    wanted = {"scope_key": identity.scope_key, "fetcher": identity.fetcher}
    wanted["collector"] = identity.collector
    for row in rows:
        if all(getattr(row, k) == v for k, v in wanted.items()):
            return row
    legacy = [r for r in rows if all(getattr(r, k) in (None, v) for k, v in wanted.items())]
    same_collector = [r for r in rows if r.collector in (None, identity.collector)]
    for candidates in (legacy, same_collector):
        if candidates:
            return max(candidates, key=lambda r: (r.last_processed_timestamp, -r.id))
    return None
