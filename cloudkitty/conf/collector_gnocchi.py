"""Options of the [collector_gnocchi] group: how the Gnocchi collector reaches
and authenticates to Gnocchi (keystone through keystoneauth, or basic auth)."""

from __future__ import annotations

from keystoneauth1 import loading
from oslo_config import cfg

GROUP = "collector_gnocchi"

#: Options shared, with the same names, by every group that talks to Gnocchi
#: ([fetcher_gnocchi] registers the same objects).
client_opts = [
    cfg.StrOpt(
        "gnocchi_auth_type",
        default="keystone",
        choices=[
            ("keystone", "Authenticate with keystoneauth (auth_type/auth_section options)."),
            ("basic", "Gnocchi basic auth: gnocchi_user and gnocchi_endpoint, no Keystone."),
        ],
        help="How to authenticate to Gnocchi.",
    ),
    cfg.StrOpt("gnocchi_user", default="", help="User name for basic auth."),
    cfg.StrOpt(
        "gnocchi_endpoint",
        default="",
        help="Gnocchi URL for basic auth, e.g. http://127.0.0.1:8041.",
    ),
    cfg.StrOpt(
        "interface",
        default="internalURL",
        help="Catalog interface of the Gnocchi endpoint (keystone auth).",
    ),
    cfg.StrOpt(
        "region_name",
        default="RegionOne",
        help="Catalog region of the Gnocchi endpoint (keystone auth).",
    ),
    cfg.IntOpt(
        "http_pool_maxsize",
        default=10,
        min=1,
        help="Connections kept open to Gnocchi; raise it with [orchestrator] max_threads.",
    ),
]


def keystoneauth_opts() -> list[cfg.Opt]:
    """keystoneauth's session and common auth options (cafile, insecure,
    timeout, auth_type, auth_section), listed for the sample generator; the
    options of the chosen auth plugin are registered when it is loaded."""
    return loading.get_session_conf_options() + loading.get_auth_common_conf_options()


opts = client_opts + keystoneauth_opts()


def register_opts(conf: cfg.ConfigOpts, group: str = GROUP) -> None:
    """Register the group on ``conf`` the way keystoneauth expects it."""
    conf.register_opts(client_opts, group=group)
    loading.register_session_conf_options(conf, group)
    loading.register_auth_conf_options(conf, group)
