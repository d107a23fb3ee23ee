"""The hashmap configuration API, mounted at ``/v1/rating/module_config/hashmap``.

The policy ``rating:module_config`` is enforced by the v1 dispatcher before
any of these controllers is reached.
"""

from __future__ import annotations

from pecan import rest

from cloudkitty.rating.hashmap.api.rules import MappingsController, ThresholdsController
from cloudkitty.rating.hashmap.api.tree import (
    FieldsController,
    GroupsController,
    ServicesController,
    TypesController,
)


class HashMapConfigController(rest.RestController):
    """The URL tree of the hashmap module, readable at a glance."""

    types = TypesController()
    services = ServicesController()
    fields = FieldsController()
    groups = GroupsController()
    mappings = MappingsController()
    thresholds = ThresholdsController()


__all__ = ["HashMapConfigController"]
