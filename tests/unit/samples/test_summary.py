"""The quickstart's summary: pivoted from total(), rounded only for display."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.samples import summary
from cloudkitty.storage.sqlalchemy import SQLStorage

UTC = datetime.timezone.utc
BEGIN = datetime.datetime(2026, 11, 1, tzinfo=UTC)
END = datetime.datetime(2026, 12, 1, tzinfo=UTC)
COLUMNS = [summary.Column("instance", "hour"), summary.Column("volume", "GiB-hour")]
NAMES = {"p1": "shop", "p2": "lab"}


def _row(project, metric_type, qty, rate):
    return {
        "begin": BEGIN,
        "end": END,
        "qty": D(qty),
        "rate": D(rate),
        "project_id": project,
        "type": metric_type,
    }


ROWS = [
    _row("p2", "instance", "10", "2.5"),
    _row("p1", "volume", "1000.25", "0.125"),
    _row("p1", "instance", "3", "0.3"),
    _row("zz", "network_in", "1.5", "0"),  # a project and a type not in the table
]


def test_rows_become_one_line_per_project_in_catalogue_order():
    result = summary.summarize(ROWS, begin=BEGIN, end=END, columns=COLUMNS, names=NAMES)
    assert [p.project_id for p in result.projects] == ["p1", "p2", "zz"]
    shop = result.projects[0]
    assert shop.name == "shop"
    assert shop.qty == {"volume": D("1000.25"), "instance": D("3")}
    assert shop.price == D("0.425")
    assert result.projects[2].name == "zz"
    assert result.price == D("2.925")  # every type counts in the price
    assert result.qty("instance") == D("13")


def test_table_rounds_for_display_only():
    result = summary.summarize(ROWS, begin=BEGIN, end=END, columns=COLUMNS, names=NAMES)
    lines = summary.format_table(result).splitlines()
    assert lines[0].split() == ["project", "instance", "volume", "price"]
    assert lines[1].split() == ["hour", "GiB-hour"]
    assert lines[3].split() == ["shop", "3", "1,000.2", "0.42"]  # half to even, twice
    assert lines[5].split() == ["zz", "0", "0", "0.00"]
    assert lines[-1].split() == ["total", "13", "1,000.2", "2.92"]
    assert len({len(line) for line in (lines[2], lines[-2])}) == 1


def test_json_is_exact():
    result = summary.summarize(ROWS, begin=BEGIN, end=END, columns=COLUMNS, names=NAMES)
    document = summary.to_json(result)
    assert document["price"] == "2.925"
    assert document["projects"]["p1"] == {
        "name": "shop",
        "qty": {"instance": "3", "volume": "1000.25"},
        "price": "0.425",
    }
    assert document["begin"] == "2026-11-01T00:00:00+00:00"


def test_empty_month():
    result = summary.summarize([], begin=BEGIN, end=END, columns=COLUMNS, names=NAMES)
    assert result.projects == () and result.price == 0
    assert summary.format_table(result).splitlines()[-1].split() == ["total", "0", "0", "0.00"]


def test_fetch_reads_the_storage_totals(sqlite_url):
    storage = SQLStorage(None, Database.from_url(sqlite_url))
    hour = datetime.timedelta(hours=1)
    for project, price in (("p1", "0.1"), ("p2", "0.25")):
        for start in (BEGIN, BEGIN + hour):
            point = DataPoint.create(
                "hour", 1, price, groupby={"project_id": project, "instance_id": "i"}
            )
            storage.push([DataFrame(start, start + hour, {"instance": [point]})], project)
    # Outside the window: not counted.
    late = DataPoint.create("hour", 1, "9", groupby={"project_id": "p1", "instance_id": "i"})
    storage.push([DataFrame(END, END + hour, {"instance": [late]})], "p1")
    result = summary.fetch(storage, begin=BEGIN, end=END, columns=COLUMNS, names=NAMES)
    assert [(p.project_id, p.qty["instance"], p.price) for p in result.projects] == [
        ("p1", D(2), D("0.2")),
        ("p2", D(2), D("0.5")),
    ]
