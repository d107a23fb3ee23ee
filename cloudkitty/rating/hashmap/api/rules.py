"""``/mappings`` and ``/thresholds``: the rules, with the v1 wire behaviour.

POST answers 201 with the rule and its ``Location``; PUT answers 302 with an
empty body (the id may be in the URL or only in the body); DELETE answers 204
(the id may be in the URL or in a JSON body).
"""

from __future__ import annotations

import datetime

from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import resource
from cloudkitty.api.errors import v1_expose
from cloudkitty.rating.hashmap import repository_mapping_updates as mapping_updates
from cloudkitty.rating.hashmap import repository_mappings as mappings_repo
from cloudkitty.rating.hashmap import repository_thresholds as thresholds_repo
from cloudkitty.rating.hashmap.api import datamodels as models

given = resource.given


class MappingsController(rest.RestController):
    """Also mounted as ``/services/<id>/mappings`` (the id arrives first)."""

    _custom_actions = {"group": ["GET"]}

    @v1_expose(
        models.MappingCollection,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        bool,
        wtypes.text,
        bool,
        bool,
        datetime.datetime,
        datetime.datetime,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        bool,
        bool,
    )
    def get_all(
        self,
        service_id: str | None = None,
        field_id: str | None = None,
        group_id: str | None = None,
        no_group: bool = False,
        tenant_id: str | None = None,
        filter_tenant: bool = False,
        deleted: bool = False,
        start: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        updated_by: str | None = None,
        created_by: str | None = None,
        deleted_by: str | None = None,
        description: str | None = None,
        is_active: bool | None = None,
        all: bool = True,
    ) -> models.MappingCollection:
        if not all and not (service_id or field_id or group_id):
            raise exceptions.InvalidInput(
                "You must specify either service_id, field_id or group_id."
            )
        flt = mappings_repo.MappingFilter(
            service_id=service_id,
            field_id=field_id,
            group_id=group_id,
            no_group=bool(no_group),
            tenant_id=tenant_id,
            filter_tenant=bool(filter_tenant),
            deleted=bool(deleted),
            start=start,
            end=end,
            created_by=created_by,
            updated_by=updated_by,
            deleted_by=deleted_by,
            description=description,
            is_active=is_active,
        )
        items = mappings_repo.list_mappings(resource.db(), flt)
        return models.MappingCollection(mappings=[models.to_mapping(m) for m in items])

    @v1_expose(models.Mapping, wtypes.text)
    def get_one(self, mapping_id: str) -> models.Mapping:
        return models.to_mapping(mappings_repo.get_mapping(resource.db(), mapping_id))

    @v1_expose(models.Group, wtypes.text)
    def group(self, mapping_id: str) -> models.Group:
        return models.to_group(mappings_repo.get_mapping_group(resource.db(), mapping_id))

    @v1_expose(models.Mapping, bool, body=models.Mapping, status_code=201)
    def post(self, force: bool = False, mapping: models.Mapping | None = None) -> models.Mapping:
        mapping = resource.require_body(mapping, "mapping")
        created = mappings_repo.create_mapping(
            resource.db(),
            cost=given(mapping.cost),
            user=resource.audit_user(),
            map_type=given(mapping.map_type),
            service_id=given(mapping.service_id),
            field_id=given(mapping.field_id),
            group_id=given(mapping.group_id),
            tenant_id=given(mapping.tenant_id),
            value=given(mapping.value),
            start=given(mapping.start),
            end=given(mapping.end),
            name=given(mapping.name),
            description=given(mapping.description),
            force=bool(force),
        )
        resource.set_location(created.mapping_id)
        return models.to_mapping(created)

    @v1_expose(None, wtypes.text, body=models.Mapping, status_code=302)
    def put(self, mapping_id: str | None = None, mapping: models.Mapping | None = None) -> None:
        mapping = resource.require_body(mapping, "mapping")
        target = resource.target_id(mapping_id, mapping.mapping_id, "mapping_id")
        changes = resource.present(mapping, models.MAPPING_INPUTS)
        mapping_updates.update_mapping(resource.db(), target, changes, resource.audit_user())
        resource.set_location(target)

    @v1_expose(None, wtypes.text, status_code=204)
    def delete(self, mapping_id: str) -> None:
        mappings_repo.delete_mapping(resource.db(), mapping_id, resource.audit_user())


class ThresholdsController(rest.RestController):
    _custom_actions = {"group": ["GET"]}

    @v1_expose(
        models.ThresholdCollection,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        bool,
        wtypes.text,
        bool,
    )
    def get_all(
        self,
        service_id: str | None = None,
        field_id: str | None = None,
        group_id: str | None = None,
        no_group: bool = False,
        tenant_id: str | None = None,
        filter_tenant: bool = False,
    ) -> models.ThresholdCollection:
        flt = thresholds_repo.ThresholdFilter(
            service_id=service_id,
            field_id=field_id,
            group_id=group_id,
            no_group=bool(no_group),
            tenant_id=tenant_id,
            filter_tenant=bool(filter_tenant),
        )
        items = thresholds_repo.list_thresholds(resource.db(), flt)
        return models.ThresholdCollection(thresholds=[models.to_threshold(t) for t in items])

    @v1_expose(models.Threshold, wtypes.text)
    def get_one(self, threshold_id: str) -> models.Threshold:
        return models.to_threshold(thresholds_repo.get_threshold(resource.db(), threshold_id))

    @v1_expose(models.Group, wtypes.text)
    def group(self, threshold_id: str) -> models.Group:
        return models.to_group(thresholds_repo.get_threshold_group(resource.db(), threshold_id))

    @v1_expose(models.Threshold, body=models.Threshold, status_code=201)
    def post(self, threshold: models.Threshold | None = None) -> models.Threshold:
        threshold = resource.require_body(threshold, "threshold")
        created = thresholds_repo.create_threshold(
            resource.db(),
            level=given(threshold.level),
            cost=given(threshold.cost),
            map_type=given(threshold.map_type),
            service_id=given(threshold.service_id),
            field_id=given(threshold.field_id),
            group_id=given(threshold.group_id),
            tenant_id=given(threshold.tenant_id),
        )
        resource.set_location(created.threshold_id)
        return models.to_threshold(created)

    @v1_expose(None, wtypes.text, body=models.Threshold, status_code=302)
    def put(
        self, threshold_id: str | None = None, threshold: models.Threshold | None = None
    ) -> None:
        threshold = resource.require_body(threshold, "threshold")
        target = resource.target_id(threshold_id, threshold.threshold_id, "threshold_id")
        changes = resource.present(threshold, models.THRESHOLD_INPUTS)
        thresholds_repo.update_threshold(resource.db(), target, changes)
        resource.set_location(target)

    @v1_expose(None, wtypes.text, status_code=204)
    def delete(self, threshold_id: str) -> None:
        thresholds_repo.delete_threshold(resource.db(), threshold_id)
