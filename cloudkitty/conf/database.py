"""Options of the [database] group (the names oslo.db uses)."""

from oslo_config import cfg

GROUP = "database"

opts = [
    cfg.StrOpt(
        "connection",
        default="sqlite:////var/lib/cloudkitty/cloudkitty.sqlite",
        secret=True,
        help="SQLAlchemy URL of the database holding rules, state and rated data.",
    ),
    cfg.IntOpt("max_pool_size", default=5, min=1, help="Connections kept in the pool."),
    cfg.IntOpt("max_overflow", default=50, min=0, help="Connections allowed beyond the pool."),
    cfg.IntOpt("pool_timeout", default=30, min=1, help="Seconds to wait for a free connection."),
    cfg.IntOpt(
        "connection_recycle_time",
        default=3600,
        help="Seconds after which a pooled connection is replaced.",
    ),
]
