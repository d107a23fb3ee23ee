"""What the quickstart prints once rated: quantity and price per project.

Read from the storage driver's ``total()`` grouped by project and metric
type, so the figures are the ones ``cloudkitty summary get`` shows. Money
stays ``Decimal``; only the table rounds, the JSON form is exact.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from cloudkitty.storage import base as storage_base

ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class Column:
    """A metric type shown in the table, with the unit of its quantity."""

    metric_type: str
    unit: str


@dataclasses.dataclass(frozen=True)
class ProjectTotal:
    project_id: str
    name: str
    qty: Mapping[str, Decimal]  # by metric type
    price: Decimal  # every metric type, shown or not


@dataclasses.dataclass(frozen=True)
class Summary:
    begin: datetime.datetime
    end: datetime.datetime
    columns: tuple[Column, ...]
    projects: tuple[ProjectTotal, ...]

    @property
    def price(self) -> Decimal:
        return sum((p.price for p in self.projects), ZERO)

    def qty(self, metric_type: str) -> Decimal:
        return sum((p.qty.get(metric_type, ZERO) for p in self.projects), ZERO)


def summarize(
    rows: Iterable[Mapping[str, Any]],
    *,
    begin: datetime.datetime,
    end: datetime.datetime,
    columns: Sequence[Column],
    names: Mapping[str, str],
    scope_key: str = "project_id",
) -> Summary:
    """Pivot ``total()`` rows (one per project and type) into one line per
    project; projects in ``names`` order, then unknown ones by id."""
    qty: dict[str, dict[str, Decimal]] = {}
    price: dict[str, Decimal] = {}
    for row in rows:
        project = str(row[scope_key])
        metric_type = str(row[storage_base.GROUPBY_TYPE])
        per_type = qty.setdefault(project, {})
        per_type[metric_type] = per_type.get(metric_type, ZERO) + Decimal(row["qty"])
        price[project] = price.get(project, ZERO) + Decimal(row["rate"])
    order = [p for p in names if p in qty] + sorted(p for p in qty if p not in names)
    projects = tuple(
        ProjectTotal(project_id=p, name=names.get(p, p), qty=qty[p], price=price[p]) for p in order
    )
    return Summary(begin=begin, end=end, columns=tuple(columns), projects=projects)


def fetch(
    storage: storage_base.StorageBackend,
    *,
    begin: datetime.datetime,
    end: datetime.datetime,
    columns: Sequence[Column],
    names: Mapping[str, str],
    scope_key: str = "project_id",
) -> Summary:
    """The summary of ``[begin, end)`` from the storage driver."""
    result = storage.total(
        groupby=[scope_key, storage_base.GROUPBY_TYPE], begin=begin, end=end, paginate=False
    )
    return summarize(
        result["results"],
        begin=begin,
        end=end,
        columns=columns,
        names=names,
        scope_key=scope_key,
    )


def format_qty(value: Decimal) -> str:
    """Whole numbers as such, others with one decimal; thousands separated."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def format_price(value: Decimal) -> str:
    # Decimal formatting rounds half to even: the same rule everywhere.
    return f"{value:,.2f}"


def format_table(summary: Summary) -> str:
    """A fixed-width table: a line per project, a total line."""
    header = ["project", *(c.metric_type for c in summary.columns), "price"]
    units = ["", *(c.unit for c in summary.columns), ""]
    lines = [
        [p.name, *(format_qty(p.qty.get(c.metric_type, ZERO)) for c in summary.columns)]
        + [format_price(p.price)]
        for p in summary.projects
    ]
    total = ["total", *(format_qty(summary.qty(c.metric_type)) for c in summary.columns)]
    total.append(format_price(summary.price))
    table = [header, units, *lines, total]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def render(row: list[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [render(header), render(units), rule, *(render(r) for r in lines), rule, render(total)]
    return "\n".join(out)


def to_json(summary: Summary) -> dict[str, Any]:
    """Exact figures (decimal strings) for scripts and tests."""
    return {
        "begin": summary.begin.isoformat(),
        "end": summary.end.isoformat(),
        "projects": {
            p.project_id: {
                "name": p.name,
                "qty": {k: str(v) for k, v in sorted(p.qty.items())},
                "price": str(p.price),
            }
            for p in summary.projects
        },
        "price": str(summary.price),
    }
