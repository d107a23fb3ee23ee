"""Readers of usage files exported by another metering system.

* OpenMetrics text: ``name{label="value",...} value timestamp`` (timestamp in
  seconds, required: a sample without time cannot be placed in a period);
  ``#`` lines (TYPE, HELP, EOF) are skipped, exemplars are ignored.
* CSV with a header: ``timestamp`` (epoch seconds or ISO 8601, naive = UTC),
  ``metric``, ``value``; every other column is a label (empty cell = absent).

Values stay strings: the collector turns them into exact numbers itself.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import decimal
import io
import re
from collections.abc import Iterator, Mapping

from cloudkitty import exceptions
from cloudkitty.collector.base import BadSourceAnswer
from cloudkitty.utils import tz

Decimal = decimal.Decimal

CSV_COLUMNS = ("timestamp", "metric", "value")

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*\"")
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n"}


@dataclasses.dataclass(frozen=True)
class Record:
    """One sample read from a file; ``timestamp`` in epoch seconds."""

    timestamp: Decimal
    metric: str
    labels: Mapping[str, str]
    value: str


def read_openmetrics(text: str, source: str) -> Iterator[Record]:
    """Records of an OpenMetrics text; BadSourceAnswer names file and line."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            yield _parse_sample(stripped)
        except ValueError as exc:
            raise BadSourceAnswer(f"{source}:{number}: {exc}") from None


def _parse_sample(line: str) -> Record:
    match = _NAME.match(line)
    if not match:
        raise ValueError("expected a metric name")
    name, pos = match.group(), match.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        labels, pos = _parse_labels(line, pos + 1)
    # An exemplar ("# {...} v ts") may follow the sample; it is not usage.
    rest = line[pos:].split("#", 1)[0].split()
    if len(rest) != 2:
        raise ValueError("expected '<value> <timestamp in seconds>' after the labels")
    value, stamp = rest
    return Record(timestamp=_seconds(stamp), metric=name, labels=labels, value=value)


def _parse_labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    labels: dict[str, str] = {}
    while True:
        while pos < len(line) and line[pos] in " ,":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL.match(line, pos)
        if not match:
            raise ValueError(f"malformed label set at column {pos + 1}")
        key, pos = match.group(1), match.end()
        chars: list[str] = []
        while True:
            if pos >= len(line):
                raise ValueError(f"unterminated value of label '{key}'")
            char = line[pos]
            if char == "\\":
                escaped = line[pos + 1 : pos + 2]
                if escaped not in _UNESCAPE:
                    raise ValueError(f"invalid escape in label '{key}'")
                chars.append(_UNESCAPE[escaped])
                pos += 2
            elif char == '"':
                pos += 1
                break
            else:
                chars.append(char)
                pos += 1
        if key in labels:
            raise ValueError(f"label '{key}' given twice")
        labels[key] = "".join(chars)


def read_csv(text: str, source: str) -> Iterator[Record]:
    """Records of a CSV text; BadSourceAnswer names file and line."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise BadSourceAnswer(f"{source}: missing CSV column(s): {', '.join(missing)}")
    label_columns = [c for c in header if c not in CSV_COLUMNS]
    for row in reader:
        line = reader.line_num
        if None in row:
            raise BadSourceAnswer(f"{source}:{line}: more cells than header columns")
        try:
            stamp = _csv_time(row["timestamp"] or "")
        except ValueError as exc:
            raise BadSourceAnswer(f"{source}:{line}: {exc}") from None
        metric = (row["metric"] or "").strip()
        if not metric:
            raise BadSourceAnswer(f"{source}:{line}: empty metric")
        labels = {c: row[c] for c in label_columns if row[c] not in (None, "")}
        yield Record(timestamp=stamp, metric=metric, labels=labels, value=row["value"] or "")


def _csv_time(text: str) -> Decimal:
    text = text.strip()
    try:
        return _seconds(text)
    except ValueError:
        pass
    try:
        moment = tz.parse_datetime(text, "timestamp")
    except exceptions.InvalidInput:
        raise ValueError(f"timestamp {text!r} is neither epoch seconds nor ISO 8601") from None
    return epoch_seconds(moment)


def _seconds(text: str) -> Decimal:
    try:
        stamp = Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(f"timestamp {text!r} is not a number of seconds") from None
    if not stamp.is_finite():
        raise ValueError(f"timestamp {text!r} is not finite")
    return stamp


def epoch_seconds(moment: datetime.datetime) -> Decimal:
    """Exact epoch seconds (microsecond precision) of a datetime (naive = UTC)."""
    micros = (tz.as_utc(moment) - tz.EPOCH) // datetime.timedelta(microseconds=1)
    return Decimal(f"{micros}E-6")  # exact, unlike context-rounded arithmetic
