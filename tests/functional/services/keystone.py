"""A real Keystone (SQLite, fernet tokens, gunicorn) for functional tests.

``running_keystone()`` runs ``keystone-manage db_sync``, ``fernet_setup``,
``credential_setup`` and ``bootstrap`` in a temporary directory, serves the
identity API on a free 127.0.0.1 port (catalog URLs for the public, internal
and admin interfaces all point there) and ensures the roles admin, member,
reader and rating exist. ``keystone_service`` is the same thing as a
session-scoped pytest fixture: load it with
``pytest_plugins = ["tests.functional.services.keystone"]``.

Keystone lives in its own virtualenv (``CK_KEYSTONE_VENV``, default
``/opt/ck-keystone``) made by ``tools/ci/install-keystone.sh``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.functional.services.api_server import free_port
from tests.functional.services.gnocchi import Daemon, require_venv, stop_all, wait_until

VENV = os.environ.get("CK_KEYSTONE_VENV", "/opt/ck-keystone")
INSTALL_HINT = "run tools/ci/install-keystone.sh (or set CK_KEYSTONE_VENV)"
ADMIN_PASSWORD = "ck-admin-secret"
ROLES = ("admin", "member", "reader", "rating")

# keystone's oslo.config would parse gunicorn's command line: hide it.
_WSGI_WRAPPER = """\
import sys
sys.argv = sys.argv[:1]
from keystone.server import wsgi
application = wsgi.initialize_public_application()
"""


@dataclasses.dataclass(frozen=True)
class User:
    """A user made by ``KeystoneService.user_with_roles``."""

    keystone: KeystoneService
    id: str
    name: str
    password: str
    project_id: str

    def token(self) -> str:
        """A token scoped to the user's project."""
        return self.keystone.token(self.name, self.password, project_id=self.project_id)


class KeystoneService:
    """A running Keystone and admin helpers (raw Identity v3 REST calls)."""

    def __init__(self, url: str, workdir: str, startup_seconds: float) -> None:
        self.url = url  # http://127.0.0.1:<port>
        self.auth_url = f"{url}/v3"
        self.workdir = workdir
        self.startup_seconds = startup_seconds
        #: cumulative seconds since start at the end of each start-up step
        self.timings: dict[str, float] = {}
        self.admin = self.session("admin", ADMIN_PASSWORD, project="admin")
        self.roles: dict[str, str] = {}

    # -- authentication -------------------------------------------------
    def auth(
        self,
        user: str,
        password: str,
        project: str | None = None,
        *,
        project_id: str | None = None,
    ) -> v3.Password:
        """A keystoneauth password plugin, scoped to a project given by name
        (default domain) or id, unscoped without either."""
        scope: dict[str, Any] = {}
        if project_id is not None:
            scope = {"project_id": project_id}
        elif project is not None:
            scope = {"project_name": project, "project_domain_id": "default"}
        return v3.Password(
            auth_url=self.auth_url,
            username=user,
            password=password,
            user_domain_id="default",
            **scope,
        )

    def session(
        self,
        user: str,
        password: str,
        project: str | None = None,
        *,
        project_id: str | None = None,
    ) -> Any:
        return ks_session.Session(auth=self.auth(user, password, project, project_id=project_id))

    def token(
        self,
        user: str,
        password: str,
        project: str | None = None,
        *,
        project_id: str | None = None,
    ) -> str:
        """A fresh token id for ``user`` (scoped like ``auth``)."""
        return str(self.session(user, password, project, project_id=project_id).get_token())

    def user_with_roles(self, roles: Iterable[str], project_id: str | None = None) -> User:
        """A new user holding ``roles`` on ``project_id`` (a new project if None)."""
        project_id = project_id or self.create_project()
        password = f"pw-{uuid.uuid4().hex[:12]}"
        name = f"ck-user-{uuid.uuid4().hex[:8]}"
        user_id = self.create_user(name, password)
        for role in roles:
            self.grant(role, project_id, user_id=user_id)
        return User(self, user_id, name, password, project_id)

    def authtoken_options(self, user: str, password: str, project: str) -> dict[str, str]:
        """``[keystone_authtoken]`` options for keystonemiddleware validating
        tokens as ``user``; interface=public: only that URL is sure to work."""
        return {
            **self.conf_options(user, password, project),
            "www_authenticate_uri": self.auth_url,
            "interface": "public",
            "delay_auth_decision": "false",
        }

    def conf_options(self, user: str, password: str, project: str) -> dict[str, str]:
        """keystoneauth config options (auth_type=password) for a service group."""
        return {
            "auth_type": "password",
            "auth_url": self.auth_url,
            "username": user,
            "password": password,
            "user_domain_id": "default",
            "project_name": project,
            "project_domain_id": "default",
        }

    # -- administration -------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.admin.request(
            self.auth_url + path, method, json=body, raise_exc=True, authenticated=True
        )
        return response.json() if response.content else None

    def ensure_role(self, name: str) -> str:
        """The id of role ``name``, created if missing."""
        if name not in self.roles:
            found = self._call("GET", f"/roles?name={name}")["roles"]
            if found:
                self.roles[name] = found[0]["id"]
            else:
                self.roles[name] = self._call("POST", "/roles", {"role": {"name": name}})["role"][
                    "id"
                ]
        return self.roles[name]

    def create_project(self, name: str | None = None, enabled: bool = True) -> str:
        """A project in the default domain; its id."""
        body = {
            "project": {
                "name": name or f"ck-project-{uuid.uuid4().hex[:8]}",
                "domain_id": "default",
                "enabled": enabled,
            }
        }
        return str(self._call("POST", "/projects", body)["project"]["id"])

    def set_project_enabled(self, project_id: str, enabled: bool) -> None:
        self._call("PATCH", f"/projects/{project_id}", {"project": {"enabled": enabled}})

    def create_user(self, name: str | None = None, password: str = "pw") -> str:
        """A user in the default domain; its id."""
        body = {
            "user": {
                "name": name or f"ck-user-{uuid.uuid4().hex[:8]}",
                "password": password,
                "domain_id": "default",
            }
        }
        return str(self._call("POST", "/users", body)["user"]["id"])

    def create_group(self, name: str | None = None) -> str:
        body = {
            "group": {"name": name or f"ck-group-{uuid.uuid4().hex[:8]}", "domain_id": "default"}
        }
        return str(self._call("POST", "/groups", body)["group"]["id"])

    def add_user_to_group(self, user_id: str, group_id: str) -> None:
        self._call("PUT", f"/groups/{group_id}/users/{user_id}")

    def grant(
        self, role: str, project_id: str, *, user_id: str | None = None, group_id: str | None = None
    ) -> None:
        """Assign ``role`` (a name) on a project to a user or a group."""
        actor = f"users/{user_id}" if user_id else f"groups/{group_id}"
        self._call("PUT", f"/projects/{project_id}/{actor}/roles/{self.ensure_role(role)}")

    def revoke(self, role: str, project_id: str, *, user_id: str) -> None:
        self._call(
            "DELETE", f"/projects/{project_id}/users/{user_id}/roles/{self.ensure_role(role)}"
        )

    def project_id(self, name: str) -> str:
        return str(self._call("GET", f"/projects?name={name}")["projects"][0]["id"])


