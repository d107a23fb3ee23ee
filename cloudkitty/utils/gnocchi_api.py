"""Talking to Gnocchi: a gnocchiclient built from a config group (keystone
or basic auth), Gnocchi errors mapped to source errors, paginated search.

Shared by the Gnocchi collector and the Gnocchi fetcher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests.adapters
from gnocchiclient import auth as gnocchi_auth
from gnocchiclient import exceptions as gexc
from gnocchiclient.v1 import client as gnocchi_client
from keystoneauth1 import exceptions as kexc
from keystoneauth1 import loading
from oslo_config import cfg

from cloudkitty import exceptions

#: Resources per search page (Gnocchi's default [api] max_limit is 1000).
SEARCH_PAGE = 1000


def make_client(conf: cfg.ConfigOpts, group: str) -> Any:
    """A gnocchiclient v1 client configured from ``[group]`` (keystone or basic)."""
    options = conf[group]
    if options.gnocchi_auth_type == "basic":
        if not options.gnocchi_endpoint:
            raise exceptions.ConfigError(f"[{group}] gnocchi_endpoint: required for basic auth")
        auth = gnocchi_auth.GnocchiBasicPlugin(
            user=options.gnocchi_user or "admin", endpoint=options.gnocchi_endpoint
        )
    else:
        auth = loading.load_auth_from_conf_options(conf, group)
        if auth is None:
            raise exceptions.ConfigError(
                f"[{group}] auth_type (or auth_section): required for keystone auth"
            )
    session = loading.load_session_from_conf_options(conf, group, auth=auth)
    # One pool per scheme, sized for the worker's collection threads.
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=options.http_pool_maxsize)
    session.session.mount("http://", adapter)
    session.session.mount("https://", adapter)
    return gnocchi_client.Client(
        session=session,
        adapter_options={
            "interface": options.interface,
            "region_name": options.region_name,
            "connect_retries": 3,
        },
    )


class NoData(Exception):
    """Gnocchi said it has no metric for the query: no usage, not an error."""


def call(what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` with Gnocchi/keystoneauth errors translated."""
    unreachable = (
        gexc.ConnectionFailure,
        gexc.ConnectionTimeout,
        gexc.UnknownConnectionError,
        gexc.SSLError,
        kexc.ConnectionError,
    )
    try:
        return func(*args, **kwargs)
    except gexc.MetricNotFound as exc:
        raise NoData(str(exc)) from exc
    except gexc.BadRequest as exc:
        # Some Gnocchi releases answer 400 {"cause": "Metrics not found"}.
        if "Metrics not found" in str(exc):
            raise NoData(str(exc)) from exc
        raise exceptions.BadSourceAnswer(f"gnocchi {what}: {exc}", exc) from exc
    except unreachable as exc:
        raise exceptions.SourceUnreachable(f"gnocchi {what}: {exc}", exc) from exc
    except (gexc.ClientException, kexc.ClientException, ValueError, KeyError) as exc:
        status = getattr(exc, "code", None) or getattr(exc, "http_status", None)
        if status in exceptions.UNAVAILABLE_STATUSES:
            raise exceptions.SourceUnreachable(f"gnocchi {what}: {exc}", exc) from exc
        raise exceptions.BadSourceAnswer(f"gnocchi {what}: {exc}", exc) from exc


def search_all(
    client: Any, resource_type: str, query: Mapping[str, Any]
) -> Iterable[Mapping[str, Any]]:
    """Every resource matching ``query``, page after page (marker = last id)."""
    marker = None
    while True:
        try:
            page = call(
                "resource search",
                client.resource.search,
                resource_type=resource_type,
                query=dict(query),
                details=True,
                limit=SEARCH_PAGE,
                marker=marker,
                sorts=["id:asc"],
            )
        except NoData:
            return
        yield from page
        if len(page) < SEARCH_PAGE:
            return
        marker = page[-1]["id"]
