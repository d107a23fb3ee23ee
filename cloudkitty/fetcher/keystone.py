"""The Keystone fetcher: the projects to rate, from the Identity v3 API.

Two calls per sweep whatever the number of projects: ``GET /v3/projects``
and, unless ``ignore_rating_role``, one ``GET /v3/role_assignments`` for the
cloudkitty user (``effective``, so roles received through a group or an
inherited domain assignment count like direct ones).
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any, ClassVar

from keystoneauth1 import adapter, loading, plugin
from keystoneauth1 import exceptions as kexc
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.conf import fetcher_keystone
from cloudkitty.fetcher import base

LOG = logging.getLogger(__name__)

#: The role that marks a project as rated (upstream's name, kept).
RATING_ROLE = "rating"


class KeystoneFetcher(base.Fetcher):
    """Lists projects with ``[fetcher_keystone]``'s keystoneauth options."""

    name = "keystone"
    conf_module: ClassVar[ModuleType | None] = fetcher_keystone

    def __init__(self, conf: cfg.ConfigOpts, *, session: Any = None) -> None:
        super().__init__(conf)
        fetcher_keystone.register_opts(conf)
        if str(self.options.keystone_version) not in ("3", "3.0", "v3"):
            # The v2.0 API was removed from Keystone in Queens (2018).
            LOG.warning(
                "[%s] keystone_version=%s is not supported; using the v3 API",
                fetcher_keystone.GROUP,
                self.options.keystone_version,
            )
        if session is None:
            auth = loading.load_auth_from_conf_options(conf, fetcher_keystone.GROUP)
            if auth is None:
                raise exceptions.ConfigError(
                    f"[{fetcher_keystone.GROUP}] auth_type (or auth_section): required by the "
                    "keystone fetcher"
                )
            session = loading.load_session_from_conf_options(
                conf, fetcher_keystone.GROUP, auth=auth
            )
        self.session = session
        # The Keystone we authenticate against is the one to list: its URL is
        # known without a catalog lookup, and reachable by definition.
        self.identity = adapter.Adapter(
            session,
            service_type="identity",
            interface=plugin.AUTH_INTERFACE,  # type: ignore[arg-type]  # a sentinel
            version=(3, 0),  # type: ignore[arg-type]  # tuples are accepted
        )

    def get_scopes(self) -> list[str]:
        try:
            projects = self._projects()
            if not self.options.ignore_rating_role:
                rated = self._projects_with_rating_role()
                projects = [p for p in projects if p["id"] in rated]
        except kexc.ClientException as exc:
            raise base.FetcherError(f"keystone fetcher: {exc}", exc) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise base.FetcherError(f"keystone fetcher: unexpected answer: {exc}", exc) from exc
        if self.options.ignore_disabled_tenants:
            projects = [p for p in projects if p.get("enabled", True)]
        return sorted({str(p["id"]) for p in projects})

    def _projects(self) -> list[dict[str, Any]]:
        body = self.identity.get("/projects").json()
        if body.get("truncated"):
            # Keystone's [DEFAULT] list_limit cut the list; say it loudly.
            LOG.warning("keystone fetcher: the project list is truncated by Keystone's list_limit")
        return list(body["projects"])

    def _projects_with_rating_role(self) -> set[str]:
        user_id = self.session.get_user_id()
        body = self.identity.get(
            "/role_assignments",
            params={"user.id": user_id, "effective": "true", "include_names": "true"},
        ).json()
        projects = set()
        for assignment in body["role_assignments"]:
            project = assignment.get("scope", {}).get("project")
            if project and assignment.get("role", {}).get("name") == RATING_ROLE:
                projects.add(str(project["id"]))
        return projects
