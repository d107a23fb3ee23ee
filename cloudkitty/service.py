"""Process set-up shared by every entry point: config files, logging, defaults."""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg
from oslo_log import log

from cloudkitty import conf as ck_conf
from cloudkitty.conf import opts


def prepare_service(
    argv: Sequence[str] | None = None,
    conf: cfg.ConfigOpts | None = None,
    default_config_files: Sequence[str] | None = None,
) -> cfg.ConfigOpts:
    """Parse config files and command line into ``conf`` (global CONF by default).

    The global CONF is the default because oslo.messaging registers some of its
    options there only.
    """
    conf = cfg.CONF if conf is None else conf
    if not _registered(conf):
        ck_conf.register_all(conf)
        log.register_options(conf)
    opts.set_defaults()
    log.set_defaults(default_log_levels=log.get_default_log_levels() + ["stevedore=INFO"])
    conf(
        list(argv or []),
        project="cloudkitty",
        validate_default_values=True,
        default_config_files=default_config_files,
    )
    log.setup(conf, "cloudkitty")
    return conf


def _registered(conf: cfg.ConfigOpts) -> bool:
    try:
        conf.api  # noqa: B018 - attribute access checks registration
    except cfg.NoSuchOptError:
        return False
    return True
