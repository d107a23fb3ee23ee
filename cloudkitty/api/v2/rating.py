"""/v2/rating/modules: list, show and update rating modules."""

from __future__ import annotations

import json
from typing import Any

import pecan
from pecan import rest

from cloudkitty import exceptions
from cloudkitty.api import modules
from cloudkitty.api.errors import v2_expose
from cloudkitty.api.v2 import encoding
from cloudkitty.policies.enforcer import authorize

_UPDATABLE = {"enabled", "priority"}


def _v2_view(module: dict[str, Any]) -> dict[str, Any]:
    return {
        "module_id": module["module_id"],
        "description": module["description"],
        "enabled": module["enabled"],
        "hot_config": module["hot_config"],
        "priority": module["priority"],
    }


def _body() -> dict[str, Any]:
    try:
        body = json.loads(pecan.request.body or b"{}")
    except ValueError:
        raise exceptions.InvalidInput("Request is not in valid JSON format") from None
    if not isinstance(body, dict):
        raise exceptions.InvalidInput("The request body must be a JSON object")
    return body


class ModulesController(rest.RestController):
    @v2_expose()
    def get_all(self, **params: Any) -> Any:
        # Upstream registered v2_rating:list_modules but never checked it.
        authorize(pecan.request.conf, pecan.request.context, "v2_rating:list_modules")
        if params:
            raise exceptions.InvalidInput("extra keys not allowed")
        return {"modules": [_v2_view(m) for m in modules.list_modules()]}

    @v2_expose()
    def get_one(self, module_id: str) -> Any:
        authorize(pecan.request.conf, pecan.request.context, "v2_rating:get_module")
        try:
            return _v2_view(modules.get_module(module_id))
        except exceptions.NotFound:
            raise exceptions.NotFound(f"Module '{module_id}' not found") from None

    @v2_expose()
    def put(self, module_id: str) -> Any:
        authorize(pecan.request.conf, pecan.request.context, "v2_rating:update_module")
        body = _body()
        extra = set(body) - _UPDATABLE
        if extra:
            raise exceptions.InvalidInput(f"extra keys not allowed: {sorted(extra)}")
        enabled = body.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise exceptions.InvalidInput("enabled must be a boolean")
        priority = body.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
            raise exceptions.InvalidInput("priority must be an integer >= 1")
        try:
            modules.update_module(module_id, enabled, priority)
        except exceptions.NotFound:
            raise exceptions.NotFound(f"Module '{module_id}' not found") from None
        # A 204 carries no body (the JSON renderer would write "null").
        return encoding.no_content()


class RatingController(rest.RestController):
    modules = ModulesController()
