"""Options of the [fetcher_gnocchi] group: which resources list the scopes,
and how to reach Gnocchi (same option names as [collector_gnocchi])."""

from __future__ import annotations

from keystoneauth1 import loading
from oslo_config import cfg

from cloudkitty.conf import collector_gnocchi

GROUP = "fetcher_gnocchi"

_own_opts = [
    cfg.StrOpt(
        "scope_attribute",
        default="project_id",
        help="Resource attribute whose distinct values are the scopes to rate.",
    ),
    cfg.ListOpt(
        "resource_types",
        default=["generic"],
        help="Gnocchi resource types searched for scopes ('generic' covers every type).",
    ),
]

opts = _own_opts + collector_gnocchi.client_opts + collector_gnocchi.keystoneauth_opts()


def register_opts(conf: cfg.ConfigOpts, group: str = GROUP) -> None:
    """Register the group on ``conf`` the way keystoneauth expects it."""
    conf.register_opts(_own_opts + collector_gnocchi.client_opts, group=group)
    loading.register_session_conf_options(conf, group)
    loading.register_auth_conf_options(conf, group)
