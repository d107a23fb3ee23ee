"""``/services``, ``/fields``, ``/groups`` and ``/types``: what rules hang on."""

from __future__ import annotations

from pecan import rest
from wsme import types as wtypes

from cloudkitty.api import resource
from cloudkitty.api.errors import v1_expose
from cloudkitty.rating.hashmap import repository as repo
from cloudkitty.rating.hashmap import repository_mappings as mappings_repo
from cloudkitty.rating.hashmap import repository_thresholds as thresholds_repo
from cloudkitty.rating.hashmap.api import datamodels as models
from cloudkitty.rating.hashmap.api.rules import MappingsController


class TypesController(rest.RestController):
    @v1_expose([wtypes.text])
    def get_all(self) -> list[str]:
        return list(repo.MAP_TYPES)


class FieldsController(rest.RestController):
    """Also mounted as ``/services/<id>/fields`` (the id arrives first)."""

    @v1_expose(models.FieldCollection, wtypes.text)
    def get_all(self, service_id: str) -> models.FieldCollection:
        items = repo.list_fields(resource.db(), service_id)
        return models.FieldCollection(fields=[models.to_field(f) for f in items])

    @v1_expose(models.Field, wtypes.text)
    def get_one(self, field_id: str) -> models.Field:
        return models.to_field(repo.get_field(resource.db(), field_id))

    @v1_expose(models.Field, body=models.Field, status_code=201)
    def post(self, field: models.Field | None = None) -> models.Field:
        field = resource.require_body(field, "field")
        created = repo.create_field(resource.db(), field.service_id, field.name)
        resource.set_location(created.field_id)
        return models.to_field(created)

    @v1_expose(None, wtypes.text, status_code=204)
    def delete(self, field_id: str) -> None:
        repo.delete_field(resource.db(), field_id)


class ServicesController(rest.RestController):
    # Pecan hands the service id of /services/<id>/fields (or /mappings) to
    # these controllers' get_all as their first argument.
    fields = FieldsController()
    mappings = MappingsController()

    @v1_expose(models.ServiceCollection)
    def get_all(self) -> models.ServiceCollection:
        items = repo.list_services(resource.db())
        return models.ServiceCollection(services=[models.to_service(s) for s in items])

    @v1_expose(models.Service, wtypes.text)
    def get_one(self, service_id: str) -> models.Service:
        return models.to_service(repo.get_service(resource.db(), service_id))

    @v1_expose(models.Service, body=models.Service, status_code=201)
    def post(self, service: models.Service | None = None) -> models.Service:
        service = resource.require_body(service, "service")
        created = repo.create_service(resource.db(), service.name)
        resource.set_location(created.service_id)
        return models.to_service(created)

    @v1_expose(None, wtypes.text, status_code=204)
    def delete(self, service_id: str) -> None:
        repo.delete_service(resource.db(), service_id)


class GroupsController(rest.RestController):
    _custom_actions = {"mappings": ["GET"], "thresholds": ["GET"]}

    @v1_expose(models.GroupCollection)
    def get_all(self) -> models.GroupCollection:
        items = repo.list_groups(resource.db())
        return models.GroupCollection(groups=[models.to_group(g) for g in items])

    @v1_expose(models.Group, wtypes.text)
    def get_one(self, group_id: str) -> models.Group:
        return models.to_group(repo.get_group(resource.db(), group_id))

    @v1_expose(models.MappingCollection, wtypes.text)
    def mappings(self, group_id: str) -> models.MappingCollection:
        """``/groups/mappings?group_id=<id>`` or ``/groups/<id>/mappings``."""
        items = mappings_repo.list_group_mappings(resource.db(), group_id)
        return models.MappingCollection(mappings=[models.to_mapping(m) for m in items])

    @v1_expose(models.ThresholdCollection, wtypes.text)
    def thresholds(self, group_id: str) -> models.ThresholdCollection:
        items = thresholds_repo.list_group_thresholds(resource.db(), group_id)
        return models.ThresholdCollection(thresholds=[models.to_threshold(t) for t in items])

    @v1_expose(models.Group, body=models.Group, status_code=201)
    def post(self, group: models.Group | None = None) -> models.Group:
        group = resource.require_body(group, "group")
        created = repo.create_group(resource.db(), group.name)
        resource.set_location(created.group_id)
        return models.to_group(created)

    @v1_expose(None, wtypes.text, bool, status_code=204)
    def delete(self, group_id: str, recursive: bool = False) -> None:
        repo.delete_group(resource.db(), group_id, recursive=bool(recursive))
