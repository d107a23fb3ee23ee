"""Configuration: one module per option group, registered on a ConfigOpts we
are given (never at import time on the global CONF)."""

from __future__ import annotations

from oslo_config import cfg

from cloudkitty.conf import opts


def register_all(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """Register every cloudkitty option group on ``conf`` and return it."""
    for group, options in opts.list_opts():
        conf.register_opts(options, group=group)
    return conf
