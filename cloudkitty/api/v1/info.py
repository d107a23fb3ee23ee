"""/v1/info: the metrics this service rates, from ``[collect] metrics_conf``.

``/metrics`` lists each definition as ``{metric_id, metadata, unit}`` where
``metric_id`` is the ``alt_name`` (default: the metric name) and
``metadata`` is the definition's own ``metadata`` list in file order
(upstream deduplicated it through a set, so its order changed between
calls). ``/services`` is the deprecated alias of ``/metrics``; ``/config``
is the raw YAML document as JSON.
"""

from __future__ import annotations

from typing import Any

import wsme.exc
from oslo_log import log
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api.errors import v1_expose
from cloudkitty.api.v1 import access, backends, render
from cloudkitty.collector.metrics import MetricDefinition

LOG = log.getLogger(__name__)

#: Upstream's answer (405) when metrics.yml does not validate.
INVALID_CONF = "Invalid endpoint: no metrics in current configuration."


class CloudkittyMetricInfo(wtypes.Base):
    """One rated metric as the client's ``info metric`` commands show it."""

    metric_id = wtypes.text
    metadata = [wtypes.text]
    unit = wtypes.text


class CloudkittyMetricInfoCollection(wtypes.Base):
    metrics = [CloudkittyMetricInfo]


def _to_info(definition: MetricDefinition) -> CloudkittyMetricInfo:
    return CloudkittyMetricInfo(
        metric_id=definition.name,
        metadata=list(definition.metadata),
        unit=definition.unit,
    )


def _definitions() -> list[MetricDefinition]:
    try:
        return backends.metric_definitions()
    except backends.InvalidMetricsConf as error:
        # The client only shows the faultstring: keep upstream's words and
        # put the precise reason where the operator looks, in the log.
        LOG.warning("Invalid metrics configuration: %s", error)
        raise wsme.exc.ClientSideError(INVALID_CONF, status_code=405) from None


def _find(definitions: list[MetricDefinition], metric_id: str) -> MetricDefinition:
    """The definition answering to ``metric_id``.

    ``metric_id`` is the name the API lists (alt_name, else metric). A source
    metric name is accepted too when it has exactly one definition, so
    ``info metric get cpu`` works for ``cpu`` renamed to ``instance``.
    """
    for definition in definitions:
        if definition.name == metric_id:
            return definition
    by_source = [d for d in definitions if d.metric == metric_id]
    if len(by_source) == 1:
        return by_source[0]
    raise exceptions.NotFound(metric_id)


class MetricsController(rest.RestController):
    """``/v1/info/metrics[/<metric_id>]`` (also mounted as ``/services``)."""

    @v1_expose(CloudkittyMetricInfoCollection)
    def get_all(self) -> CloudkittyMetricInfoCollection:
        access.authorize("info:list_metrics_info")
        return CloudkittyMetricInfoCollection(metrics=[_to_info(d) for d in _definitions()])

    @v1_expose(CloudkittyMetricInfo, wtypes.text)
    def get_one(self, metric_id: str) -> CloudkittyMetricInfo:
        access.authorize("info:get_metric_info")
        return _to_info(_find(_definitions(), metric_id))


class ConfigController(rest.RestController):
    """``/v1/info/config``: the metrics.yml document, unvalidated."""

    @v1_expose(render.JSON)
    def get_all(self) -> Any:
        access.authorize("info:get_config")
        return render.json_safe(backends.raw_metrics_document())


class InfoController(rest.RestController):
    metrics = MetricsController()
    # Deprecated alias: same output and, as upstream, the metrics policies.
    services = metrics
    config = ConfigController()
