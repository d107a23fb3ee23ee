"""Options of the [fetcher_prometheus] group: the Prometheus query that lists
the scopes to rate."""

from oslo_config import cfg

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
    cfg.StrOpt(
        "prometheus_url",
        default="",
        help="Prometheus HTTP API URL including /api/v1, e.g. http://localhost:9090/api/v1.",
    ),
    cfg.StrOpt("prometheus_user", help="User name for HTTP basic authentication."),
    cfg.StrOpt(
        "prometheus_password",
        secret=True,
        help="Password for HTTP basic authentication.",
    ),
    cfg.StrOpt("cafile", help="CA bundle used to verify the server certificate."),
    cfg.BoolOpt(
        "insecure",
        default=False,
        help="Skip TLS certificate verification (testing only).",
    ),
    cfg.IntOpt("timeout", default=60, min=1, help="Timeout in seconds of one HTTP request."),
    cfg.DictOpt(
        "filters",
        default={},
        help="Label equality filters applied to the metric, e.g. domain_id:default.",
    ),
]
