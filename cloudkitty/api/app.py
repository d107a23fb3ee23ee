"""WSGI application factories: the Pecan app and the paste pipeline around it."""

from __future__ import annotations

import os
from typing import Any

import pecan
from oslo_config import cfg
from oslo_log import log
from oslo_middleware import cors, http_proxy_to_wsgi, request_id
from paste import deploy

from cloudkitty.api import hooks
from cloudkitty.db.engine import Database

LOG = log.getLogger(__name__)

_PACKAGED_PASTE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "etc", "api_paste.ini")


def setup_app(conf: cfg.ConfigOpts, db: Database | None = None) -> Any:
    """The bare Pecan application serving ``/``, ``/v1`` and ``/v2``."""
    from cloudkitty.api import root

    db = db if db is not None else Database.from_conf(conf)
    return pecan.make_app(
        root.RootController(),
        hooks=[hooks.ServiceHook(conf, db)],
        debug=conf.api.pecan_debug,
        force_canonical=False,
        guess_content_type_from_ext=False,
    )


# paste.deploy only carries strings from load_app() to the factories, so the
# ConfigOpts of the application being built is found through this registry.
_CONFS: dict[str, cfg.ConfigOpts] = {}
CONF_KEY = "cloudkitty_conf"


def conf_from(global_conf: dict[str, Any]) -> cfg.ConfigOpts:
    return _CONFS[global_conf[CONF_KEY]]


def app_factory(global_config: dict[str, Any], **local_conf: Any) -> Any:
    """paste ``app_factory`` of ``ck_api``."""
    return setup_app(conf_from(global_config))


def _oslo_filter(middleware: Any) -> Any:
    def factory(global_conf: dict[str, Any], **local_conf: Any) -> Any:
        conf = conf_from(global_conf)
        return lambda application: middleware(application, conf)

    return factory


cors_factory = _oslo_filter(cors.CORS)
http_proxy_to_wsgi_factory = _oslo_filter(http_proxy_to_wsgi.HTTPProxyToWSGI)
request_id_factory = _oslo_filter(request_id.RequestId)


def urlmap_factory(loader: Any, global_conf: dict[str, Any], **local_conf: Any) -> Any:
    """A minimal path-prefix dispatcher (avoids depending on Paste for urlmap)."""
    routes = sorted(
        (
            (path.rstrip("/"), loader.get_app(name, global_conf=global_conf))
            for path, name in local_conf.items()
        ),
        key=lambda item: len(item[0]),
        reverse=True,
    )

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        for prefix, app in routes:
            if prefix and (path == prefix or path.startswith(prefix + "/")):
                environ = dict(environ)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return app(environ, start_response)
            if not prefix:
                return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return dispatch


def find_paste_config(conf: cfg.ConfigOpts) -> str:
    found = conf.find_file(conf.api_paste_config)
    if found:
        return os.path.abspath(found)
    if os.path.isabs(conf.api_paste_config) and os.path.exists(conf.api_paste_config):
        return conf.api_paste_config
    return _PACKAGED_PASTE


def _register(conf: cfg.ConfigOpts) -> str:
    key = str(id(conf))
    _CONFS[key] = conf
    return key


def load_app(conf: cfg.ConfigOpts) -> Any:
    """The full WSGI pipeline chosen by ``[DEFAULT] auth_strategy``."""
    paste_file = find_paste_config(conf)
    LOG.info("Loading the API pipeline cloudkitty+%s from %s", conf.auth_strategy, paste_file)
    return deploy.loadapp(
        f"config:{paste_file}",
        name=f"cloudkitty+{conf.auth_strategy}",
        global_conf={CONF_KEY: _register(conf)},
    )
