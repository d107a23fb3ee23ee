"""/v2/summary: rated costs summed per group, as a table or as objects."""

from __future__ import annotations

from typing import Any

import pecan
from pecan import rest

from cloudkitty import exceptions
from cloudkitty.api.errors import v2_expose
from cloudkitty.api.v2 import access, encoding, params
from cloudkitty.storage import base as storage_base

QUERY = (
    "begin",
    "end",
    "groupby",
    "filters",
    "custom_fields",
    "response_format",
    "offset",
    "limit",
)
FORMATS = ("table", "object")
DEFAULT_CUSTOM_FIELDS = "SUM(qty) AS qty, SUM(price) AS rate"


def _squeeze(text: str) -> str:
    return "".join(text.split()).lower()


def check_custom_fields(value: str | None) -> None:
    """Only the default aggregation is served.

    Upstream passes ``custom_fields`` as raw InfluxQL into its queries (an
    injection). The SQL storage sums qty and price per group; any other
    expression is refused rather than silently ignored.
    """
    if value is not None and _squeeze(value) != _squeeze(DEFAULT_CUSTOM_FIELDS):
        raise params.invalid(
            f"only the default custom_fields '{DEFAULT_CUSTOM_FIELDS}' is supported",
            "custom_fields",
        )


def check_format(value: str) -> str:
    # Upstream answered 500 here (its check raised a non-HTTP error).
    if value not in FORMATS:
        raise params.invalid(
            f"Invalid response format [{value}]. Valid formats are {list(FORMATS)}.",
            "response_format",
        )
    return value


def render(result: storage_base.TotalResult, response_format: str) -> dict[str, Any]:
    """The two upstream shapes. ``columns`` is the key order of the rows:
    ``begin, end, qty, rate`` then the groupby keys in request order, with
    ``time-d/w/m/y`` under the datapoint keys the storage groups on
    (``day_of_the_year``, ``week_of_the_year``, ``month``, ``year``)."""
    rows = result["results"]
    if response_format == "object":
        return {"total": result["total"], "results": rows, "format": "object"}
    columns = list(rows[0]) if rows else []
    return {
        "total": result["total"],
        "columns": columns,
        "results": [[row.get(column) for column in columns] for row in rows],
        "format": "table",
    }


class SummaryController(rest.RestController):
    @v2_expose()
    def get_all(self, **_query: Any) -> Any:
        access.authorize("summary:get_summary", {"project_id": access.caller_project()})
        query = params.QueryParams(pecan.request.GET, QUERY)
        begin, end = query.period()
        groupby = query.multi("groupby")
        filters: dict[str, Any] = dict(query.dict_multi("filters"))
        check_custom_fields(query.single("custom_fields"))
        response_format = check_format(query.single("response_format") or "table")
        offset, limit = query.pagination()
        if end < begin:
            raise exceptions.InvalidInput("begin must not be later than end")
        if not access.restrict_to_caller(filters):
            return encoding.json_response({"total": 0, "columns": [], "results": []})
        metric_types = filters.pop(storage_base.GROUPBY_TYPE, None)
        result = access.storage().total(
            groupby=groupby,
            begin=begin,
            end=end,
            metric_types=metric_types,
            filters=filters,
            offset=offset,
            limit=limit,
        )
        return encoding.json_response(render(result, response_format))
