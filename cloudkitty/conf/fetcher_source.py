"""Options of the [fetcher_source] group: a static list of scopes."""

from oslo_config import cfg

GROUP = "fetcher_source"

opts = [
    cfg.ListOpt("sources", default=[], help="Scope ids to rate."),
]
