"""/v2/dataframes: read rated points back as frames, or store frames as is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pecan
from pecan import rest

from cloudkitty import exceptions
from cloudkitty.api.errors import v2_expose
from cloudkitty.api.v2 import access, encoding, params
from cloudkitty.dataframe import DataFrame
from cloudkitty.storage import base as storage_base

QUERY = ("begin", "end", "filters", "offset", "limit")
NOT_FOUND = "No resource found for provided filters."
#: Integer digits of the rated data columns: 22 for quantities, 12 for prices.
QTY_LIMIT = Decimal(10) ** 22
PRICE_LIMIT = Decimal(10) ** 12


def parse_frames(body: dict[str, Any]) -> list[DataFrame]:
    """The frames of a POST body; 400 on any malformed frame or point."""
    raw = body.get("dataframes")
    if raw is None:
        raise params.invalid("required key not provided", "dataframes")
    if not isinstance(raw, list):
        raise params.invalid("expected a list", "dataframes")
    if not raw:
        raise exceptions.InvalidInput("Parameter dataframes must not be empty.")
    frames = []
    for index, item in enumerate(raw):
        try:
            frame = DataFrame.from_dict(item)
        except exceptions.InvalidInput as error:
            raise params.invalid(str(error), f"dataframes[{index}]") from None
        _check_magnitudes(frame, index)
        frames.append(frame)
    return frames


def _check_magnitudes(frame: DataFrame, index: int) -> None:
    """Quantities and prices must fit their columns (NUMERIC(38,16) and
    NUMERIC(40,28)): a larger one failed in the database as a 500."""
    for metric_type, point in frame.iterpoints():
        for what, value, limit in (
            ("qty", point.qty, QTY_LIMIT),
            ("price", point.price, PRICE_LIMIT),
        ):
            if abs(value) >= limit:
                raise params.invalid(
                    f"{what} must be smaller than {limit:.0e} in absolute value",
                    f"dataframes[{index}].usage.{metric_type}",
                )


class DataFramesController(rest.RestController):
    @v2_expose()
    def get_all(self, **_query: Any) -> Any:
        access.authorize("dataframes:get", {"project_id": access.caller_project()})
        query = params.QueryParams(pecan.request.GET, QUERY)
        begin, end = query.period()
        filters: dict[str, Any] = dict(query.dict_single("filters"))
        offset, limit = query.pagination()
        if not access.restrict_to_caller(filters):
            raise exceptions.NotFound(NOT_FOUND)
        metric_types = filters.pop(storage_base.GROUPBY_TYPE, None)
        result = access.storage().retrieve(
            begin=begin,
            end=end,
            filters=filters,
            metric_types=metric_types,
            offset=offset,
            limit=limit,
        )
        if result["total"] < 1:
            raise exceptions.NotFound(NOT_FOUND)
        return encoding.json_response(
            {
                "total": result["total"],
                "dataframes": [frame.to_dict() for frame in result["dataframes"]],
            }
        )

    @v2_expose()
    def post(self, **_query: Any) -> Any:
        access.authorize("dataframes:add")
        params.QueryParams(pecan.request.GET, ())
        body = params.read_body(pecan.request.body, ("dataframes",))
        # Stored as they are: the caller's prices are kept, not recomputed.
        access.storage().push(parse_frames(body))
        return encoding.no_content()
