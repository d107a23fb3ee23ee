"""Options of the [fetcher_keystone] group: how the Keystone fetcher lists the
projects to rate, and the keystoneauth options it authenticates with."""

from __future__ import annotations

from keystoneauth1 import loading
from oslo_config import cfg

GROUP = "fetcher_keystone"

_own_opts = [
    cfg.StrOpt(
        "keystone_version",
        default="3",
        help="Identity API version. Only 3 exists in supported Keystone releases; "
        "other values are accepted for old configuration files and use v3.",
    ),
    cfg.BoolOpt(
        "ignore_rating_role",
        default=False,
        help="Rate every project. When false, only the projects where the "
        "cloudkitty user has the 'rating' role are rated.",
    ),
    cfg.BoolOpt(
        "ignore_disabled_tenants",
        default=False,
        help="Do not rate disabled projects.",
    ),
]

opts = _own_opts + loading.get_session_conf_options() + loading.get_auth_common_conf_options()


def register_opts(conf: cfg.ConfigOpts, group: str = GROUP) -> None:
    """Register the group on ``conf`` the way keystoneauth expects it."""
    conf.register_opts(_own_opts, group=group)
    loading.register_session_conf_options(conf, group)
    loading.register_auth_conf_options(conf, group)
