"""Request helpers of the v1 resource controllers that rating modules mount
(hashmap, pyscripts): the database, the audit user, optional body attributes,
the id a PUT addresses and the ``Location`` of a response. No routes here."""

from __future__ import annotations

from typing import Any, TypeVar

import pecan
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.db.engine import Database

_Body = TypeVar("_Body")


def db() -> Database:
    return pecan.request.db


def audit_user() -> str:
    """The created_by/updated_by/deleted_by value of this request."""
    return str(pecan.request.context.audit_user)


def given(value: Any) -> Any:
    """An optional attribute as a plain value (absent -> None)."""
    return None if value is wtypes.Unset else value


def present(body: wtypes.Base, names: tuple[str, ...]) -> dict[str, Any]:
    """The attributes of ``body`` the request actually carried (null included)."""
    return {name: getattr(body, name) for name in names if getattr(body, name) is not wtypes.Unset}


def require_body(body: _Body | None, argument: str) -> _Body:
    """A request without a JSON body is a 400, as for any missing argument."""
    if body is None:
        raise exceptions.InvalidInput(f'Missing argument: "{argument}"')
    return body


def target_id(url_id: str | None, body_id: object, attribute: str) -> str:
    """The id a PUT addresses: in the URL, or only in the body (as the
    official client sends it on the collection URL)."""
    body_value = given(body_id)
    if url_id and body_value and body_value != url_id:
        raise exceptions.InvalidInput(
            f"{attribute} in the body ({body_value}) does not match the URL ({url_id})."
        )
    resource_id = url_id or body_value
    if not resource_id or not isinstance(resource_id, str):
        raise exceptions.InvalidInput(f'Missing argument: "{attribute}"')
    return resource_id


def resource_url(resource_id: str) -> str:
    """The URL of one resource of the collection addressed (with or without
    its id in the request path)."""
    url: str = pecan.request.path_url.rstrip("/")
    return url if url.endswith(f"/{resource_id}") else f"{url}/{resource_id}"


def set_location(resource_id: str) -> None:
    """201 and 302 responses point at the created or updated resource."""
    pecan.response.location = resource_url(resource_id)
