"""The collector interface, its errors and its stevedore loader.

A collector answers "what did these scopes use during ``[start, end)``?" for
one metric definition. It asks its source once per metric and period for
many scopes at once and splits the answer by scope; this module turns the raw
samples into DataPoints (factor/offset/mutate, time groupby keys, checks).
"""

from __future__ import annotations

import abc
import datetime
import decimal
import fractions
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType, ModuleType
from typing import Any, ClassVar, NamedTuple, cast

from oslo_config import cfg
from stevedore import driver, extension
from stevedore import exception as stevedore_exc

from cloudkitty import exceptions
from cloudkitty.collector import metrics as metrics_mod
from cloudkitty.conf import collect as collect_conf
from cloudkitty.dataframe import DataPoint, frozen
from cloudkitty.utils import tz, units

NAMESPACE = "cloudkitty.collector.backends"

MetricDefinition = metrics_mod.MetricDefinition


# Source failures are domain errors shared with fetchers; collectors raise them.
CollectError = exceptions.SourceError
SourceUnreachable = exceptions.SourceUnreachable
BadSourceAnswer = exceptions.BadSourceAnswer


class InvalidQuantity(CollectError):
    """A collected value is not a usable quantity (not a number, NaN,
    infinite, or negative for a metric that cannot be negative)."""

    def __init__(self, metric: str, scope_id: str, value: Any, reason: str) -> None:
        super().__init__(
            f"metric '{metric}', scope '{scope_id}': value {_shown(value)} rejected: {reason}"
        )
        self.metric = metric
        self.scope_id = scope_id
        self.value = value


def _shown(value: Any) -> str:
    """A rejected value as the operator would write it: sources that
    aggregate exactly (the file collector) hand over a Fraction, whose repr
    ("Fraction(-5, 1)") says nothing useful in a log line."""
    if isinstance(value, fractions.Fraction):
        if value.denominator == 1:
            return repr(str(value.numerator))
        with decimal.localcontext(decimal.Context(prec=30)):
            return repr(str(decimal.Decimal(value.numerator) / value.denominator))
    return repr(value)


class Sample(NamedTuple):
    """One raw answer of a source: a scope, the attribute values of a group
    (groupby and metadata names to values) and an unconverted value.

    A NamedTuple: sources build one per resource and period, and a frozen
    dataclass costs twice as much to build."""

    scope_id: str
    labels: Mapping[str, Any]
    value: Any


def time_groupby(start: datetime.datetime) -> dict[str, str]:
    """The four time keys every point carries, computed from the period start
    (UTC), so summaries can group by ``time-w``/``time-d``/``time-m``/``time-y``."""
    start = tz.as_utc(start)
    return {
        "week_of_the_year": start.strftime("%U"),  # zero-padded "00".."53"
        # %-j / %-m are glibc-only; int() drops the padding portably.
        "day_of_the_year": str(start.timetuple().tm_yday),
        "month": str(start.month),
        "year": start.strftime("%Y"),
    }


class Collector(abc.ABC):
    """Base of every collector.

    Built once per processing worker, after the metrics.yml was validated
    with the collector's ``EXTRA_ARGS`` and ``check_definition``. ``collect``
    may be called concurrently from several threads.
    """

    #: entry-point name, config value and module name
    name: ClassVar[str]
    #: the config module of the collector's own group (None: no options)
    conf_module: ClassVar[ModuleType | None] = None
    #: the ``extra_args`` this collector accepts in metrics.yml
    EXTRA_ARGS: ClassVar[Mapping[str, metrics_mod.ExtraArg]] = {}

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        *,
        period: int,
        scope_key: str,
        metrics: Mapping[str, MetricDefinition],
    ) -> None:
        self.conf = conf
        self.period = period
        self.scope_key = scope_key
        self.metrics = dict(metrics)
        self.options: Any = None
        if self.conf_module is not None:
            # Registering identical options twice is a no-op in oslo.config,
            # so a collector works on a ConfigOpts nobody prepared for it.
            conf.register_opts(self.conf_module.opts, group=self.conf_module.GROUP)
            self.options = conf[self.conf_module.GROUP]

    @classmethod
    def check_definition(cls, definition: MetricDefinition) -> None:
        """Reject, with ``metrics.InvalidKey``, a definition this collector
        cannot serve (e.g. a name that is not a Prometheus label)."""
        return None  # optional hook: nothing to do by default

    @abc.abstractmethod
    def fetch(
        self,
        metric: MetricDefinition,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: tuple[str, ...],
    ) -> Iterable[Sample]:
        """Raw samples of ``metric`` over ``[start, end)`` for these scopes.

        One sample per group; samples of scopes not asked for are ignored.
        Raises SourceUnreachable or BadSourceAnswer.
        """

    def close(self) -> None:
        """Release connections; the collector is not used afterwards."""
        return None  # optional hook: nothing to do by default

    def collect(
        self,
        metric: MetricDefinition | str,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: Sequence[str],
    ) -> dict[str, list[DataPoint]]:
        """The points of ``metric`` over ``[start, end)`` for every scope.

        Returns every asked scope as a key (an empty list means no data).
        Raises CollectError subclasses; the caller retries the period.
        """
        definition = self.metrics[metric] if isinstance(metric, str) else metric
        start, end = tz.as_utc(start), tz.as_utc(end)
        if not start < end:
            raise exceptions.InvalidInput(f"period start {start} must be before end {end}")
        wanted = tuple(dict.fromkeys(scope_ids))  # dedupe, keep order
        result: dict[str, list[DataPoint]] = {scope: [] for scope in wanted}
        if not wanted:
            return result
        time_keys = time_groupby(start)
        convert = _QuantityConverter(metric=definition)
        keyed = []
        for sample in self.fetch(definition, start, end, wanted):
            if sample.scope_id in result:
                keyed.append(self._keyed_point(definition, sample, time_keys, convert))
        # Sources do not promise an order; sort by the point's attributes
        # (groupby then metadata, in definition order) so frames are
        # reproducible. The sort is stable and compares the keys only.
        keyed.sort(key=_sort_key)
        for _key, scope_id, point in keyed:
            result[scope_id].append(point)
        return result

    def _keyed_point(
        self,
        metric: MetricDefinition,
        sample: Sample,
        time_keys: Mapping[str, str],
        convert: _QuantityConverter,
    ) -> tuple[tuple[str, ...], str, DataPoint]:
        """(sort key, scope, point) of one sample: the attribute values are
        looked up once for both the key and the point."""
        labels = sample.labels
        groupby_values = [labels.get(name, "") for name in metric.groupby]
        metadata_values = [labels.get(name, "") for name in metric.metadata]
        key = tuple(map(str, groupby_values + metadata_values))
        groupby = dict(zip(metric.groupby, groupby_values, strict=True))
        # The scope id is what was asked for; never let a missing label blank it.
        groupby[self.scope_key] = sample.scope_id
        groupby.update(time_keys)
        point = DataPoint(
            unit=metric.unit,
            qty=convert(sample),
            groupby=MappingProxyType(groupby),  # ours: no copy needed
            metadata=MappingProxyType(dict(zip(metric.metadata, metadata_values, strict=True)))
            if metadata_values
            else frozen(None),
            description=metric.description,
        )
        return key, sample.scope_id, point


