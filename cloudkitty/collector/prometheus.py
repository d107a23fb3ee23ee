"""The Prometheus collector: one instant PromQL query per metric and period
for many scopes, evaluated at the period end, split by the scope label.

Query shape (P = period length in seconds)::

    [<prefix> ]<agg>([<query_function>(]<range_function or agg_over_time>(
        <metric>{<scope matcher>}[<P>s])[)]) by (<groupby>, <metadata>)[ <suffix>]

Batching: the scopes of one call go into one label matcher,
``scope_key="id"`` for one scope and ``scope_key=~"id1|id2"`` (each id
regex-escaped) for several. Prometheus then returns only the asked scopes,
so one query's answer stays proportional to the scopes asked, not to all
the scopes of the cloud; long lists are cut in chunks to bound the URL.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.collector import base
from cloudkitty.collector.metrics import ExtraArg, InvalidKey, MetricDefinition
from cloudkitty.conf import collector_prometheus
from cloudkitty.utils import prometheus_api

LOG = logging.getLogger(__name__)

AGGREGATIONS = ("avg", "count", "max", "min", "stddev", "stdvar", "sum")
QUERY_FUNCTIONS = ("abs", "ceil", "exp", "floor", "ln", "log2", "log10", "round", "sqrt")
# "irange" is not a PromQL function but upstream accepts it; a query using it
# fails loudly at Prometheus, and existing metrics.yml files still load.
RANGE_FUNCTIONS = ("changes", "delta", "deriv", "idelta", "irange", "irate", "rate")

#: Longest scope alternation put in one query; beyond, scopes are chunked.
#: About 110 UUID scope ids, and a URL well under the common 8 KiB limit.
MAX_MATCHER_CHARS = 4000


def build_query(metric: MetricDefinition, matcher: str, seconds: int) -> str:
    """The PromQL of ``metric`` over ``seconds`` for the series ``matcher`` selects."""
    args = metric.extra_args
    aggregation = args.get("aggregation_method", "max")
    range_function = args.get("range_function") or f"{aggregation}_over_time"
    inner = f"{range_function}({metric.metric}{{{matcher}}}[{seconds}s])"
    if args.get("query_function"):
        inner = f"{args['query_function']}({inner})"
    query = f"{aggregation}({inner}) by ({', '.join((*metric.groupby, *metric.metadata))})"
    if args.get("query_prefix"):
        query = f"{args['query_prefix']} {query}"
    if args.get("query_suffix"):
        query = f"{query} {args['query_suffix']}"
    return query


def chunk_scopes(scope_ids: Sequence[str], limit: int = MAX_MATCHER_CHARS) -> Iterator[list[str]]:
    """Split ``scope_ids`` so each chunk's escaped alternation fits ``limit``."""
    chunk: list[str] = []
    size = 0
    for scope_id in scope_ids:
        length = len(prometheus_api.quote(prometheus_api.regex_escape(scope_id))) + 1
        if chunk and size + length > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(scope_id)
        size += length
    if chunk:
        yield chunk


class PrometheusCollector(base.Collector):
    """Collects from a Prometheus HTTP API (``[collector_prometheus]``)."""

    name = "prometheus"
    conf_module: ClassVar[ModuleType | None] = collector_prometheus
    EXTRA_ARGS = {
        "aggregation_method": ExtraArg(str, "max", AGGREGATIONS),
        "query_function": ExtraArg(str, None, QUERY_FUNCTIONS),
        "range_function": ExtraArg(str, None, RANGE_FUNCTIONS),
        "query_prefix": ExtraArg(str, ""),
        "query_suffix": ExtraArg(str, ""),
    }

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        *,
        period: int,
        scope_key: str,
        metrics: Mapping[str, MetricDefinition],
        session: Any = None,
    ) -> None:
        super().__init__(conf, period=period, scope_key=scope_key, metrics=metrics)
        if not prometheus_api.is_label_name(scope_key):
            raise exceptions.ConfigError(
                f"[collect] scope_key: '{scope_key}' is not a Prometheus label name"
            )
        options = self.options
        if not options.prometheus_url:
            raise exceptions.ConfigError(
                "[collector_prometheus] prometheus_url: required by the prometheus collector "
                "(e.g. http://localhost:9090/api/v1)"
            )
        self.client = prometheus_api.PrometheusClient(
            options.prometheus_url,
            user=options.prometheus_user,
            password=options.prometheus_password,
            cafile=options.cafile,
            insecure=options.insecure,
            timeout=options.timeout,
            session=session,
        )

    @classmethod
    def check_definition(cls, definition: MetricDefinition) -> None:
        # Names go into the query as code, so they must be valid identifiers.
        if not prometheus_api.is_metric_name(definition.metric):
            raise InvalidKey("metric", f"'{definition.metric}' is not a Prometheus metric name")
        for key in ("groupby", "metadata"):
            for name in getattr(definition, key):
                if not prometheus_api.is_label_name(name):
                    raise InvalidKey(key, f"'{name}' is not a Prometheus label name")

    def close(self) -> None:
        self.client.close()

    def fetch(
        self,
        metric: MetricDefinition,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: tuple[str, ...],
    ) -> Iterable[base.Sample]:
        seconds = int((end - start).total_seconds())
        samples: list[base.Sample] = []
        for chunk in chunk_scopes(scope_ids):
            samples.extend(self._fetch_chunk(metric, end, seconds, chunk))
        return samples

    def _fetch_chunk(
        self, metric: MetricDefinition, end: datetime.datetime, seconds: int, scopes: list[str]
    ) -> list[base.Sample]:
        matcher = prometheus_api.label_matcher(self.scope_key, scopes)
        items = self.client.query(build_query(metric, matcher, seconds), end)
        samples = self.parse_result(items, scopes)
        if samples is not None:
            return samples
        # A prefix/suffix dropped the scope label: the answer cannot be split
        # by scope, so ask again one scope at a time (correct, just slower).
        LOG.warning(
            "metric %s: results without label %s; querying %d scopes one by one",
            metric.key,
            self.scope_key,
            len(scopes),
        )
        single: list[base.Sample] = []
        for scope in scopes:
            matcher = prometheus_api.label_matcher(self.scope_key, [scope])
            items = self.client.query(build_query(metric, matcher, seconds), end)
            single.extend(self.parse_result(items, [scope]) or [])
        return single

    def parse_result(
        self, items: Iterable[Mapping[str, Any]], scopes: Sequence[str]
    ) -> list[base.Sample] | None:
        """Samples of a query's result items; None when an item lacks the
        scope label while several scopes were asked (cannot be attributed)."""
        samples = []
        for item in items:
            labels = item["metric"]
            scope = labels.get(self.scope_key)
            if scope is None:
                if len(scopes) != 1:
                    return None
                # One scope asked: the answer is that scope's (fixes upstream
                # blanking the scope id when the label is absent).
                scope = scopes[0]
            # The value string goes straight to Decimal later, never a float.
            samples.append(base.Sample(scope_id=scope, labels=labels, value=item["value"][1]))
        return samples
