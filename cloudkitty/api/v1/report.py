"""/v1/report: rated scopes, the total and the summary of a period.

Amounts are summed by storage in ``Decimal`` and written as exact decimal
text (``"5.832"``, ``"0"``): no float ever touches them (upstream rounded
summary rates through a float to 5 decimals). ``begin``/``end`` default to
the current UTC month for total and summary.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api.errors import v1_expose
from cloudkitty.api.v1 import access, backends, render
from cloudkitty.storage import base as storage_base

#: Summary rows not grouped by tenant/resource type say so with this value.
ALL = "ALL"
#: A grouped row whose points carry no scope attribute (or no type).
UNDEFINED = "__UNDEF__"
#: Sums of NUMERIC(40, 28) amounts need more than Decimal's default 28
#: significant digits: ``sum()`` in the default context would round them.
EXACT = decimal.Context(prec=96)
#: ``groupby`` values the summary accepts, in the order storage groups them.
GROUPBY_TENANT = "tenant_id"
GROUPBY_RES_TYPE = "res_type"


class SummaryModel(wtypes.Base):
    """One summary row; ``rate`` is exact decimal text."""

    begin = datetime.datetime
    end = datetime.datetime
    tenant_id = wtypes.text
    res_type = wtypes.text
    rate = wtypes.text


class SummaryCollectionModel(wtypes.Base):
    summary = [SummaryModel]


def _parse_groupby(groupby: str | None) -> tuple[bool, bool]:
    """``(by_tenant, by_res_type)`` from a comma list; unknown keys are a
    400 (upstream silently ignored them and answered ungrouped rows)."""
    keys = {key.strip() for key in (groupby or "").split(",") if key.strip()}
    unknown = sorted(keys - {GROUPBY_TENANT, GROUPBY_RES_TYPE})
    if unknown:
        raise exceptions.InvalidInput(
            f"Invalid groupby: {', '.join(unknown)} (allowed: {GROUPBY_TENANT}, {GROUPBY_RES_TYPE})"
        )
    return GROUPBY_TENANT in keys, GROUPBY_RES_TYPE in keys


def _scope_filters(scope: str | None) -> dict[str, str] | None:
    return {backends.scope_key(): scope} if scope else None


def _group_value(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return UNDEFINED if value is None else str(value)


class TenantsController(rest.RestController):
    """``/v1/report/tenants``: scopes with rated data in ``[begin, end)``."""

    @v1_expose([wtypes.text], datetime.datetime, datetime.datetime)
    def get_all(
        self, begin: datetime.datetime | None = None, end: datetime.datetime | None = None
    ) -> list[str]:
        access.authorize("report:list_tenants")
        backends.check_window(begin, end)
        with backends.storage() as storage:
            scopes = set(storage.get_tenants(begin, end))
        if begin is None and end is None:
            # No window: every scope this service knows, rated yet or not
            # (the processor's states), as upstream's v2 storage answered.
            scopes.update(backends.state_scope_ids())
        return sorted(scopes)


class TotalController(rest.RestController):
    """``/v1/report/total`` (deprecated): one JSON string, e.g. ``"5.832"``."""

    @v1_expose(wtypes.text, datetime.datetime, datetime.datetime, wtypes.text, wtypes.text, bool)
    def get_all(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        tenant_id: str | None = None,
        service: str | None = None,
        all_tenants: bool = False,
    ) -> str:
        scope = access.report_scope("report:get_total", tenant_id, bool(all_tenants))
        begin, end = backends.month_window(begin, end)
        with backends.storage() as storage:
            result = storage.total(
                begin=begin,
                end=end,
                metric_types=service or None,
                filters=_scope_filters(scope),
                paginate=False,
            )
        total = decimal.Decimal(0)
        for row in result["results"]:
            total = EXACT.add(total, row["rate"])
        return render.decimal_text(total)


class SummaryController(rest.RestController):
    """``/v1/report/summary``: rates grouped by tenant and/or resource type."""

    @v1_expose(
        SummaryCollectionModel,
        datetime.datetime,
        datetime.datetime,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        bool,
    )
    def get_all(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        tenant_id: str | None = None,
        service: str | None = None,
        groupby: str | None = None,
        all_tenants: bool = False,
    ) -> SummaryCollectionModel:
        scope = access.report_scope("report:get_summary", tenant_id, bool(all_tenants))
        by_tenant, by_type = _parse_groupby(groupby)
        begin, end = backends.month_window(begin, end)
        key = backends.scope_key()
        storage_groupby = [key] if by_tenant else []
        if by_type:
            storage_groupby.append(storage_base.GROUPBY_TYPE)
        with backends.storage() as storage:
            result = storage.total(
                groupby=storage_groupby,
                begin=begin,
                end=end,
                metric_types=service or None,
                filters=_scope_filters(scope),
                paginate=False,
            )
        rows = result["results"]
        if not storage_groupby and not rows:
            # Ungrouped, there is always exactly one group: nothing rated
            # sums to zero, as /total answers "0".
            rows = [{"rate": 0}]
        summary = [
            SummaryModel(
                begin=begin,
                end=end,
                tenant_id=_group_value(row, key) if by_tenant else ALL,
                res_type=_group_value(row, storage_base.GROUPBY_TYPE) if by_type else ALL,
                rate=render.decimal_text(row["rate"]),
            )
            for row in rows
        ]
        return SummaryCollectionModel(summary=summary)


class ReportController(rest.RestController):
    tenants = TenantsController()
    total = TotalController()
    summary = SummaryController()
