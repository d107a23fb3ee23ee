"""/v2/scope: list, reset, update and create scope processing states.

A reset is only RECORDED here (one request per matching state, answered
202); a processor applies it under the scope lock, see
``cloudkitty/orchestrator/resets.py`` for why a table and not an RPC cast.
"""

from __future__ import annotations

import datetime
from typing import Any

import pecan
from pecan import rest

from cloudkitty import exceptions
from cloudkitty.api.errors import v2_expose
from cloudkitty.api.v2 import access, encoding, params
from cloudkitty.db.scope_resets import ResetRequestRepository
from cloudkitty.storage.state import NOT_FOUND, ScopeDefaults, ScopeState, StateRepository
from cloudkitty.utils import tz

QUERY = ("scope_id", "scope_key", "fetcher", "collector", "active", "offset", "limit")
RESET_BODY = (
    "all_scopes",
    "scope_id",
    "scope_key",
    "fetcher",
    "collector",
    "last_processed_timestamp",
    "state",  # the name the current client still sends
)
PATCH_BODY = ("scope_id", "scope_key", "fetcher", "collector", "active")
POST_BODY = (*PATCH_BODY, "last_processed_timestamp", "state")
ID_MAX = 256  # column sizes: refuse early rather than fail in the database
NAME_MAX = 40


def scope_view(state: ScopeState) -> dict[str, Any]:
    """A scope object. ``state`` repeats ``last_processed_timestamp``: the
    current client shows that column; the error fields are ours."""
    return {
        "scope_id": state.scope_id,
        "scope_key": state.scope_key,
        "fetcher": state.fetcher,
        "collector": state.collector,
        "state": state.last_processed_timestamp,
        "last_processed_timestamp": state.last_processed_timestamp,
        "active": state.active,
        "scope_activation_toggle_date": state.scope_activation_toggle_date,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
        "error_count": state.error_count,
    }


def _states() -> StateRepository:
    return StateRepository(pecan.request.db, ScopeDefaults.from_conf(pecan.request.conf))


def _timestamp(body: dict[str, Any]) -> datetime.datetime | None:
    """``last_processed_timestamp``, or its legacy alias ``state``."""
    value = params.body_date(body, "last_processed_timestamp")
    alias = params.body_date(body, "state")
    if value is not None and alias is not None and value != alias:
        raise params.invalid(
            "two or more values in the same group of exclusion 'timestamp'", "state"
        )
    return value if value is not None else alias


def _period() -> int:
    try:
        return int(pecan.request.conf.collect.period)
    except AttributeError:
        return 3600


def check_reset_time(timestamp: datetime.datetime, period: int) -> None:
    """Periods start at multiples of the collect period since the epoch;
    resuming anywhere else would rate shifted, overlapping periods."""
    if not tz.is_aligned(timestamp, period):
        raise exceptions.InvalidInput(
            f"The provided timestamp [{timestamp}] does not comply with the configured "
            f"collector period of {period} seconds. A valid timestamp near the provided "
            f"one is [{tz.align(timestamp, period)}]."
        )


class ScopeController(rest.RestController):
    @v2_expose()
    def get_all(self, **_query: Any) -> Any:
        query = params.QueryParams(pecan.request.GET, QUERY)
        scope_ids = query.multi("scope_id")
        access.authorize("scope:get_state", {"project_id": scope_ids or access.caller_project()})
        offset, limit = query.pagination()
        states = _states().list_states(
            scope_ids=scope_ids,
            scope_keys=query.multi("scope_key"),
            fetchers=query.multi("fetcher"),
            collectors=query.multi("collector"),
            active=query.flags("active"),
            offset=offset,
            limit=limit,
        )
        if not states:
            raise exceptions.NotFound(NOT_FOUND)
        return encoding.json_response({"results": [scope_view(s) for s in states]})

    @v2_expose()
    def put(self, **_query: Any) -> Any:
        """Reset: record a request for EVERY matching scope (active or not,
        however many: upstream took the first 100 active ones); 202."""
        access.authorize("scope:reset_state")
        params.QueryParams(pecan.request.GET, ())
        body = params.read_body(pecan.request.body, RESET_BODY)
        if "all_scopes" in body and "scope_id" in body:
            raise params.invalid(
                "two or more values in the same group of exclusion 'scope_selector'",
                "<scope_selector>",
            )
        all_scopes = params.body_bool(body, "all_scopes")
        scope_ids = params.body_str_list(body, "scope_id", ID_MAX)
        if not all_scopes and not scope_ids:
            raise exceptions.InvalidInput("Either all_scopes or a scope_id should be specified.")
        timestamp = _timestamp(body)
        if timestamp is None:
            raise exceptions.InvalidInput(
                "Variable 'last_processed_timestamp' cannot be empty/None."
            )
        check_reset_time(timestamp, _period())
        states = _states().list_states(
            scope_ids=None if all_scopes else scope_ids,
            scope_keys=params.body_str_list(body, "scope_key", NAME_MAX),
            fetchers=params.body_str_list(body, "fetcher", NAME_MAX),
            collectors=params.body_str_list(body, "collector", NAME_MAX),
            limit=None,
        )
        if not states:
            raise exceptions.NotFound(NOT_FOUND)
        ResetRequestRepository(pecan.request.db).record(
            states, timestamp, created_by=pecan.request.context.audit_user
        )
        return encoding.json_response({}, status=202)

    @v2_expose()
    def patch(self, **_query: Any) -> Any:
        access.authorize("scope:patch_state")
        params.QueryParams(pecan.request.GET, ())
        body = params.read_body(pecan.request.body, PATCH_BODY)
        scope_id = params.body_str(body, "scope_id", ID_MAX, required=True)
        assert scope_id is not None
        state = _states().patch(
            scope_id,
            scope_key=params.body_str(body, "scope_key", NAME_MAX),
            fetcher=params.body_str(body, "fetcher", NAME_MAX),
            collector=params.body_str(body, "collector", NAME_MAX),
            active=params.body_bool(body, "active"),
        )
        return encoding.json_response(scope_view(state))

    @v2_expose()
    def post(self, **_query: Any) -> Any:
        """Create a state; omitted names take the configured defaults
        (upstream stored NULLs and then failed every GET with a 500)."""
        access.authorize("scope:post_state")
        params.QueryParams(pecan.request.GET, ())
        body = params.read_body(pecan.request.body, POST_BODY)
        scope_id = params.body_str(body, "scope_id", ID_MAX, required=True)
        assert scope_id is not None
        timestamp = _timestamp(body)
        if timestamp is None:
            raise params.invalid("required key not provided", "last_processed_timestamp")
        active = params.body_bool(body, "active")
        try:
            state = _states().create(
                scope_id,
                timestamp,
                scope_key=params.body_str(body, "scope_key", NAME_MAX),
                fetcher=params.body_str(body, "fetcher", NAME_MAX),
                collector=params.body_str(body, "collector", NAME_MAX),
                active=True if active is None else active,
            )
        except exceptions.Conflict as error:
            # Upstream answers 404 here; the client relies on the status.
            raise exceptions.NotFound(str(error)) from None
        return encoding.json_response(scope_view(state))
