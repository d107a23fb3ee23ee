"""/v2/task/reprocesses: schedule the re-rating of already rated periods,
and follow the schedules."""

from __future__ import annotations

from typing import Any

import pecan
from pecan import rest

from cloudkitty.api.errors import v2_expose
from cloudkitty.api.v2 import access, encoding, params
from cloudkitty.storage.reprocessing import ReprocessingRepository, ReprocessingSchedule

QUERY = ("scope_ids", "order", "offset", "limit")
BODY = ("scope_ids", "start_reprocess_time", "end_reprocess_time", "reason")
ID_MAX = 256


def task_view(schedule: ReprocessingSchedule) -> dict[str, Any]:
    """Dates are naive here, as upstream renders them on these routes;
    ``current_reprocess_time`` is "" until a first period was redone."""
    current = schedule.current_reprocess_time
    return {
        "scope_id": schedule.scope_id,
        "reason": schedule.reason,
        "start_reprocess_time": schedule.start_reprocess_time,
        "end_reprocess_time": schedule.end_reprocess_time,
        "current_reprocess_time": "" if current is None else current,
    }


def _period() -> int:
    try:
        return int(pecan.request.conf.collect.period)
    except AttributeError:
        return 3600


def _list(scope_ids: list[str] | None) -> Any:
    access.authorize("schedule:get_task_reprocesses")
    query = params.QueryParams(pecan.request.GET, QUERY)
    # A scope id in the path wins over the query's scope_ids, as upstream.
    wanted = scope_ids if scope_ids is not None else query.multi("scope_ids")
    order = query.single("order", "desc")
    offset, limit = query.pagination()
    schedules = ReprocessingRepository(pecan.request.db).list_schedules(
        scope_ids=wanted, order=order, offset=offset, limit=limit
    )
    return encoding.json_response({"results": [task_view(s) for s in schedules]}, naive_dates=True)


class ReprocessesController(rest.RestController):
    @v2_expose()
    def get_all(self, **_query: Any) -> Any:
        return _list(None)

    @v2_expose()
    def get_one(self, scope_id: str, **_query: Any) -> Any:
        return _list([scope_id])

    @v2_expose()
    def post(self, **_query: Any) -> Any:
        access.authorize("schedule:task_reprocesses")
        params.QueryParams(pecan.request.GET, ())
        body = params.read_body(pecan.request.body, BODY)
        for key in BODY:
            if body.get(key) is None:
                raise params.invalid("required key not provided", key)
        scope_ids = params.body_str_list(body, "scope_ids", ID_MAX)
        if not scope_ids:
            raise params.invalid("expected at least one scope id", "scope_ids")
        reason = body["reason"]
        if not isinstance(reason, str):
            raise params.invalid("expected str", "reason")
        start = params.body_date(body, "start_reprocess_time")
        end = params.body_date(body, "end_reprocess_time")
        assert start is not None and end is not None
        # Every check (ALL, unknown scopes, period alignment, last processed
        # time, overlaps) is the repository's, with upstream's messages.
        ReprocessingRepository(pecan.request.db).create(scope_ids, start, end, reason, _period())
        return encoding.json_response({}, status=202)


class TaskController(rest.RestController):
    reprocesses = ReprocessesController()
