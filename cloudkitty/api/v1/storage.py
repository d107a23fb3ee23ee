"""/v1/storage/dataframes: the rated points of a period, v1-shaped.

One entry per stored period, metric type and scope, each listing its
resources ``{service, volume, rating, desc}`` with exact decimal text.
Upstream made one entry per (period, metric type) across scopes and labelled
it with the first point's scope; splitting by scope keeps every entry's
``tenant_id`` true for all its resources. ``begin``/``end`` default to the
current UTC month; admins may omit ``tenant_id``, others see their project.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api.errors import v1_expose
from cloudkitty.api.v1 import access, backends, render
from cloudkitty.dataframe import DataFrame, DataPoint

#: The tenant of points that carry no scope attribute (upstream's value).
UNDEFINED = "__UNDEF__"


class RatedResource(wtypes.Base):
    """A rated point: metric type, quantity, price and description."""

    service = wtypes.text
    volume = wtypes.text
    rating = wtypes.text
    desc = render.JSON


class V1DataFrame(wtypes.Base):
    begin = datetime.datetime
    end = datetime.datetime
    tenant_id = wtypes.text
    resources = [RatedResource]


class DataFrameCollection(wtypes.Base):
    dataframes = [V1DataFrame]


def _resource(metric_type: str, point: DataPoint) -> RatedResource:
    return RatedResource(
        service=metric_type,
        volume=render.decimal_text(point.qty),
        rating=render.decimal_text(point.price),
        desc=render.json_safe(point.desc),
    )


def _scope_of(point: DataPoint, scope_key: str) -> str:
    value = point.desc.get(scope_key)
    return UNDEFINED if value is None or value == "" else str(value)


def to_v1_frames(frames: Iterable[DataFrame], scope_key: str) -> list[V1DataFrame]:
    """Split stored frames into v1 entries (period, metric type, scope),
    keeping storage's order of periods and types and the first-seen order
    of scopes within them."""
    entries: list[V1DataFrame] = []
    for frame in frames:
        for metric_type, points in frame.usage.items():
            by_scope: dict[str, list[RatedResource]] = {}
            for point in points:
                resources = by_scope.setdefault(_scope_of(point, scope_key), [])
                resources.append(_resource(metric_type, point))
            entries.extend(
                V1DataFrame(begin=frame.start, end=frame.end, tenant_id=scope, resources=resources)
                for scope, resources in by_scope.items()
            )
    return entries


class DataFramesController(rest.RestController):
    """``/v1/storage/dataframes``."""

    @v1_expose(
        DataFrameCollection,
        datetime.datetime,
        datetime.datetime,
        wtypes.text,
        wtypes.text,
    )
    def get_all(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        tenant_id: str | None = None,
        resource_type: str | None = None,
    ) -> DataFrameCollection:
        visible, scope = access.dataframes_scope("storage:list_data_frames", tenant_id or None)
        begin, end = backends.month_window(begin, end)
        if not visible:
            return DataFrameCollection(dataframes=[])
        key = backends.scope_key()
        filters: dict[str, Any] | None = {key: scope} if scope else None
        with backends.storage() as storage:
            result = storage.retrieve(
                begin=begin,
                end=end,
                filters=filters,
                metric_types=resource_type or None,
                paginate=False,
            )
        return DataFrameCollection(dataframes=to_v1_frames(result["dataframes"], key))


class StorageController(rest.RestController):
    dataframes = DataFramesController()
