"""The Gnocchi collector: one aggregates call per metric and period for many
scopes, the whole period reduced to one quantity per group.

Request (scopes cut in chunks of ``SCOPES_PER_CALL``)::

    POST /v1/aggregates?start=S&stop=E&granularity=G&use_history=true
         &groupby=<groupby...>&groupby=<resource_key>[&groupby=revision_start]
    {"operations": ["aggregate", RE_AGG, ["metric", NAME, AGG]],  # or custom_query
     "search": {"and": [{"=": {"type": T}}, {"in": {<scope_key>: [scopes]}}]},
     "resource_type": T}

Quantity of a group over ``[start, end)``: Gnocchi answers one point per
granularity slot; the points whose timestamp lies in ``[start, end)`` are
reduced by ``reduce_period`` following ``aggregation_method`` (see there).
Gnocchi sends values as JSON floats; each is turned into an exact number with
``Decimal(str(value))`` (the shortest repr, so ``0.1`` stays ``0.1``) and all
arithmetic is then exact (``Fraction``).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from types import ModuleType
from typing import Any, ClassVar

from oslo_config import cfg

from cloudkitty.collector import base
from cloudkitty.collector.metrics import ExtraArg, InvalidKey, MetricDefinition
from cloudkitty.conf import collector_gnocchi
from cloudkitty.dataframe import DataPoint
from cloudkitty.utils import gnocchi_api

LOG = logging.getLogger(__name__)

BASIC_METHODS = ("mean", "sum", "last", "max", "min", "std", "median", "first", "count")
PERCENTILES = tuple(f"{n}pct" for n in range(1, 100))
AGGREGATION_METHODS = frozenset(
    (*BASIC_METHODS, *PERCENTILES, *(f"rate:{m}" for m in (*BASIC_METHODS, *PERCENTILES)))
)
RE_AGGREGATION_METHODS = frozenset((*BASIC_METHODS, *(f"rate:{m}" for m in BASIC_METHODS)))
PLACEHOLDERS = ("RE_AGGREGATION_METHOD", "AGGREGATION_METHOD", "METRIC_NAME")

#: Scopes per aggregates call: bounds the size of the SQL "IN" Gnocchi builds.
SCOPES_PER_CALL = 200
#: Resource keys per metadata search.
KEYS_PER_SEARCH = 500


def exact(value: Any) -> Fraction:
    """The exact number a Gnocchi JSON value stands for (float -> its str)."""
    return Fraction(Decimal(str(value)))


def _percentile(values: Sequence[Fraction], rank: int) -> Fraction:
    # Linear interpolation between closest ranks, as numpy's default does.
    ordered = sorted(values)
    position = Fraction(rank, 100) * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _std(values: Sequence[Fraction]) -> Decimal:
    # Sample standard deviation (ddof=1); the square root is not exact, so it
    # is the one reduction returned as a 34-digit Decimal.
    mean = sum(values, Fraction(0)) / len(values)
    variance = sum(((v - mean) ** 2 for v in values), Fraction(0)) / (len(values) - 1)
    return Decimal(variance.numerator).sqrt() / Decimal(variance.denominator).sqrt()


def reduce_period(method: str, values: Sequence[Fraction]) -> Fraction | Decimal:
    """One quantity from the time-ordered slot values of a period.

    * ``sum``, ``count``, any ``rate:*``: the sum (total over the period; for
      a rate, the total change);
    * ``max``/``min``: the largest/smallest slot; ``first``/``last``: the
      earliest/latest slot;
    * ``mean``: the mean of the slots that have data;
    * ``median``, ``Npct``, ``std``: the statistic over the slot values,
      which approximates the one over raw measures (exact when
      ``force_granularity`` equals the period: then there is one slot).

    For sum, count, max, min, first and last this equals what Gnocchi gives
    with a granularity of the whole period; for mean when every slot holds
    the same number of measures.
    """
    if len(values) == 1:
        return values[0]
    if method.startswith("rate:") or method in ("sum", "count"):
        return sum(values, Fraction(0))
    simple: dict[str, Callable[[Sequence[Fraction]], Fraction]] = {
        "max": max,
        "min": min,
        "first": lambda v: v[0],
        "last": lambda v: v[-1],
        "mean": lambda v: sum(v, Fraction(0)) / len(v),
        "median": statistics.median,
    }
    if method in simple:
        return simple[method](values)
    if method == "std":
        return _std(values)
    if method.endswith("pct"):
        return _percentile(values, int(method[:-3]))
    raise ValueError(f"unknown aggregation method {method!r}")


def build_operations(args: Mapping[str, Any], metric_name: str) -> list[Any] | str:
    """The ``operations`` of the aggregates body for one definition."""
    if args.get("custom_query"):
        query = str(args["custom_query"])
        # Longest placeholder first: AGGREGATION_METHOD is inside RE_AGG...
        for name, value in (
            ("RE_AGGREGATION_METHOD", args["re_aggregation_method"]),
            ("AGGREGATION_METHOD", args["aggregation_method"]),
            ("METRIC_NAME", metric_name),
        ):
            query = query.replace(name, value)
        return query
    return [
        "aggregate",
        args["re_aggregation_method"],
        ["metric", metric_name, args["aggregation_method"]],
    ]


class GnocchiCollector(base.Collector):
    """Collects from Gnocchi's aggregates API (``[collector_gnocchi]``)."""

    name = "gnocchi"
    conf_module: ClassVar[ModuleType | None] = collector_gnocchi
    EXTRA_ARGS = {
        "resource_type": ExtraArg(str),
        "resource_key": ExtraArg(str, "id"),
        "aggregation_method": ExtraArg(str, "max"),
        "re_aggregation_method": ExtraArg(str, "max"),
        "force_granularity": ExtraArg(int, 3600),
        "use_all_resource_revisions": ExtraArg(bool, True),
        "custom_query": ExtraArg(str, ""),
    }

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        *,
        period: int,
        scope_key: str,
        metrics: Mapping[str, MetricDefinition],
        client: Any = None,
    ) -> None:
        super().__init__(conf, period=period, scope_key=scope_key, metrics=metrics)
        collector_gnocchi.register_opts(conf)
        self.client = (
            client if client is not None else gnocchi_api.make_client(conf, collector_gnocchi.GROUP)
        )

    @classmethod
    def check_definition(cls, definition: MetricDefinition) -> None:
        args = definition.extra_args
        if args["aggregation_method"] not in AGGREGATION_METHODS:
            raise InvalidKey(
                "extra_args.aggregation_method",
                f"{args['aggregation_method']!r} is not one of "
                f"{', '.join(BASIC_METHODS)}, 1pct..99pct, or one of those prefixed rate:",
            )
        if args["re_aggregation_method"] not in RE_AGGREGATION_METHODS:
            raise InvalidKey(
                "extra_args.re_aggregation_method",
                f"{args['re_aggregation_method']!r} is not one of "
                f"{', '.join(BASIC_METHODS)}, or one of those prefixed rate:",
            )
        if args["force_granularity"] < 0:
            raise InvalidKey("extra_args.force_granularity", "must be 0 (any) or seconds > 0")
        if args["resource_key"] in definition.metadata:
            raise InvalidKey("metadata", f"'{args['resource_key']}' is the resource_key")

    def collect(
        self,
        metric: MetricDefinition | str,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: Sequence[str],
    ) -> dict[str, list[DataPoint]]:
        definition = self.metrics[metric] if isinstance(metric, str) else metric
        return super().collect(self.effective(definition), start, end, scope_ids)

    def effective(self, definition: MetricDefinition) -> MetricDefinition:
        """``definition`` with ``resource_key`` in its groupby: a point per
        resource (placed before the scope key, which stays last)."""
        key = definition.extra_args["resource_key"]
        if key in definition.groupby:
            return definition
        groupby = (*definition.groupby[:-1], key, definition.groupby[-1])
        return dataclasses.replace(definition, groupby=groupby)

    def close(self) -> None:
        session = getattr(getattr(self.client, "api", None), "session", None)
        if session is not None:
            session.session.close()

    def fetch(
        self,
        metric: MetricDefinition,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: tuple[str, ...],
    ) -> Iterable[base.Sample]:
        args = metric.extra_args
        key = args["resource_key"]
        groups: list[dict[str, Any]] = []
        for offset in range(0, len(scope_ids), SCOPES_PER_CALL):
            chunk = scope_ids[offset : offset + SCOPES_PER_CALL]
            groups.extend(self._aggregates(metric, start, end, chunk))
        if not args["use_all_resource_revisions"]:
            groups = merge_revisions(groups, key)
        resources = self._resources(metric, groups) if metric.metadata else {}
        # A rate across resources is a series of changes: its total is the sum.
        method = args["aggregation_method"]
        if args["re_aggregation_method"].startswith("rate:"):
            method = "sum"
        samples: list[base.Sample] = []
        for group in groups:
            values = [v for _, v in group["points"]]
            if not values:
                continue
            labels = {k: "" if v is None else v for k, v in group["group"].items()}
            if metric.metadata:
                resource = resources.get(str(group["group"].get(key)))
                if resource is None:
                    LOG.warning(
                        "metric %s: no resource with %s=%s for metadata; group skipped",
                        metric.key,
                        key,
                        group["group"].get(key),
                    )
                    continue
                for name in metric.metadata:
                    value = resource.get(name)
                    labels[name] = "" if value is None else value
            scope = str(group["group"].get(self.scope_key))
            samples.append(base.Sample(scope, labels, reduce_period(method, values)))
        return samples

    def _aggregates(
        self,
        metric: MetricDefinition,
        start: datetime.datetime,
        end: datetime.datetime,
        scopes: Sequence[str],
    ) -> list[dict[str, Any]]:
        """The groups of one aggregates call, each with its in-period points
        as ``(timestamp, Fraction)`` sorted by time."""
        args = metric.extra_args
        granularity = args["force_granularity"] or None
        query_start = start
        rate = any(
            args[m].startswith("rate:") for m in ("aggregation_method", "re_aggregation_method")
        )
        if rate and granularity:
            # A rate needs the slot before the period to give the first one.
            query_start = start - datetime.timedelta(seconds=granularity)
        groupby = [*metric.groupby, args["resource_key"]]
        if not args["use_all_resource_revisions"]:
            groupby.append("revision_start")
        search = {
            "and": [
                {"=": {"type": args["resource_type"]}},
                {"in": {self.scope_key: list(scopes)}},
            ]
        }
        try:
            answer = gnocchi_api.call(
                "aggregates",
                self.client.aggregates.fetch,
                build_operations(args, metric.metric),
                search=search,
                resource_type=args["resource_type"],
                start=query_start.isoformat(),
                stop=end.isoformat(),
                granularity=granularity,
                groupby=sorted(set(groupby)),
                details=False,
                use_history=True,
            )
        except gnocchi_api.NoData:
            return []
        if not isinstance(answer, list):
            raise base.BadSourceAnswer(f"gnocchi aggregates: unexpected answer {answer!r:.200}")
        groups = []
        for item in answer:
            try:
                points = _period_points(item["measures"]["measures"]["aggregated"], start, end)
                groups.append({"group": dict(item["group"]), "points": points})
            except (KeyError, TypeError, ValueError) as exc:
                message = f"gnocchi aggregates: bad group {item!r:.200}"
                raise base.BadSourceAnswer(message, exc) from exc
        return groups

    def _resources(
        self, metric: MetricDefinition, groups: Sequence[Mapping[str, Any]]
    ) -> dict[str, Mapping[str, Any]]:
        """Current attributes of the groups' resources, by resource key value:
        one paginated search per ``KEYS_PER_SEARCH`` keys."""
        args = metric.extra_args
        key = args["resource_key"]
        wanted = sorted({str(g["group"][key]) for g in groups if g["group"].get(key) is not None})
        found: dict[str, Mapping[str, Any]] = {}
        for offset in range(0, len(wanted), KEYS_PER_SEARCH):
            query = {"in": {key: wanted[offset : offset + KEYS_PER_SEARCH]}}
            for resource in gnocchi_api.search_all(self.client, args["resource_type"], query):
                found.setdefault(str(resource.get(key)), resource)
        return found


