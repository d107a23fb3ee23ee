"""Options of the [pyscripts] group: limits of the isolated script runner."""

from oslo_config import cfg

GROUP = "pyscripts"

opts = [
    cfg.IntOpt(
        "cpu_time_limit",
        default=10,
        min=1,
        help="CPU seconds a rating script may use for one frame.",
    ),
    cfg.IntOpt(
        "wall_time_limit",
        default=30,
        min=1,
        help="Wall-clock seconds a rating script may take for one frame.",
    ),
    cfg.IntOpt(
        "memory_limit_mb",
        default=512,
        min=64,
        help="Address-space limit, in MiB, of the process running scripts.",
    ),
]
