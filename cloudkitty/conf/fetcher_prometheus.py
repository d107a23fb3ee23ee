"""Options of the [fetcher_prometheus] group: the Prometheus query that lists
the scopes to rate."""

from oslo_config import cfg

from cloudkitty.conf import collector_prometheus

GROUP = "fetcher_prometheus"

opts = [
    cfg.StrOpt(
        "metric",
        help="Metric whose label values are the scope ids, e.g. openstack_identity_project_info.",
    ),
    cfg.StrOpt(
        "scope_attribute",
        default="project_id",
        help="Label of that metric holding the scope id.",
    ),
    *collector_prometheus.connection_opts(),
    cfg.DictOpt(
        "filters",
        default={},
        help="Label equality filters applied to the metric, e.g. domain_id:default.",
    ),
]
