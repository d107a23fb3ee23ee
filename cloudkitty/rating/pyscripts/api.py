"""The pyscripts configuration API, mounted at ``/v1/rating/module_config/pyscripts``.

One collection, ``/scripts``, with the v1 wire behaviour the official client
relies on: POST answers 201 with the script and ``Location: <collection>/<id>``;
PUT answers 201 with the script (not 302 like hashmap) and a ``Location`` that
names the script once (upstream appended the id a second time); DELETE is a
soft delete answering 204. The policy ``rating:module_config`` is enforced by
the v1 dispatcher before any of this is reached.

What upstream did not do: a script whose text does not compile is refused at
POST/PUT with a 400 naming the line, instead of failing every later rating
run. The text is compiled in the sandbox, never in the API process.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pecan
import wsme.exc
from pecan import rest
from wsme import types as wtypes

from cloudkitty import exceptions
from cloudkitty.api import resource
from cloudkitty.api.errors import v1_expose
from cloudkitty.rating.pyscripts import repository, sandbox
from cloudkitty.rating.pyscripts import versioning as rules
from cloudkitty.utils import tz

#: The attributes of a Script, in the order upstream rendered them.
ATTRIBUTES = (
    "script_id",
    "name",
    "data",
    "checksum",
    "created_at",
    "start",
    "end",
    "description",
    "deleted",
    "created_by",
    "updated_by",
    "deleted_by",
)


class ScriptDate(wtypes.UserType):
    """A script date: lenient ISO 8601 in (aware UTC), naive UTC ISO out.

    Parsing is delegated to the repository's versioning rules so that ``end``
    given as a bare date means 23:59:59 that day, exactly as the repository
    would read it.
    """

    basetype = wtypes.text

    def __init__(self, name: str, parse: Callable[[Any], datetime.datetime | None]) -> None:
        self.name = name
        self._parse = parse

    def validate(self, value: Any) -> datetime.datetime | None:
        # Runs when the attribute is set, so WSME's 400 names the attribute.
        try:
            return self._parse(value)
        except exceptions.InvalidInput as error:
            raise ValueError(str(error)) from None

    def tobasetype(self, value: datetime.datetime | None) -> str | None:
        return tz.v1_format(value)


START = ScriptDate("start", rules.parse_start)
END = ScriptDate("end", rules.parse_end)
AUDIT_DATE = ScriptDate("date", lambda value: rules.parse_time(value, "date"))


class Script(wtypes.Base):
    """A script. Audit attributes and ``checksum`` are output only: they are
    accepted on input (clients echo back what they read) and never written."""

    script_id = wtypes.wsattr(wtypes.text)
    name = wtypes.wsattr(wtypes.text)
    data = wtypes.wsattr(wtypes.text)
    checksum = wtypes.wsattr(wtypes.text)
    created_at = wtypes.wsattr(AUDIT_DATE)
    start = wtypes.wsattr(START)
    end = wtypes.wsattr(END)
    description = wtypes.wsattr(wtypes.text)
    deleted = wtypes.wsattr(AUDIT_DATE)
    created_by = wtypes.wsattr(wtypes.text)
    updated_by = wtypes.wsattr(wtypes.text)
    deleted_by = wtypes.wsattr(wtypes.text)


class ScriptCollection(wtypes.Base):
    scripts = [Script]


def to_script(item: repository.Script) -> Script:
    """The wire form; ``data`` is left out entirely when it was not read
    (``no_data``), as upstream did, rather than rendered as null."""
    values = {name: getattr(item, name) for name in ATTRIBUTES}
    if item.data is None:
        del values["data"]
    return Script(**values)


def _check_compiles(name: str, data: str) -> None:
    """400 when ``data`` does not compile; checked before any transaction is
    opened so a slow sandbox never holds database locks."""
    limits = sandbox.Limits.from_conf(pecan.request.conf)
    (reason,) = sandbox.check([sandbox.ScriptSource(name, data)], limits)
    if reason is not None:
        raise exceptions.InvalidInput(f"Script {name} cannot be compiled: {reason}")


class ScriptsController(rest.RestController):
    """``/scripts``: list, read, create, update, soft-delete."""

    @v1_expose(
        ScriptCollection,
        bool,
        bool,
        datetime.datetime,
        datetime.datetime,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        wtypes.text,
        bool,
    )
    def get_all(
        self,
        no_data: bool = False,
        deleted: bool = False,
        start: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        updated_by: str | None = None,
        created_by: str | None = None,
        deleted_by: str | None = None,
        description: str | None = None,
        is_active: bool = False,
    ) -> ScriptCollection:
        with pecan.request.db.connect() as conn:
            items = repository.list_scripts(
                conn,
                no_data=bool(no_data),
                deleted=bool(deleted),
                start=start,
                end=end,
                created_by=created_by,
                updated_by=updated_by,
                deleted_by=deleted_by,
                description=description,
                is_active=bool(is_active),
            )
        return ScriptCollection(scripts=[to_script(item) for item in items])

    @v1_expose(Script, wtypes.text)
    def get_one(self, script_id: str) -> Script:
        with pecan.request.db.connect() as conn:
            return to_script(repository.get(conn, script_id))

    @v1_expose(Script, bool, body=Script, status_code=201)
    def post(self, force: bool = False, script: Script | None = None) -> Script:
        script = resource.require_body(script, "script")
        name = resource.given(script.name)
        if name is None:
            # The message WSME gives for a missing mandatory attribute; name
            # is not declared mandatory because PUT does not need it.
            raise wsme.exc.InvalidInput("name", None, "Mandatory field missing.")
        # Upstream stored an absent script text as an empty script.
        data = resource.given(script.data) or ""
        _check_compiles(name, data)
        with pecan.request.db.begin() as conn:
            created = repository.create(
                conn,
                name=name,
                data=data,
                start=resource.given(script.start),
                end=resource.given(script.end),
                description=resource.given(script.description),
                created_by=resource.audit_user(),
                force=bool(force),
            )
        resource.set_location(created.script_id)
        return to_script(created)

    @v1_expose(Script, wtypes.text, body=Script, status_code=201)
    def put(self, script_id: str | None = None, script: Script | None = None) -> Script:
        script = resource.require_body(script, "script")
        target = resource.target_id(script_id, script.script_id, "script_id")
        changes = resource.present(script, ATTRIBUTES)
        data = changes.get("data")
        if data is not None:
            _check_compiles(resource.given(script.name) or target, data)
        with pecan.request.db.begin() as conn:
            updated = repository.update(conn, target, changes, updated_by=resource.audit_user())
        # The script's own URL, with its id once (upstream repeated it).
        resource.set_location(target)
        return to_script(updated)

    @v1_expose(None, wtypes.text, status_code=204)
    def delete(self, script_id: str) -> None:
        with pecan.request.db.begin() as conn:
            repository.delete(conn, script_id, deleted_by=resource.audit_user())


class PyScriptsConfigController(rest.RestController):
    """The URL tree of the module; anything but ``/scripts`` is a 405/404."""

    scripts = ScriptsController()


__all__ = ["PyScriptsConfigController", "Script", "ScriptCollection"]
