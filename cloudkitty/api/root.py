"""The URL tree: ``/`` (version discovery), ``/v1`` and ``/v2``."""

from __future__ import annotations

from typing import Any

import pecan
from oslo_config import cfg
from pecan import rest

from cloudkitty.api import openapi
from cloudkitty.api.v1 import controllers as v1
from cloudkitty.api.v2 import controllers as v2


def _storage_version(conf: Any) -> int:
    try:
        return int(conf.storage.version)
    except (AttributeError, cfg.NoSuchOptError):
        return 2


def _versions() -> list[dict[str, Any]]:
    request = pecan.request
    base = f"{request.scheme}://{request.host}"
    versions = [
        {"id": "v1", "links": [{"href": f"{base}/v1", "rel": "self"}], "status": "CURRENT"},
    ]
    if _storage_version(request.conf) >= 2:
        versions.append(
            {"id": "v2", "links": [{"href": f"{base}/v2", "rel": "self"}], "status": "EXPERIMENTAL"}
        )
    return versions


class RootController(rest.RestController):
    v1 = v1.V1Controller()
    v2 = v2.V2Controller()

    @pecan.expose("json")
    def get(self) -> dict[str, Any]:
        return {"versions": _versions()}


# Attribute names cannot hold a dot: the document routes are attached by name.
pecan.route(RootController, "openapi.yaml", openapi.YAMLController())
pecan.route(RootController, "openapi.json", openapi.JSONController())
