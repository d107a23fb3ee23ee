"""Window splitting into whole months, whole days and periods."""

from __future__ import annotations

import datetime

import pytest

from cloudkitty.storage.sql.windows import DAY, MONTH, PERIOD, ceil_month, split

UTC = datetime.timezone.utc
ALL = (MONTH, DAY, PERIOD)


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("begin", "end", "units", "parts"),
    [
        (None, None, ALL, [(MONTH, None, None)]),
        (at(2026, 11, 1), at(2026, 12, 1), ALL, [(MONTH, at(2026, 11, 1), at(2026, 12, 1))]),
        (
            at(2026, 11, 3, 5),
            at(2027, 1, 2, 1),
            ALL,
            [
                (PERIOD, at(2026, 11, 3, 5), at(2026, 11, 4)),
                (DAY, at(2026, 11, 4), at(2026, 12, 1)),
                (MONTH, at(2026, 12, 1), at(2027, 1, 1)),
                (DAY, at(2027, 1, 1), at(2027, 1, 2)),
                (PERIOD, at(2027, 1, 2), at(2027, 1, 2, 1)),
            ],
        ),
        (
            at(2026, 11, 3, 5),
            None,
            ALL,
            [
                (PERIOD, at(2026, 11, 3, 5), at(2026, 11, 4)),
                (DAY, at(2026, 11, 4), at(2026, 12, 1)),
                (MONTH, at(2026, 12, 1), None),
            ],
        ),
        (
            None,
            at(2026, 11, 3, 5),
            (DAY, PERIOD),
            [
                (DAY, None, at(2026, 11, 3)),
                (PERIOD, at(2026, 11, 3), at(2026, 11, 3, 5)),
            ],
        ),
        (
            at(2026, 11, 3, 5),
            at(2026, 11, 3, 7),
            ALL,
            [(PERIOD, at(2026, 11, 3, 5), at(2026, 11, 3, 7))],
        ),
        (
            at(2026, 11, 3, 23),
            at(2026, 11, 4, 1),
            ALL,
            [(PERIOD, at(2026, 11, 3, 23), at(2026, 11, 4, 1))],  # no whole day: one part
        ),
        (at(2026, 11, 3), at(2026, 11, 3), ALL, []),
        (at(2026, 11, 4), at(2026, 11, 3), ALL, []),
        (at(2026, 11, 1), at(2026, 12, 1), (PERIOD,), [(PERIOD, at(2026, 11, 1), at(2026, 12, 1))]),
    ],
)
def test_split(begin, end, units, parts) -> None:  # type: ignore[no-untyped-def]
    assert split(begin, end, units) == parts


def test_split_accepts_other_time_zones() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=1))
    begin = datetime.datetime(2026, 11, 1, 1, tzinfo=paris)  # midnight UTC
    assert split(begin, at(2026, 12, 1), ALL) == [(MONTH, at(2026, 11, 1), at(2026, 12, 1))]


def test_ceil_month_rolls_over_the_year() -> None:
    assert ceil_month(at(2026, 12, 1, 0, 0, 1)) == at(2027, 1, 1)
    assert ceil_month(at(2026, 12, 1)) == at(2026, 12, 1)
