"""Hashmap pricing: pure, in memory, one pass over a frame.

A ``HashMapEngine`` indexes a ``RuleSet`` once. ``resolve`` picks the rules in
force for a scope at a time (tenant rules replace global ones with the same
key) and ``price_frame`` prices every point as CONTRACT section 3.3 says:

* per group, flat mappings keep the most expensive, rate mappings multiply;
* one threshold slot per group holds the candidate with the highest level
  (service thresholds compare with the quantity and win ties, field
  thresholds with the attribute value, earlier fields win ties);
* a field-scope threshold adds to ``flat`` or multiplies ``rate`` before
  ``rate x flat x qty``; a service-scope one adds its cost once to, or
  multiplies, that group price; groups add up onto the old price.

The per-point work is compiled and memoized per service in ``pricing.py``.
Arithmetic is Decimal in a private context of 60 significant digits: exact
for any realistic rule set, and unaffected by the caller's decimal context.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import decimal
import gc
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.rating.hashmap import pricing
from cloudkitty.rating.hashmap.ruleset import MappingRule, RuleSet, ThresholdRule
from cloudkitty.utils import tz

LOG = logging.getLogger(__name__)

_CTX = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# Bound on memory: cached scope resolutions (scope x period start).
_SCOPE_CACHE_SIZE = 64


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Hold the cyclic garbage collector while a frame is priced.

    Every priced point is a new tracked tuple; with a million of them the
    collector keeps re-scanning the growing young generations and takes
    about 40% of the time. The points form no cycles, so nothing is lost by
    collecting once afterwards instead.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclasses.dataclass(frozen=True, slots=True)
class EffectiveField:
    """A field's rules in force: ``(group, value)`` and ``(group, level)`` keyed."""

    name: str
    mappings: Mapping[tuple[str, str], MappingRule]
    thresholds: Mapping[tuple[str, Decimal], ThresholdRule]