def _period_points(
    raw: Iterable[Sequence[Any]], start: datetime.datetime, end: datetime.datetime
) -> list[tuple[datetime.datetime, Fraction]]:
    """Points of ``[start, end)`` at the finest granularity present.

    Gnocchi also returns the slot that contains ``start`` (and, for a rate,
    the one before): a slot belongs to the period holding its timestamp.
    """
    points = []
    for timestamp, granularity, value in raw:
        if isinstance(timestamp, str):
            timestamp = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        if start <= timestamp < end and value is not None:
            points.append((float(granularity), timestamp, exact(value)))
    if not points:
        return []
    finest = min(p[0] for p in points)
    return sorted((t, v) for g, t, v in points if g == finest)


def merge_revisions(groups: Sequence[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """One group per resource key: the attributes of its latest revision and
    its points summed per timestamp (Gnocchi splits a slot that two
    revisions share into weighted parts; the sum puts it back together)."""
    merged: dict[Any, dict[str, Any]] = {}
    for group in sorted(groups, key=lambda g: str(g["group"].get("revision_start") or "")):
        resource = group["group"].get(key)
        entry = merged.setdefault(resource, {"group": {}, "sums": {}})
        entry["group"] = dict(group["group"])  # later revisions win
        for timestamp, value in group["points"]:
            entry["sums"][timestamp] = entry["sums"].get(timestamp, Fraction(0)) + value
    return [
        {"group": entry["group"], "points": sorted(entry["sums"].items())}
        for entry in merged.values()
    ]
