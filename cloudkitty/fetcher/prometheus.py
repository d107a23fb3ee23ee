"""The Prometheus fetcher: the distinct values of one label of one metric.

Instant query ``max(<metric>{<filters>}) by (<scope_attribute>)`` evaluated
now; filter values are quoted as PromQL strings (data, never code).
"""

from __future__ import annotations

import datetime
from types import ModuleType
from typing import Any, ClassVar

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.conf import fetcher_prometheus
from cloudkitty.fetcher import base
from cloudkitty.utils import prometheus_api, tz


class PrometheusFetcher(base.Fetcher):
    """Lists scopes from ``[fetcher_prometheus]``."""

    name = "prometheus"
    conf_module: ClassVar[ModuleType | None] = fetcher_prometheus

    def __init__(self, conf: cfg.ConfigOpts, *, session: Any = None) -> None:
        super().__init__(conf)
        options = self.options
        group = f"[{fetcher_prometheus.GROUP}]"
        if not options.metric:
            raise exceptions.ConfigError(f"{group} metric: required by the prometheus fetcher")
        if not prometheus_api.is_metric_name(options.metric):
            raise exceptions.ConfigError(
                f"{group} metric: '{options.metric}' is not a Prometheus metric name"
            )
        names = [options.scope_attribute, *options.filters]
        for name in names:
            if not prometheus_api.is_label_name(name):
                raise exceptions.ConfigError(f"{group}: '{name}' is not a Prometheus label name")
        if not options.prometheus_url:
            raise exceptions.ConfigError(
                f"{group} prometheus_url: required by the prometheus fetcher"
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

    def build_query(self) -> str:
        options = self.options
        # Sorted so the query text is stable whatever the config dict order.
        filters = ", ".join(
            f"{key}={prometheus_api.quote(str(value))}"
            for key, value in sorted(options.filters.items())
        )
        return f"max({options.metric}{{{filters}}}) by ({options.scope_attribute})"

    def get_scopes(self, at: datetime.datetime | None = None) -> list[str]:
        try:
            items = self.client.query(self.build_query(), at or tz.utcnow())
        except exceptions.SourceError as exc:
            raise base.FetcherError(f"prometheus fetcher: {exc}", exc) from exc
        scopes = {item["metric"].get(self.options.scope_attribute) for item in items}
        # Series without the label have no scope to rate.
        return sorted(s for s in scopes if s)

    def close(self) -> None:
        self.client.close()
