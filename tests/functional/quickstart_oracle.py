"""What the quickstart's summary must say, computed from its files alone.

Reads the generated usage file (OpenMetrics), the bundled metrics.yml and
pricebook.yml, and prices every hour with plain Decimal arithmetic written
here from the documented hashmap rules (CONTRACT section 3.3): neither the
collector, nor the hashmap engine, nor storage is called.
"""

from __future__ import annotations

import collections
import datetime
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)\{(.*)\} (\S+) (\d+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
ZERO = Decimal(0)


def read_openmetrics(path: Path) -> Iterator[tuple[str, dict[str, str], str, int]]:
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, labels, value, stamp = match.groups()
        yield name, dict(_LABEL.findall(labels)), value, int(stamp)


def exact(value: Fraction) -> Decimal:
    """A Fraction whose denominator divides a power of ten, as a Decimal."""
    for digits in range(0, 40):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            return Decimal(scaled.numerator).scaleb(-digits)
    raise AssertionError(f"{value} has no short decimal expansion")


def _fraction(text: Any) -> Fraction:
    if isinstance(text, str) and "/" in text:
        num, den = text.split("/")
        return Fraction(Decimal(num.strip())) / Fraction(Decimal(den.strip()))
    return Fraction(Decimal(str(text)))


class PriceBook:
    """The price book's rules, applied per point as CONTRACT 3.3 describes."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.services = document["services"]

    @staticmethod
    def _overlay(rules: list[dict[str, Any]], tenant: str, key: Any) -> dict[Any, dict]:
        chosen: dict[Any, dict] = {}
        for layer in (None, tenant):  # global rules, then the project's replace them
            for rule in rules:
                if rule.get("tenant") == layer:
                    chosen[key(rule)] = rule
        return chosen

    def price(self, service: str, qty: Decimal, attrs: Mapping[str, str], tenant: str) -> Decimal:
        node = self.services.get(service)
        if node is None:
            return ZERO
        groups: dict[str, dict[str, Any]] = collections.defaultdict(
            lambda: {"flat": ZERO, "rate": Decimal(1), "threshold": None}
        )

        def apply(rule: dict[str, Any]) -> None:
            group = groups[rule.get("group") or "_DEFAULT_"]
            cost = Decimal(rule["cost"])
            if rule.get("type", "flat") == "rate":
                group["rate"] *= cost
            else:
                group["flat"] = max(group["flat"], cost)

        service_rules = self._overlay(node.get("mappings", []), tenant, lambda r: r.get("group"))
        for rule in service_rules.values():
            apply(rule)
        thresholds = self._overlay(
            node.get("thresholds", []), tenant, lambda r: (r.get("group"), Decimal(r["level"]))
        )
        for rule in thresholds.values():
            group = groups[rule.get("group") or "_DEFAULT_"]
            level = Decimal(rule["level"])
            if level <= qty and (group["threshold"] is None or level > group["threshold"][0]):
                group["threshold"] = (level, rule)
        for field, field_node in (node.get("fields") or {}).items():
            assert not field_node.get("thresholds"), "field thresholds: not needed so far"
            if field not in attrs:
                continue
            rules = self._overlay(
                field_node.get("mappings", []),
                tenant,
                lambda r: (r.get("group"), str(r["value"])),
            )
            for (_group, value), rule in rules.items():
                if value == str(attrs[field]):
                    apply(rule)
        total = ZERO
        for group in groups.values():
            price = group["rate"] * group["flat"] * qty
            if group["threshold"] is not None:  # service scope: on the group price
                rule = group["threshold"][1]
                cost = Decimal(rule["cost"])
                price = price * cost if rule.get("type", "flat") == "rate" else price + cost
            total += price
        return total


_REDUCE = {
    "max": max,
    "min": min,
    "sum": sum,
    "last": lambda values: values[-1],
}


def expected_summary(
    usage: Path,
    metrics_yml: Path,
    pricebook_yml: Path,
    begin: datetime.datetime,
    end: datetime.datetime,
) -> dict[str, dict[str, Any]]:
    """``{project_id: {"price": Decimal, "qty": {type: Decimal}}}`` for the
    hours in ``[begin, end)``."""
    metrics = yaml.safe_load(metrics_yml.read_text())["metrics"]
    book = PriceBook(yaml.safe_load(pricebook_yml.read_text()))
    low, high = int(begin.timestamp()), int(end.timestamp())
    # (metric, hour start, project, attribute values) -> values in file order
    grouped: dict[tuple[str, int, str, tuple[str, ...]], list[Fraction]] = {}
    for name, labels, value, stamp in read_openmetrics(usage):
        if not low <= stamp < high:
            continue
        definition = metrics[name]
        keys = (*definition.get("groupby", []), *definition.get("metadata", []))
        hour = stamp - stamp % 3600
        key = (name, hour, labels["project_id"], tuple(labels.get(k, "") for k in keys))
        grouped.setdefault(key, []).append(Fraction(Decimal(value)))
    result: dict[str, dict[str, Any]] = collections.defaultdict(
        lambda: {"price": ZERO, "qty": collections.defaultdict(lambda: ZERO)}
    )
    for (name, _hour, project, values), samples in grouped.items():
        definition = metrics[name]
        method = definition.get("extra_args", {}).get("aggregation_method", "max")
        raw = _REDUCE[method](samples)
        converted = raw * _fraction(definition.get("factor", 1)) + _fraction(
            definition.get("offset", 0)
        )
        if definition.get("mutate") == "NUMBOOL":
            converted = Fraction(1 if converted != 0 else 0)
        qty = exact(converted)
        service = definition.get("alt_name", name)
        keys = (*definition.get("groupby", []), *definition.get("metadata", []))
        attrs = dict(zip(keys, values, strict=True))
        result[project]["qty"][service] += qty
        result[project]["price"] += book.price(service, qty, attrs, project)
    return result