def _sort_key(item: tuple[tuple[str, ...], str, DataPoint]) -> tuple[str, ...]:
    return item[0]


class _QuantityConverter:
    """Validated, converted quantities of one metric's samples.

    Values repeat a lot within a metric and period (``"1"`` for every
    instance), so each distinct text is converted once per ``collect``. An
    identity conversion (no factor, offset or mutator) parses the text
    straight into its Decimal; others compute exactly through Fraction.
    """

    def __init__(self, metric: MetricDefinition) -> None:
        self.metric = metric
        self.identity = (
            metric.factor == 1 and metric.offset == 0 and metric.mutate is units.Mutator.NONE
        )
        self.memo: dict[str, decimal.Decimal] = {}

    def __call__(self, sample: Sample) -> decimal.Decimal:
        raw = sample.value
        if raw.__class__ is str:
            qty = self.memo.get(raw)
            if qty is None:
                qty = self.memo[raw] = self._convert(sample, raw)
        else:
            qty = self._convert(sample, raw)
        if qty < 0 and not self.metric.allow_negative:
            # Rated usage cannot be negative; a negative value is a broken
            # meter or query, and rating it would silently credit the scope.
            raise InvalidQuantity(
                self.metric.name,
                sample.scope_id,
                raw,
                f"negative quantity {qty} (set allow_negative: true if intended)",
            )
        return qty

    def _convert(self, sample: Sample, raw: Any) -> decimal.Decimal:
        try:
            if self.identity and raw.__class__ is str:
                return units.decimal_from_text(raw)
            value = units.parse_number(raw)
        except ValueError:
            reason = "not a finite number"
            raise InvalidQuantity(self.metric.name, sample.scope_id, raw, reason) from None
        return self.metric.quantity(value)


def collector_class(name: str) -> type[Collector]:
    """The installed collector class called ``name``; ConfigError otherwise."""
    try:
        manager: driver.DriverManager = driver.DriverManager(NAMESPACE, name, invoke_on_load=False)
    except stevedore_exc.NoMatches:
        installed = sorted(extension.ExtensionManager(NAMESPACE).names())
        raise exceptions.ConfigError(
            f"unknown collector '{name}'; installed: {', '.join(installed) or 'none'}"
        ) from None
    except ImportError as exc:
        # Installed but broken (missing dependency): say so at start-up.
        raise exceptions.ConfigError(f"collector '{name}' cannot be loaded: {exc}") from exc
    return cast("type[Collector]", manager.driver)


def get_collector(
    name: str, conf: cfg.ConfigOpts, metrics: Mapping[str, MetricDefinition]
) -> Collector:
    """Instantiate collector ``name`` with ``[collect] period/scope_key``."""
    cls = collector_class(name)
    conf.register_opts(collect_conf.opts, group=collect_conf.GROUP)
    return cls(
        conf,
        period=conf.collect.period,
        scope_key=conf.collect.scope_key,
        metrics=metrics,
    )


def load_collector(conf: cfg.ConfigOpts) -> Collector:
    """The configured collector with its validated ``[collect] metrics_conf``."""
    conf.register_opts(collect_conf.opts, group=collect_conf.GROUP)
    cls = collector_class(conf.collect.collector)
    definitions = metrics_mod.load_metrics(
        conf.collect.metrics_conf,
        scope_key=conf.collect.scope_key,
        extra_args=cls.EXTRA_ARGS,
        check=cls.check_definition,
    )
    return get_collector(conf.collect.collector, conf, definitions)
