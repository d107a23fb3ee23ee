"""/v1/rating: modules, reload, quote, and each module's configuration tree."""

from __future__ import annotations

import decimal
import json
from typing import Any

import pecan
import webob
import wsme
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api.errors import v1_expose
from cloudkitty.api.modules import get_module, list_modules, update_module
from cloudkitty.api.v1 import faults
from cloudkitty.api.v1.quote import price_quote
from cloudkitty.policies.enforcer import authorize
from cloudkitty.rating import base


class CloudkittyModule(wtypes.Base):
    """A rating module as v1 shows it (note the ``hot-config`` spelling)."""

    module_id = wtypes.wsattr(wtypes.text, mandatory=True)
    description = wtypes.wsattr(wtypes.text)
    enabled = wtypes.wsattr(bool)
    hot_config = wtypes.wsattr(bool, name="hot-config")
    priority = wtypes.wsattr(int)


class CloudkittyModuleCollection(wtypes.Base):
    modules = [CloudkittyModule]


def _authorize(rule: str) -> None:
    authorize(pecan.request.conf, pecan.request.context, rule)


class ModulesController(rest.RestController):
    @v1_expose(CloudkittyModuleCollection)
    def get_all(self) -> CloudkittyModuleCollection:
        _authorize("rating:list_modules")
        return CloudkittyModuleCollection(modules=[CloudkittyModule(**m) for m in list_modules()])

    @v1_expose(CloudkittyModule, wtypes.text)
    def get_one(self, module_id: str) -> CloudkittyModule:
        _authorize("rating:get_module")
        return CloudkittyModule(**get_module(module_id))

    @v1_expose(None, wtypes.text, body=CloudkittyModule, status_code=302)
    def put(self, module_id: str | None, module: CloudkittyModule) -> None:
        _authorize("rating:update_module")
        module_id = module_id or module.module_id
        enabled = None if module.enabled is wtypes.Unset else module.enabled
        priority = None if module.priority is wtypes.Unset else module.priority
        update_module(module_id, enabled, priority)
        pecan.response.location = pecan.request.url


class ModuleConfigController:
    """Dispatches ``/module_config/<module>/...`` to the module's own controller."""

    @pecan.expose()
    def _lookup(self, module_name: str, *remainder: str) -> Any:
        try:
            _authorize("rating:module_config")
        except exceptions.Forbidden as error:
            return faults.ErrorController(403, str(error)), ()
        classes = base.module_classes()
        if module_name not in classes:
            return faults.ErrorController(404, f"Module not found: {module_name}"), ()
        controller = classes[module_name].config_controller()
        if controller is None:
            return faults.ErrorController(409, "Module is not configurable"), ()
        # A list: Pecan compares the remainder with [""] (trailing slash).
        return controller, list(remainder)


class ReloadModulesController(rest.RestController):
    @v1_expose(None, status_code=204)
    def get_all(self) -> None:
        # Rules are read fresh for every rating pass and every quote, so there
        # is nothing to reload; the route stays for client compatibility.
        _authorize("rating:module_config")


class QuoteController(rest.RestController):
    @pecan.expose()
    def post(self, *args: Any, **kwargs: Any) -> Any:
        try:
            _authorize("rating:quote")
            body = json.loads(pecan.request.body or b"null", parse_float=decimal.Decimal)
            total = price_quote(pecan.request.conf, pecan.request.db, pecan.request.context, body)
        except ValueError:
            return faults.fault(400, "Request is not in valid JSON format")
        except exceptions.Forbidden as error:
            return faults.fault(403, str(error))
        except exceptions.InvalidInput as error:
            return faults.fault(400, str(error))
        except exceptions.CloudkittyError as error:
            return faults.fault(500, str(error))
        # A JSON number written from the Decimal's text: no float on the way.
        response = webob.Response(status=200, content_type="application/json", charset="UTF-8")
        response.text = format(total, "f")
        return response


class RatingController(rest.RestController):
    modules = ModulesController()
    module_config = ModuleConfigController()
    reload_modules = ReloadModulesController()
    quote = QuoteController()


__all__ = ["RatingController", "wsme"]
