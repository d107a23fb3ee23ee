"""What the v1 read routes read from: the rated-data storage, the scope
states and the metric definitions of ``[collect] metrics_conf``.

Definitions are loaded with the configured collector's own schema, exactly
as the processor validates them, so ``/v1/info`` never describes a file the
processor would refuse.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

import pecan
import yaml
from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.collector import base as collector_base
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.storage import base as storage_base
from cloudkitty.storage.state import StateRepository
from cloudkitty.utils import tz

LOG = log.getLogger(__name__)

#: What a caller reads when the storage fails; the cause goes to the log.
STORAGE_UNAVAILABLE = "The rated data storage is unavailable; please retry later."


class InvalidMetricsConf(exceptions.CloudkittyError):
    """metrics.yml was read but does not validate (the routes answer 405)."""


@contextlib.contextmanager
def storage() -> Iterator[storage_base.StorageBackend]:
    """The configured storage driver on the request's database.

    A driver's BackendError carries the database's own words (table names,
    SQL fragments); the caller gets a 503 without them.
    """
    driver = storage_base.get_storage(pecan.request.conf, pecan.request.db)
    try:
        yield driver
    except exceptions.BackendError as error:
        LOG.error("Rated data storage failed on %s: %s", pecan.request.path, error)
        raise exceptions.BackendError(STORAGE_UNAVAILABLE) from None


def state_scope_ids() -> list[str]:
    """Every scope the processor has a state for."""
    return StateRepository(pecan.request.db).identifiers()


def scope_key() -> str:
    return str(pecan.request.conf.collect.scope_key)


def _metrics_path() -> str:
    return str(pecan.request.conf.collect.metrics_conf)


def raw_metrics_document() -> Any:
    """The parsed metrics.yml as it is written (not validated).

    An unreadable file or broken YAML is a ConfigError (500) that names
    the path; the message carries no traceback.
    """
    path = _metrics_path()
    try:
        with open(path, encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except OSError as error:
        reason = error.strerror or str(error)
        raise exceptions.ConfigError(
            f"Metrics configuration {path} cannot be read: {reason}"
        ) from None
    except yaml.YAMLError as error:
        # The problem mark (line, column) is enough to fix the file.
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise exceptions.ConfigError(
            f"Metrics configuration {path} is not valid YAML{where}"
        ) from None


def metric_definitions() -> list[metrics_mod.MetricDefinition]:
    """The validated definitions, ordered by name then internal key.

    Raises ConfigError (500) when the file cannot be read or the collector
    cannot be loaded, InvalidMetricsConf when the file does not validate.
    """
    conf = pecan.request.conf
    collector = collector_base.collector_class(conf.collect.collector)
    try:
        definitions = metrics_mod.load_metrics(
            _metrics_path(),
            scope_key=conf.collect.scope_key,
            extra_args=collector.EXTRA_ARGS,
            check=collector.check_definition,
        )
    except exceptions.ConfigError as error:
        # load_metrics chains the OSError of an unreadable file: that is a
        # deployment fault (500 naming the path), not an invalid file.
        if isinstance(error.__cause__, OSError):
            raise exceptions.ConfigError(
                f"Metrics configuration {_metrics_path()} cannot be read: "
                f"{error.__cause__.strerror or error.__cause__}"
            ) from None
        raise InvalidMetricsConf(str(error)) from None
    return sorted(definitions.values(), key=lambda d: (d.name, d.key))


def month_window(
    begin: datetime.datetime | None, end: datetime.datetime | None
) -> tuple[datetime.datetime, datetime.datetime]:
    """``[begin, end)`` with upstream's defaults: the current UTC month."""
    begin = tz.as_utc(begin) if begin is not None else tz.month_start()
    end = tz.as_utc(end) if end is not None else tz.next_month(tz.utcnow())
    check_window(begin, end)
    return begin, end


def check_window(begin: datetime.datetime | None, end: datetime.datetime | None) -> None:
    """A window whose end precedes its begin is a caller mistake (400)."""
    if begin is not None and end is not None and tz.as_utc(end) < tz.as_utc(begin):
        raise exceptions.InvalidInput(
            f"begin ({tz.v1_format(begin)}) must not be after end ({tz.v1_format(end)})"
        )
