"""Write the sample cloud's usage for the ``file`` collector.

Hourly samples of a month of the sample cloud (``cloud.py``), up to and
including the current hour, as OpenMetrics text (default) or CSV::

    python -m cloudkitty.samples.generate_usage --output usage.om
    python -m cloudkitty.samples.generate_usage --output usage.csv --format csv

The output is a pure function of the seed and the hours covered, and is
replaced atomically: a collector reading it never sees half a file.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import io
import os
import sys
from collections.abc import Iterable, Sequence

from cloudkitty.samples import cloud
from cloudkitty.utils import tz

DEFAULT_SEED = 2026
DEFAULT_DAYS = 30
FORMATS = ("openmetrics", "csv")

#: HELP lines of the usage file, one per metric family.
HELP = {
    "floating_ip_allocated": "1 while the floating IP is allocated to the project.",
    "image_size_bytes": "Size of the image stored in the image service.",
    "instance_up": "1 while the instance exists (any state).",
    "network_receive_bytes": "Bytes received by the instance during the hour.",
    "network_transmit_bytes": "Bytes sent by the instance during the hour.",
    "volume_size_gib": "Size of the block storage volume.",
}


@dataclasses.dataclass(frozen=True)
class Window:
    """The hours written: from ``first`` to ``last``, both included."""

    first: datetime.datetime
    last: datetime.datetime

    @property
    def hours(self) -> int:
        return int((self.last - self.first).total_seconds()) // cloud.HOUR + 1


def window_for(now: datetime.datetime, days: int = DEFAULT_DAYS) -> Window:
    """``days`` days up to the current hour, stretched back to the start of
    the month when the month is longer: the processor rates from there."""
    last = tz.align(now, cloud.HOUR)
    first = min(tz.month_start(now), last - datetime.timedelta(days=days))
    return Window(first, last)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_openmetrics(samples: Iterable[cloud.Sample]) -> str:
    """OpenMetrics text: families in order, ``# EOF`` last."""
    out = io.StringIO()
    family = None
    for sample in samples:
        if sample.metric != family:
            family = sample.metric
            out.write(f"# HELP {family} {HELP.get(family, family)}\n# TYPE {family} gauge\n")
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sample.labels)
        out.write(f"{sample.metric}{{{labels}}} {sample.value} {sample.timestamp}\n")
    out.write("# EOF\n")
    return out.getvalue()


def to_csv(samples: Sequence[cloud.Sample]) -> str:
    """CSV with ``timestamp, metric, value`` then one column per label."""
    label_names: list[str] = []
    for sample in samples:
        for key, _ in sample.labels:
            if key not in label_names:
                label_names.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "metric", "value", *label_names])
    for sample in samples:
        labels = dict(sample.labels)
        writer.writerow(
            [
                sample.timestamp,
                sample.metric,
                sample.value,
                *(labels.get(n, "") for n in label_names),
            ]
        )
    return out.getvalue()


def render(samples: Sequence[cloud.Sample], fmt: str) -> str:
    if fmt == "csv":
        return to_csv(samples)
    if fmt == "openmetrics":
        return to_openmetrics(samples)
    raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` in one step (rename), creating its directory."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


def generate_file(
    path: str,
    *,
    fmt: str = "openmetrics",
    seed: object = DEFAULT_SEED,
    now: datetime.datetime | None = None,
    days: int = DEFAULT_DAYS,
) -> tuple[Window, int]:
    """Write the usage of the window ending at ``now``; returns it and the
    number of samples written."""
    window = window_for(now or tz.utcnow(), days)
    samples = cloud.generate(seed, window.first, window.last)
    write_atomically(path, render(samples, fmt))
    return window, len(samples)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cloudkitty.samples.generate_usage",
        description="Write the hourly usage of the quickstart's sample cloud.",
    )
    parser.add_argument("--output", required=True, help="file to write (replaced atomically)")
    parser.add_argument("--format", choices=FORMATS, default="openmetrics")
    parser.add_argument("--seed", default=str(DEFAULT_SEED), help="same seed, same cloud")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of history")
    parser.add_argument(
        "--now", help="ISO 8601 time the usage ends at (default: the current hour, UTC)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    now = tz.parse_datetime(args.now, "--now") if args.now else None
    window, count = generate_file(
        args.output, fmt=args.format, seed=args.seed, now=now, days=args.days
    )
    print(
        f"Wrote {count:,} hourly samples of {len(cloud.PROJECTS)} projects, "
        f"{window.first:%Y-%m-%d %H:%M} to {window.last:%Y-%m-%d %H:%M} UTC "
        f"({window.hours} hours), to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
