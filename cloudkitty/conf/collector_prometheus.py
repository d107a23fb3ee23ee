"""Options of the [collector_prometheus] group: where and how to reach the
Prometheus HTTP API the collector queries."""

from oslo_config import cfg

GROUP = "collector_prometheus"


def connection_opts() -> list[cfg.Opt]:
    """New instances of the options that reach a Prometheus HTTP API.

    The scope fetcher's group has the same options (``[fetcher_prometheus]``).
    """
    return [
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
    ]


opts = connection_opts()
