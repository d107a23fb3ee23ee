"""cloudkitty-status: ``upgrade check`` before and after an upgrade."""

from __future__ import annotations

import os
import sys
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_upgradecheck import common_checks, upgradecheck

from cloudkitty import conf as ck_conf
from cloudkitty import exceptions
from cloudkitty.db import engine, migrate

Code = upgradecheck.Code
Result = upgradecheck.Result


class Checks(upgradecheck.UpgradeCommands):
    """What an operator must fix before cloudkitty runs correctly."""

    def _check_database_revision(self) -> Result:
        url = cfg.CONF.database.connection
        try:
            current = migrate.current_revision(url)
        except sa.exc.SQLAlchemyError as error:
            return Result(Code.FAILURE, f"Cannot reach the database: {error}")
        head = migrate.head_revision()
        if current != head:
            return Result(
                Code.FAILURE,
                f"Database schema is at {current}, expected {head}: run cloudkitty-dbsync upgrade",
            )
        return Result(Code.SUCCESS, f"Database schema at {head}")

    def _check_storage(self) -> Result:
        try:
            backend = cfg.CONF.storage.backend
            version = int(cfg.CONF.storage.version)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            backend, version = "sqlalchemy", 2
        if version < 2:
            return Result(Code.WARNING, "[storage] version 1 is deprecated; use version 2")
        if backend != "sqlalchemy":
            return Result(Code.FAILURE, f"Unknown [storage] backend {backend!r}")
        try:
            with engine.create_engine(cfg.CONF.database.connection).connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            return Result(Code.FAILURE, f"Storage database unreachable: {error}")
        return Result(Code.SUCCESS, "Storage reachable")

    def _check_metrics_conf(self) -> Result:
        try:
            path = cfg.CONF.collect.metrics_conf
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            return Result(Code.SUCCESS, "No collector configured")
        if not os.path.exists(path):
            return Result(Code.FAILURE, f"[collect] metrics_conf {path} does not exist")
        try:
            from cloudkitty.collector import base, metrics

            collector = base.collector_class(cfg.CONF.collect.collector)
            metrics.load_metrics(
                path,
                scope_key=cfg.CONF.collect.scope_key,
                extra_args=collector.EXTRA_ARGS,
                check=collector.check_definition,
            )
        except exceptions.ConfigError as error:
            return Result(Code.FAILURE, str(error))
        return Result(Code.SUCCESS, f"{path} is valid")

    def _check_policy_file(self) -> Result:
        from cloudkitty.policies import enforcer

        try:
            enforcer.get_enforcer(cfg.CONF).load_rules(force_reload=True)
        except Exception as error:  # oslo.policy raises many types for a bad file
            return Result(Code.FAILURE, f"Policy file invalid: {error}")
        return Result(Code.SUCCESS, "Policy file valid")

    _upgrade_checks: Any = (
        ("Database revision", _check_database_revision),
        ("Storage", _check_storage),
        ("metrics.yml", _check_metrics_conf),
        ("Policy file", _check_policy_file),
        (
            "Policy File JSON to YAML Migration",
            (common_checks.check_policy_json, {"conf": cfg.CONF}),
        ),
    )


def main() -> int:
    ck_conf.register_all(cfg.CONF)
    return upgradecheck.main(cfg.CONF, project="cloudkitty", upgrade_command=Checks())


if __name__ == "__main__":
    sys.exit(main())
