"""A collector that reports the same usage for every scope: the shape of a
real one without a real source.

``fetch`` is asked for one metric, one period and many scopes at once and
returns raw ``Sample`` objects; the base class turns them into points
(factor, offset, mutate, the four time groupby keys, checks). Entry point::

    [options.entry_points]
    cloudkitty.collector.backends =
        constant = my_package.constant:ConstantCollector
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from cloudkitty.collector import base
from cloudkitty.collector.metrics import ExtraArg, InvalidKey, MetricDefinition


class ConstantCollector(base.Collector):
    name = "constant"
    #: ``extra_args`` accepted in metrics.yml; anything else is refused at
    #: start-up with the metric and key named.
    EXTRA_ARGS = {
        "value": ExtraArg(str, "1"),
        "resource_id": ExtraArg(str, None),
    }

    @classmethod
    def check_definition(cls, definition: MetricDefinition) -> None:
        if definition.extra_args["value"].startswith("-") and not definition.allow_negative:
            raise InvalidKey("extra_args.value", "negative without allow_negative: true")

    def fetch(
        self,
        metric: MetricDefinition,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: tuple[str, ...],
    ) -> Iterable[base.Sample]:
        resource = metric.extra_args["resource_id"] or f"{metric.name}-0"
        for scope_id in scope_ids:
            # labels: values of the groupby and metadata attributes; the
            # value stays a string, converted exactly by the base class.
            labels = {"id": resource, self.scope_key: scope_id}
            yield base.Sample(scope_id, labels, metric.extra_args["value"])