def _write_config(workdir: str) -> str:
    path = os.path.join(workdir, "keystone.conf")
    with open(path, "w") as handle:
        handle.write(
            textwrap.dedent(
                f"""\
                [DEFAULT]
                debug = false
                [database]
                connection = sqlite:///{workdir}/keystone.db
                [token]
                provider = fernet
                [fernet_tokens]
                key_repository = {workdir}/fernet-keys
                [fernet_receipts]
                key_repository = {workdir}/fernet-receipts
                [credential]
                key_repository = {workdir}/credential-keys
                [identity]
                # bcrypt's minimum cost: bootstrap and user creation in ms, not s.
                password_hash_rounds = 4
                """
            )
        )
    return path


def _manage(venv: str, config: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [f"{venv}/bin/keystone-manage", "--config-file", config, *args],
        cwd=os.path.dirname(config),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str], what: str) -> None:
    output, _ = process.communicate(timeout=180)
    if process.returncode:
        raise RuntimeError(f"keystone-manage {what} failed:\n{output}")


@contextlib.contextmanager
def running_keystone(venv: str = VENV) -> Iterator[KeystoneService]:
    """Start a private Keystone; yield a KeystoneService; stop and clean up."""
    require_venv(venv, ("keystone-manage", "gunicorn"), INSTALL_HINT)
    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ck-keystone-")
    daemons: list[Daemon] = []
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        config = _write_config(workdir)
        env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": config, "VIRTUAL_ENV": venv}
        env.pop("PYTHONPATH", None)  # the test venv's packages must not leak in
        owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name]
        owner += ["--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        # Each keystone-manage spends ~2 s importing: run the independent ones together.
        steps = {
            "db_sync": _manage(venv, config, env, "db_sync"),
            "fernet_setup": _manage(venv, config, env, "fernet_setup", *owner),
            "credential_setup": _manage(venv, config, env, "credential_setup", *owner),
        }
        for what, process in steps.items():
            _finish(process, what)
        timings = {"db_sync+fernet+credential": time.monotonic() - began}
        endpoints = [f"--bootstrap-{i}-url={url}/v3/" for i in ("admin", "internal", "public")]
        bootstrap = _manage(
            venv,
            config,
            env,
            "bootstrap",
            f"--bootstrap-password={ADMIN_PASSWORD}",
            "--bootstrap-region-id=RegionOne",
            *endpoints,
        )
        _finish(bootstrap, "bootstrap")
        timings["bootstrap"] = time.monotonic() - began
        with open(os.path.join(workdir, "ks_wsgi.py"), "w") as handle:
            handle.write(_WSGI_WRAPPER)
        daemons.append(
            Daemon(
                "keystone",
                [
                    f"{venv}/bin/gunicorn",
                    "--no-control-socket",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--chdir",
                    workdir,
                    "ks_wsgi:application",
                ],
                cwd=workdir,
                env=env,
                log_path=os.path.join(workdir, "keystone.log"),
                stop_signal=signal.SIGQUIT,  # immediate; SIGTERM waits for requests
            )
        )

        wait_until(
            lambda: urllib.request.urlopen(f"{url}/v3", timeout=2).status == 200,
            "keystone readiness",
            90,
            daemons,
        )
        timings["api ready"] = time.monotonic() - began
        service = KeystoneService(url, workdir, 0.0)
        for role in ROLES:
            service.ensure_role(role)
        service.startup_seconds = time.monotonic() - began
        service.timings = {**timings, "roles": service.startup_seconds}
        yield service
    finally:
        stop_all(daemons)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def keystone_service() -> Iterator[KeystoneService]:
    """A Keystone shared by the whole test session (create projects and users
    with unique names: other tests use the same server)."""
    with running_keystone() as service:
        yield service
