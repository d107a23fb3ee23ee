"""Options of the [storage] group: which driver keeps rated data."""

from oslo_config import cfg

GROUP = "storage"

opts = [
    cfg.StrOpt(
        "backend",
        default="sqlalchemy",
        help="Storage driver (entry point of cloudkitty.storage.v2.backends). "
        "sqlalchemy keeps rated data in the [database] connection, next to the "
        "scope state, so both are committed together.",
    ),
    cfg.IntOpt(
        "version",
        default=2,
        min=1,
        max=2,
        help="Storage API version; the /v2 API is only served with version 2.",
    ),
]
