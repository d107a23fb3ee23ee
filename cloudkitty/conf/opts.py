"""The list of every option group, for registration and the sample generator."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from oslo_config import cfg

# One module per group. Add a module here when a new group appears.
_MODULES: Sequence[str] = (
    "default",
    "api",
    "database",
    "pyscripts",
    "orchestrator",
    "collect",
    "collector_prometheus",
    "collector_file",
    "fetcher",
    "fetcher_prometheus",
    "fetcher_source",
    "collector_gnocchi",
    "fetcher_gnocchi",
    "fetcher_keystone",
    "storage",
)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Entry point of ``oslo.config.opts`` (namespace cloudkitty.common.config)."""
    result: list[tuple[str | None, list[cfg.Opt]]] = []
    for name in _MODULES:
        module = importlib.import_module(f"cloudkitty.conf.{name}")
        result.append((module.GROUP, list(module.opts)))
    return result


def set_defaults() -> None:
    """Entry point of ``oslo.config.opts.defaults``: CORS defaults clients expect."""
    from oslo_middleware import cors

    cors.set_defaults(
        allow_headers=[
            "X-Auth-Token",
            "X-Subject-Token",
            "X-Roles",
            "X-User-Id",
            "X-Domain-Id",
            "X-Project-Id",
            "X-Tenant-Id",
            "X-OpenStack-Request-ID",
        ],
        expose_headers=[
            "X-Auth-Token",
            "X-Subject-Token",
            "X-Service-Token",
            "X-OpenStack-Request-ID",
        ],
        allow_methods=["GET", "PUT", "POST", "DELETE", "PATCH"],
    )
