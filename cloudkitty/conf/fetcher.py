"""Options of the [fetcher] group: which fetcher lists the scopes to rate."""

from oslo_config import cfg

GROUP = "fetcher"

opts = [
    cfg.StrOpt(
        "backend",
        default="keystone",
        help="Fetcher backend (entry point of cloudkitty.fetchers): keystone, source, "
        "gnocchi or prometheus.",
    ),
]
