"""Options of the [collect] group: which collector runs, on what period, with
which metric definitions."""

from oslo_config import cfg

GROUP = "collect"

opts = [
    cfg.StrOpt(
        "collector",
        default="gnocchi",
        help="Collector backend (entry point of cloudkitty.collector.backends): "
        "gnocchi, prometheus or file.",
    ),
    cfg.IntOpt(
        "period",
        default=3600,
        min=1,
        help="Length in seconds of one collect period; every period is rated once.",
    ),
    cfg.IntOpt(
        "wait_periods",
        default=2,
        min=0,
        help="Number of periods to wait after a period starts before rating it, so "
        "late measures reach the source first.",
    ),
    cfg.StrOpt(
        "metrics_conf",
        default="/etc/cloudkitty/metrics.yml",
        help="YAML file defining the metrics to collect (see the metrics.yml format).",
    ),
    cfg.StrOpt(
        "scope_key",
        default="project_id",
        help="Attribute/label that identifies a scope in the collected data; it is "
        "added to the groupby of every metric.",
    ),
]