@dataclasses.dataclass(frozen=True, slots=True)
class EffectiveService:
    """A service's rules in force; ``fields`` in database id order."""

    name: str
    mappings: Mapping[str, MappingRule]
    thresholds: Mapping[tuple[str, Decimal], ThresholdRule]
    fields: tuple[EffectiveField, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Resolution:
    """The effective rules for one scope at one time, by service name."""

    scope_id: str | None
    at: datetime.datetime
    services: Mapping[str, EffectiveService]


def _active(rule: MappingRule, at: datetime.datetime) -> bool:
    return rule.deleted is None and rule.start <= at and (rule.end is None or rule.end > at)


def _overlay(rules: Iterable[Any], scope_id: str | None, key: Any, at: Any = None) -> dict:
    """Key the rules of the global layer, then let the scope's layer replace.

    Within a layer the last rule (highest id) wins a key, as upstream's load
    order did. ``at`` given: only mappings active then are considered.
    """
    result: dict = {}
    rules = [r for r in rules if at is None or _active(r, at)]
    for layer in (None, scope_id) if scope_id is not None else (None,):
        for rule in rules:
            if rule.tenant_id == layer:
                result[key(rule)] = rule
    return result


class _Scope:
    """A resolution plus its compiled pricers (built on first use)."""

    def __init__(self, resolution: Resolution) -> None:
        self.resolution = resolution
        self.pricers: dict[str, pricing.ServicePricer] = {}

    def pricer(self, metric_type: str) -> pricing.ServicePricer | None:
        pricer = self.pricers.get(metric_type)
        if pricer is None:
            service = self.resolution.services.get(metric_type)
            if service is None:
                return None
            pricer = self.pricers[metric_type] = pricing.ServicePricer(service)
        return pricer


class HashMapEngine:
    """Prices frames with one ``RuleSet``, for any scope and time.

    A non-numeric value of an attribute whose field has thresholds (for
    instance ``memory="large"``) does not abort anything, unlike upstream
    which failed the whole scope run: that field's thresholds simply do not
    apply to that point, its mappings and every other rule still do. Each
    such point is counted in ``non_numeric`` (key ``(service, field)``) and
    ``price_frame`` logs one warning per service and field, with an example.

    Threads may share an engine. Resolutions are cached per (scope, time),
    the last ``_SCOPE_CACHE_SIZE`` of them.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.non_numeric: collections.Counter[tuple[str, str]] = collections.Counter()
        self._fields: dict[int, list[Any]] = collections.defaultdict(list)
        for fld in ruleset.fields:
            self._fields[fld.service_id].append(fld)
        self._mappings: dict[tuple[str, int], list[MappingRule]] = collections.defaultdict(list)
        for mapping in ruleset.mappings:
            # A field mapping without a value can never match an attribute.
            if mapping.service_id is not None:
                self._mappings[("service", mapping.service_id)].append(mapping)
            elif mapping.field_id is not None and mapping.value is not None:
                self._mappings[("field", mapping.field_id)].append(mapping)
        self._thresholds: dict[tuple[str, int], list[ThresholdRule]] = collections.defaultdict(list)
        for threshold in ruleset.thresholds:
            if threshold.service_id is not None:
                self._thresholds[("service", threshold.service_id)].append(threshold)
            elif threshold.field_id is not None:
                self._thresholds[("field", threshold.field_id)].append(threshold)
        self._scopes: collections.OrderedDict[tuple[str | None, datetime.datetime], _Scope] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def resolve(self, scope_id: str | None, at: datetime.datetime) -> Resolution:
        """The rules in force for ``scope_id`` (None: global only) at ``at``."""
        return self._scope(scope_id, at).resolution

    def _scope(self, scope_id: str | None, at: datetime.datetime) -> _Scope:
        at = tz.as_utc(at)
        cache_key = (scope_id, at)
        with self._lock:
            scope = self._scopes.get(cache_key)
            if scope is None:
                scope = _Scope(self._resolve(scope_id, at))
                self._scopes[cache_key] = scope
                if len(self._scopes) > _SCOPE_CACHE_SIZE:
                    self._scopes.popitem(last=False)
            else:
                self._scopes.move_to_end(cache_key)
        return scope

    def _resolve(self, scope_id: str | None, at: datetime.datetime) -> Resolution:
        services = {}
        for service in self.ruleset.services:
            fields = tuple(
                EffectiveField(
                    name=fld.name,
                    mappings=_overlay(
                        self._mappings[("field", fld.id)],
                        scope_id,
                        lambda m: (m.group, m.value),
                        at,
                    ),
                    thresholds=_overlay(
                        self._thresholds[("field", fld.id)],
                        scope_id,
                        lambda t: (t.group, t.level),
                    ),
                )
                for fld in self._fields[service.id]
            )
            services[service.name] = EffectiveService(
                name=service.name,
                mappings=_overlay(
                    self._mappings[("service", service.id)], scope_id, lambda m: m.group, at
                ),
                thresholds=_overlay(
                    self._thresholds[("service", service.id)],
                    scope_id,
                    lambda t: (t.group, t.level),
                ),
                fields=fields,
            )
        return Resolution(scope_id=scope_id, at=at, services=services)

    def price_frame(self, frame: DataFrame, scope_id: str | None) -> DataFrame:
        """A new frame whose points carry old price + hashmap price.

        Rules are taken as of ``frame.start``. Metric types that are not
        hashmap services keep their points untouched.
        """
        scope = self._scope(scope_id, frame.start)
        bad_seen: collections.Counter[tuple[str, str, str]] = collections.Counter()
        usage = {}
        with decimal.localcontext(_CTX), _no_gc_pauses():
            for metric_type, points in frame.usage.items():
                pricer = scope.pricer(metric_type)
                usage[metric_type] = points if pricer is None else pricer.price(points, bad_seen)
        if bad_seen:
            self._report(bad_seen, scope_id)
        return frame.replace_usage(usage)

    def price_point(
        self,
        metric_type: str,
        point: DataPoint,
        scope_id: str | None,
        at: datetime.datetime,
    ) -> Decimal:
        """The new price of a single point (a convenience for tests and quotes)."""
        pricer = self._scope(scope_id, at).pricer(metric_type)
        if pricer is None:
            return point.price
        bad_seen: collections.Counter[tuple[str, str, str]] = collections.Counter()
        with decimal.localcontext(_CTX):
            (priced,) = pricer.price((point,), bad_seen)
        if bad_seen:
            self._report(bad_seen, scope_id)
        return priced.price

    def _report(self, bad_seen: collections.Counter, scope_id: str | None) -> None:
        per_field: dict[tuple[str, str], list[Any]] = {}
        for (service, field, example), count in bad_seen.items():
            seen = per_field.setdefault((service, field), [0, example])
            seen[0] += count
        for (service, field), (count, example) in per_field.items():
            with self._lock:
                self.non_numeric[(service, field)] += count
            LOG.warning(
                "hashmap: %d point(s) of service %s in scope %s have a non-numeric "
                "%r (e.g. %r); the thresholds of that field were not applied to them",
                count,
                service,
                scope_id,
                field,
                example,
            )
