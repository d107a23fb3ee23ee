"""The Keystone fetcher with a canned keystoneauth session: two calls per
sweep, the rating role filter, disabled projects, errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from keystoneauth1 import exceptions as kexc
from keystoneauth1 import plugin, session
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.conf import fetcher_keystone
from cloudkitty.fetcher import base
from cloudkitty.fetcher.keystone import KeystoneFetcher


class Response:
    def __init__(self, body: Any) -> None:
        self.body = body

    def json(self) -> Any:
        return self.body


class FakeSession(session.Session):
    """A keystoneauth session answering from memory: request() (what the
    Adapter calls) and the user id of the authenticated plugin."""

    def __init__(self, projects: list[dict], assignments: list[dict], **extra: Any) -> None:
        super().__init__()
        self.bodies = {
            "/projects": {"projects": projects, **extra},
            "/role_assignments": {"role_assignments": assignments},
        }
        self.requests: list[tuple[str, dict]] = []
        self.error: Exception | None = None

    def request(self, url: str, method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.requests.append((url, kwargs))
        if self.error is not None:
            raise self.error
        return Response(self.bodies[url])

    def get_user_id(self, *args: Any, **kwargs: Any) -> str:
        return "ck-user"


def project(pid: str, enabled: bool = True) -> dict:
    return {"id": pid, "name": f"name-{pid}", "enabled": enabled, "domain_id": "default"}


def assignment(pid: str | None, role: str, domain: str | None = None) -> dict:
    scope = {"project": {"id": pid}} if pid else {"domain": {"id": domain}}
    return {"role": {"id": f"id-{role}", "name": role}, "user": {"id": "ck-user"}, "scope": scope}


PROJECTS = [project("p3"), project("p1"), project("p2", enabled=False), project("p4")]
ASSIGNMENTS = [
    assignment("p1", "rating"),
    assignment("p2", "rating"),
    assignment("p3", "member"),
    assignment(None, "rating", domain="default"),  # a domain is no project
    assignment("p9", "rating"),  # a project the listing does not have
]


def make(session: FakeSession, **options: Any) -> KeystoneFetcher:
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    fetcher_keystone.register_opts(conf)
    for name, value in options.items():
        conf.set_override(name, value, "fetcher_keystone")
    return KeystoneFetcher(conf, session=session)


def test_rating_role_filter_with_one_assignment_listing():
    session = FakeSession(PROJECTS, ASSIGNMENTS)
    assert make(session).get_scopes() == ["p1", "p2"]
    urls = [url for url, _ in session.requests]
    assert urls == ["/projects", "/role_assignments"]
    params = session.requests[1][1]["params"]
    assert params == {"user.id": "ck-user", "effective": "true", "include_names": "true"}
    # The identity API of the auth URL, in version 3.
    assert session.requests[0][1]["endpoint_filter"]["interface"] is plugin.AUTH_INTERFACE


def test_ignore_disabled_tenants():
    session = FakeSession(PROJECTS, ASSIGNMENTS)
    assert make(session, ignore_disabled_tenants=True).get_scopes() == ["p1"]


def test_ignore_rating_role_lists_every_project_in_one_call():
    session = FakeSession(PROJECTS, ASSIGNMENTS)
    assert make(session, ignore_rating_role=True).get_scopes() == ["p1", "p2", "p3", "p4"]
    assert [url for url, _ in session.requests] == ["/projects"]


def test_truncated_listing_is_logged(caplog):
    session = FakeSession(PROJECTS, ASSIGNMENTS, truncated=True)
    with caplog.at_level(logging.WARNING):
        make(session, ignore_rating_role=True).get_scopes()
    assert "truncated" in caplog.text


def test_old_keystone_version_warns_and_uses_v3(caplog):
    session = FakeSession(PROJECTS, ASSIGNMENTS)
    with caplog.at_level(logging.WARNING):
        fetcher = make(session, keystone_version="2")
    assert "keystone_version=2" in caplog.text
    assert fetcher.identity.version == (3, 0)


@pytest.mark.parametrize(
    "error",
    [kexc.ConnectFailure("refused"), kexc.Unauthorized("bad password"), kexc.NotFound()],
)
def test_keystone_errors_are_fetcher_errors(error):
    session = FakeSession(PROJECTS, ASSIGNMENTS)
    session.error = error
    with pytest.raises(base.FetcherError) as caught:
        make(session).get_scopes()
    assert caught.value.cause is error


def test_malformed_answer_is_a_fetcher_error():
    session = FakeSession(PROJECTS, ASSIGNMENTS)
    session.bodies["/projects"] = {"nothing": []}
    with pytest.raises(base.FetcherError):
        make(session).get_scopes()


def test_auth_type_is_required():
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    with pytest.raises(exceptions.ConfigError, match=r"\[fetcher_keystone\] auth_type"):
        KeystoneFetcher(conf)
