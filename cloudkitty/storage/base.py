"""The v2 rated-data storage interface and its stevedore loader.

The processor pushes rated frames here and the API reads summaries and
dataframes back. A backend that ``supports_transactions`` takes the caller's
``Connection`` so rated data and the scope state advance commit together.
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, Union

from stevedore import driver
from stevedore import exception as stevedore_exc

from cloudkitty import exceptions

if TYPE_CHECKING:
    from oslo_config import cfg
    from sqlalchemy.engine import Connection

    from cloudkitty.dataframe import DataFrame
    from cloudkitty.db.engine import Database

NAMESPACE = "cloudkitty.storage.v2.backends"
DEFAULT_BACKEND = "sqlalchemy"

#: ``groupby`` time options and the datapoint keys they stand for.
TIME_GROUPBY = {
    "time-d": "day_of_the_year",
    "time-w": "week_of_the_year",
    "time-m": "month",
    "time-y": "year",
}
#: One result row per stored period.
GROUPBY_TIME = "time"
#: The metric type, as a groupby attribute or a filter key.
GROUPBY_TYPE = "type"

#: A filter value: one value, or several (OR).
FilterValue = Union[str, Sequence[str]]


class RetrieveResult(TypedDict):
    """``total`` = number of matching datapoints (before pagination)."""

    total: int
    dataframes: list[DataFrame]


class TotalResult(TypedDict):
    """``total`` = number of groups; each result row is
    ``{"begin", "end", "qty", "rate", <groupby key>: value, ...}`` in that
    key order (the API derives its ``columns`` from it)."""

    total: int
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class Window:
    """``[begin, end)`` in UTC; None = unbounded on that side."""

    begin: datetime.datetime | None
    end: datetime.datetime | None


def normalize_filters(
    filters: Mapping[str, Any] | None,
    metric_types: str | Sequence[str] | None,
) -> tuple[dict[str, list[str]], list[str] | None]:
    """Split ``filters`` into attribute filters and metric types.

    Every filter value becomes a list (OR); a ``type`` filter is merged with
    ``metric_types`` (a point must match both when both are given).
    """
    attrs: dict[str, list[str]] = {}
    types = _as_list(metric_types)
    for key, value in (filters or {}).items():
        values = _as_list(value) or []
        if key == GROUPBY_TYPE:
            types = values if types is None else [t for t in types if t in values]
        else:
            attrs[str(key)] = values
    return attrs, types


def normalize_groupby(groupby: Sequence[str] | None) -> list[str]:
    """Rewrite ``time-d/w/m/y`` to their datapoint keys; drop duplicates."""
    result: list[str] = []
    for key in groupby or ():
        key = TIME_GROUPBY.get(key, key)
        if key not in result:
            result.append(key)
    return result


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class StorageBackend(abc.ABC):
    """A v2 storage driver.

    Methods raise ``cloudkitty.exceptions`` errors only: ``InvalidInput`` for
    a bad argument, ``BackendError`` when the backend fails (retry may help).
    """

    #: entry-point name and ``[storage] backend`` value
    name: ClassVar[str]
    #: True when push/delete accept ``conn`` and join the caller's transaction
    supports_transactions: ClassVar[bool] = False

    def __init__(self, conf: cfg.ConfigOpts, db: Database | None = None) -> None:
        self.conf = conf
        self.db = db

    @abc.abstractmethod
    def init(self) -> None:
        """One-time backend preparation (``cloudkitty-storage-init``)."""

    @abc.abstractmethod
    def push(
        self,
        frames: Iterable[DataFrame],
        scope_id: str | None = None,
        *,
        conn: Connection | None = None,
    ) -> int:
        """Store ``frames`` as they are (prices are not recomputed).

        With ``conn`` the rows are written inside the caller's transaction
        and become visible when it commits; without, the backend commits
        itself. Returns the number of points stored.
        """

    def push_scopes(
        self,
        pushes: Iterable[tuple[str | None, Iterable[DataFrame]]],
        *,
        conn: Connection | None = None,
    ) -> int:
        """``push`` the frames of several scopes, ``(scope_id, frames)``
        each, in one go (one transaction with ``conn``). Backends override
        it to batch their writes; this default pushes scope by scope."""
        return sum(self.push(frames, scope_id, conn=conn) for scope_id, frames in pushes)

    @abc.abstractmethod
    def retrieve(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        metric_types: str | Sequence[str] | None = None,
        offset: int = 0,
        limit: int | None = 100,
        paginate: bool = True,
    ) -> RetrieveResult:
        """Points whose period starts in ``[begin, end)``, paginated by
        point and regrouped into frames by period, oldest first."""

    @abc.abstractmethod
    def total(
        self,
        groupby: Sequence[str] | None = None,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        metric_types: str | Sequence[str] | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        custom_fields: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
        paginate: bool = True,
    ) -> TotalResult:
        """Sum of qty and price per group, groups sorted by their keys.

        ``groupby`` takes attribute names plus ``type``, ``time`` and
        ``time-d/w/m/y``. Row ``begin``/``end`` are the query bounds unless
        grouped by ``time``.
        """

    @abc.abstractmethod
    def delete(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        filters: Mapping[str, FilterValue] | None = None,
        *,
        conn: Connection | None = None,
    ) -> int:
        """Remove the points whose period starts in ``[begin, end)`` and that
        match ``filters`` (``end=None``: until the end of time). Returns the
        number of points removed."""

    @abc.abstractmethod
    def get_tenants(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
    ) -> list[str]:
        """Scope ids that have rated data starting in ``[begin, end)``."""


def get_driver(name: str, conf: cfg.ConfigOpts, db: Database | None = None) -> StorageBackend:
    """Instantiate the storage driver called ``name``.

    Raises ``ConfigError`` naming the option when no such driver exists.
    """
    try:
        manager: driver.DriverManager = driver.DriverManager(NAMESPACE, name, invoke_on_load=False)
    except stevedore_exc.NoMatches:
        raise exceptions.ConfigError(
            f"[storage] backend: unknown storage backend '{name}'"
        ) from None
    return manager.driver(conf, db)


def get_storage(conf: cfg.ConfigOpts, db: Database | None = None) -> StorageBackend:
    """The driver configured in ``[storage] backend``."""
    try:
        name = conf.storage.backend
    except AttributeError:  # NoSuchOptError: [storage] not registered on conf
        name = DEFAULT_BACKEND
    return get_driver(name, conf, db)
