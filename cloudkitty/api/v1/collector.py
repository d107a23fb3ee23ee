"""/v1/collector: the deprecated service-to-collector mappings and
collector states, in every URL form clients use.

* mappings: ``GET /mappings[?collector=]``, ``GET /mappings/<service>``,
  ``POST /mappings`` with collector and service in the path
  (``/mappings/<collector>/<service>``), the query or a JSON body,
  ``DELETE /mappings/<service>`` or with body ``{"service": ...}``;
* states: ``/states/<name>``, ``/states?name=<name>`` (name may also be only
  in the PUT body) and ``/<name>/states``; GET and PUT (``enabled``
  mandatory).
"""

from __future__ import annotations

from typing import Any

import pecan
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api.errors import v1_expose
from cloudkitty.api.v1 import access
from cloudkitty.api.v1 import collector_store as store

# Column widths: a longer value would be a database error (500), not a 400.
_NAME_MAX = 255
_STATE_NAME_MAX = _NAME_MAX - len(store.STATE_PREFIX)


class ServiceToCollectorMapping(wtypes.Base):
    service = wtypes.text
    collector = wtypes.text


class ServiceToCollectorMappingCollection(wtypes.Base):
    mappings = [ServiceToCollectorMapping]


class CollectorInfos(wtypes.Base):
    """A collector state; ``enabled`` is mandatory in a PUT body."""

    name = wtypes.text
    enabled = wtypes.wsattr(bool, mandatory=True)


def _required(value: Any, argument: str, limit: int = _NAME_MAX) -> str:
    """A non-empty name of at most ``limit`` characters, else 400."""
    if value is None or value is wtypes.Unset or value == "":
        raise exceptions.InvalidInput(f'Missing argument: "{argument}"')
    if not isinstance(value, str):
        raise exceptions.InvalidInput(f'Invalid argument: "{argument}" must be a string')
    if len(value) > limit:
        raise exceptions.InvalidInput(f'Invalid argument: "{argument}" is longer than {limit}')
    return value


def _to_model(mapping: store.CollectorMapping) -> ServiceToCollectorMapping:
    return ServiceToCollectorMapping(service=mapping.service, collector=mapping.collector)


class MappingsController(rest.RestController):
    """``/v1/collector/mappings``."""

    @v1_expose(ServiceToCollectorMappingCollection, wtypes.text)
    def get_all(self, collector: str | None = None) -> ServiceToCollectorMappingCollection:
        access.authorize("collector:list_mappings")
        items = store.list_mappings(pecan.request.db, collector or None)
        return ServiceToCollectorMappingCollection(mappings=[_to_model(m) for m in items])

    @v1_expose(ServiceToCollectorMapping, wtypes.text)
    def get_one(self, service: str) -> ServiceToCollectorMapping:
        access.authorize("collector:get_mapping")
        return _to_model(store.get_mapping(pecan.request.db, service))

    # No body type: WSME reads a JSON body as named arguments, which is how
    # the client sends {"collector", "service"}.
    @v1_expose(ServiceToCollectorMapping, wtypes.text, wtypes.text)
    def post(
        self, collector: str | None = None, service: str | None = None
    ) -> ServiceToCollectorMapping:
        access.authorize("collector:manage_mapping")
        mapping = store.set_mapping(
            pecan.request.db, _required(service, "service"), _required(collector, "collector")
        )
        return _to_model(mapping)

    @v1_expose(None, wtypes.text, status_code=204)
    def delete(self, service: str | None = None) -> None:
        access.authorize("collector:manage_mapping")
        store.delete_mapping(pecan.request.db, _required(service, "service"))


def _state(name: str) -> CollectorInfos:
    access.authorize("collector:get_state")
    name = _required(name, "name", _STATE_NAME_MAX)
    return CollectorInfos(name=name, enabled=store.get_state(pecan.request.db, name))


def _update_state(url_name: str | None, infos: CollectorInfos | None) -> CollectorInfos:
    access.authorize("collector:update_state")
    if infos is None:
        raise exceptions.InvalidInput('Missing argument: "infos"')
    body_name = None if infos.name is wtypes.Unset else infos.name
    if url_name and body_name and url_name != body_name:
        raise exceptions.InvalidInput(
            f"name in the body ({body_name}) does not match the URL ({url_name})."
        )
    if infos.enabled is None or infos.enabled is wtypes.Unset:
        # An explicit null passes WSME's mandatory check; it is no state.
        raise exceptions.InvalidInput(
            "Invalid input for field/attribute enabled. Value: 'None'. Mandatory field missing."
        )
    name = _required(url_name or body_name, "name", _STATE_NAME_MAX)
    enabled = store.set_state(pecan.request.db, name, bool(infos.enabled))
    return CollectorInfos(name=name, enabled=enabled)


class StatesController(rest.RestController):
    """``/v1/collector/states[/<name>]`` and ``?name=<name>``."""

    @v1_expose(CollectorInfos, wtypes.text)
    def get_all(self, name: str | None = None) -> CollectorInfos:
        return _state(name or "")

    @v1_expose(CollectorInfos, wtypes.text)
    def get_one(self, name: str) -> CollectorInfos:
        return _state(name)

    @v1_expose(CollectorInfos, wtypes.text, body=CollectorInfos)
    def put(self, name: str | None = None, infos: CollectorInfos | None = None) -> CollectorInfos:
        return _update_state(name, infos)


class NamedStateController(rest.RestController):
    """``/v1/collector/<name>/states``: the name comes from the path."""

    def __init__(self, name: str) -> None:
        self.name = name

    @v1_expose(CollectorInfos)
    def get_all(self) -> CollectorInfos:
        return _state(self.name)

    @v1_expose(CollectorInfos, body=CollectorInfos)
    def put(self, infos: CollectorInfos | None = None) -> CollectorInfos:
        return _update_state(self.name, infos)


class CollectorController(rest.RestController):
    mappings = MappingsController()
    states = StatesController()

    @v1_expose(None, status_code=204)
    def get_all(self) -> None:
        """A routing stub kept from upstream: nothing to show, no policy."""

    @pecan.expose()
    def _lookup(self, name: str, *remainder: str) -> Any:
        # /v1/collector/<name>/states[/]: any other path stays a 404.
        if remainder and remainder[0] == "states":
            return NamedStateController(name), list(remainder[1:])
        return None
