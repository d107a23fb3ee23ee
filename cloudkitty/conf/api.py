"""Options of the [api] group."""

from oslo_config import cfg

GROUP = "api"

opts = [
    cfg.HostAddressOpt("host", default="127.0.0.1", help="Address cloudkitty-api listens on."),
    cfg.PortOpt("port", default=8889, help="Port cloudkitty-api listens on."),
    cfg.IntOpt(
        "workers",
        default=8,
        min=1,
        help="Number of request threads of the built-in cloudkitty-api server.",
    ),
    cfg.BoolOpt(
        "pecan_debug", default=False, help="Enable Pecan's debug mode (never in production)."
    ),
]
