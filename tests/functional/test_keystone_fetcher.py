"""The Keystone fetcher against a real Keystone 30 (SQLite, fernet tokens).

The cloudkitty user is set up as devstack does (admin on a service
project); projects get the rating role directly, through a group, or not
at all, and one rated project is disabled.
"""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
from oslo_config import cfg

from cloudkitty.fetcher import base
from cloudkitty.fetcher.keystone import KeystoneFetcher

pytest_plugins = ["tests.functional.services.keystone"]


class Cloud:
    def __init__(self, keystone: Any) -> None:
        tag = uuid.uuid4().hex[:8]
        self.password = f"pw-{tag}"
        self.service_project = f"ck-service-{tag}"
        service_id = keystone.create_project(self.service_project)
        self.user = f"ck-cloudkitty-{tag}"
        self.user_id = keystone.create_user(self.user, self.password)
        keystone.grant("admin", service_id, user_id=self.user_id)
        self.rated = keystone.create_project()
        keystone.grant("rating", self.rated, user_id=self.user_id)
        self.unrated = keystone.create_project()
        keystone.grant("member", self.unrated, user_id=self.user_id)
        self.disabled = keystone.create_project(enabled=False)
        keystone.grant("rating", self.disabled, user_id=self.user_id)
        group = keystone.create_group()
        keystone.add_user_to_group(self.user_id, group)
        self.via_group = keystone.create_project()
        keystone.grant("rating", self.via_group, group_id=group)
        self.ours = {self.rated, self.unrated, self.disabled, self.via_group}


@pytest.fixture(scope="module")
def cloud(keystone_service: Any) -> Cloud:
    return Cloud(keystone_service)


def make_fetcher(keystone: Any, cloud: Cloud, tmp_path, password: str | None = None, **options):
    auth = keystone.conf_options(cloud.user, password or cloud.password, cloud.service_project)
    lines = ["[fetcher_keystone]"]
    lines += [f"{k} = {v}" for k, v in {**auth, **options}.items()]
    path = tmp_path / "cloudkitty.conf"
    path.write_text("\n".join(lines) + "\n")
    conf = cfg.ConfigOpts()
    conf(["--config-file", str(path)], project="cloudkitty", default_config_files=[])
    return base.get_fetcher("keystone", conf)  # through the real entry point


def test_only_projects_with_the_rating_role(keystone_service, cloud, tmp_path):
    fetcher = make_fetcher(keystone_service, cloud, tmp_path)
    with mock.patch.object(fetcher.identity, "get", wraps=fetcher.identity.get) as get:
        scopes = fetcher.get_scopes()
    # Direct and group assignments count; a disabled project is still rated.
    assert set(scopes) & cloud.ours == {cloud.rated, cloud.disabled, cloud.via_group}
    assert scopes == sorted(set(scopes))
    # One project listing and one role-assignment listing, whatever the count.
    assert [c.args[0] for c in get.call_args_list] == ["/projects", "/role_assignments"]


def test_ignore_disabled_tenants(keystone_service, cloud, tmp_path):
    fetcher = make_fetcher(keystone_service, cloud, tmp_path, ignore_disabled_tenants="true")
    assert set(fetcher.get_scopes()) & cloud.ours == {cloud.rated, cloud.via_group}


def test_ignore_rating_role_lists_every_project(keystone_service, cloud, tmp_path):
    fetcher = make_fetcher(keystone_service, cloud, tmp_path, ignore_rating_role="true")
    scopes = fetcher.get_scopes()
    assert cloud.ours <= set(scopes)
    assert keystone_service.project_id("admin") in scopes


def test_revoked_role_drops_the_project_on_the_next_sweep(keystone_service, cloud, tmp_path):
    project = keystone_service.create_project()
    keystone_service.grant("rating", project, user_id=cloud.user_id)
    fetcher = make_fetcher(keystone_service, cloud, tmp_path)
    assert project in fetcher.get_scopes()
    keystone_service.revoke("rating", project, user_id=cloud.user_id)
    assert project not in fetcher.get_scopes()


def test_wrong_password_is_a_fetcher_error(keystone_service, cloud, tmp_path):
    fetcher = make_fetcher(keystone_service, cloud, tmp_path, password="wrong")
    with pytest.raises(base.FetcherError) as caught:
        fetcher.get_scopes()
    assert caught.value.cause is not None


def test_missing_auth_type_is_a_config_error(tmp_path):
    from cloudkitty import exceptions

    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    with pytest.raises(exceptions.ConfigError, match="auth_type"):
        KeystoneFetcher(conf)


def test_harness_users_get_tokens_with_their_roles(keystone_service):
    """The helpers other functional tests (RBAC) rely on."""
    user = keystone_service.user_with_roles(["member", "rating"])
    token = user.token()
    checked = keystone_service.admin.get(
        keystone_service.auth_url + "/auth/tokens", headers={"X-Subject-Token": token}
    ).json()["token"]
    assert checked["project"]["id"] == user.project_id
    assert {"member", "rating"} <= {r["name"] for r in checked["roles"]}
    assert keystone_service.startup_seconds > 0
