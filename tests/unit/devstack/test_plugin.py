"""The devstack plugin, phase by phase, against stubbed devstack helpers.

Each phase runs in its own bash (``source settings; source plugin.sh
<phase>``) as devstack would, with the devstack functions replaced by stubs
that append their name and arguments to a calls file. The tests read that
file back: the Keystone accounts, the configuration written with iniset, the
commands run and the processes started. Bash only: no network, no devstack.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEVSTACK = ROOT / "devstack"
SEP = "\x1f"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")

# Stand-ins for the devstack functions the plugin calls. Recording helpers
# print nothing; those whose output the plugin captures echo a fixed value.
STUBS = r"""
record() { local IFS=$'\x1f'; printf '%s\n' "$*" >> "$CK_CALLS"; }
for _name in iniset get_or_create_user get_or_add_user_project_role \
        get_or_create_endpoint get_or_create_role recreate_database run_process \
        stop_process setup_develop setup_dev_lib pip_install git_clone \
        git_clone_by_name configure_keystone_authtoken_middleware wait_for_service; do
    eval "$_name() { record $_name \"\$@\"; }"
done
get_or_create_service() { record get_or_create_service "$@"; echo "f00d-service-id"; }
database_connection_url() {
    record database_connection_url "$@"
    echo "mysql+pymysql://root:dbpass@127.0.0.1/$1?charset=utf8"
}
get_transport_url() { echo "rabbit://stackrabbit:rabbitpass@127.0.0.1:5672/"; }
get_python_exec_prefix() { echo "$CK_BIN"; }
echo_summary() { :; }
die() { record die "$@"; exit 3; }
sudo() { record sudo "$@"; "$@"; }
trueorfalse() {
    local value=${!2:-$1}
    case "$value" in
        1|[Tt]rue|[Yy]es|on) echo True ;;
        0|[Ff]alse|[Nn]o|off|"") echo False ;;
        *) echo "$1" ;;
    esac
}
enable_service() {
    local service
    for service in "$@"; do
        [[ ",$DISABLED_SERVICES," == *",$service,"* ]] && continue
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] || ENABLED_SERVICES+=",$service"
    done
}
is_service_enabled() {
    local service
    for service in "$@"; do
        # devstack's is_keystone_enabled: the service is listed as "key".
        [[ "$service" == keystone ]] && service=key
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] && return 0
    done
    return 1
}
use_library_from_git() { [[ ",$LIBS_FROM_GIT," == *",$1,"* ]]; }
"""

# Commands of $CLOUDKITTY_BIN_DIR: record, and write what a real one writes.
BIN_STUB = """#!/bin/bash
IFS=$'\\x1f'; printf '%s\\n' "bin:$(basename "$0")" "$*" | paste -sd $'\\x1f' >> "$CK_CALLS"
if [[ "$(basename "$0")" == oslopolicy-sample-generator ]]; then
    while [[ $# -gt 0 ]]; do
        if [[ "$1" == --output-file ]]; then echo '# policy' > "$2"; fi
        shift
    done
fi
"""
BIN_COMMANDS = (
    "oslopolicy-sample-generator",
    "cloudkitty-dbsync",
    "cloudkitty-storage-init",
)


@dataclasses.dataclass
class Stack:
    """A fake devstack host under a temporary directory."""

    tmp: Path
    env: dict[str, str]

    @property
    def conf_dir(self) -> Path:
        return Path(self.env["CLOUDKITTY_CONF_DIR"])

    @property
    def conf(self) -> str:
        return str(self.conf_dir / "cloudkitty.conf")

    @property
    def bin(self) -> Path:
        return self.tmp / "bin"

    def run(self, *phase: str, **overrides: str) -> list[list[str]]:
        """Run one phase; return the calls it made."""
        calls = self.tmp / "calls"
        calls.write_text("")
        script = textwrap.dedent(
            f"""
            set -o errexit -o pipefail
            declare -A GITREPO GITDIR GITBRANCH
            {STUBS}
            source {DEVSTACK}/settings
            source {DEVSTACK}/plugin.sh "$@"
            """
        )
        env = {**self.env, **overrides, "CK_CALLS": str(calls)}
        result = subprocess.run(
            ["bash", "-c", script, "plugin", *phase],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        self.returncode = result.returncode
        self.stderr = result.stderr
        lines = calls.read_text().splitlines()
        if result.returncode != 0 and not any(line.startswith(f"die{SEP}") for line in lines):
            raise AssertionError(f"phase {phase} failed: {result.stderr}")
        return [line.split(SEP) for line in lines]


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in BIN_COMMANDS:
        path = bindir / name
        path.write_text(BIN_STUB)
        path.chmod(0o755)
    horizon_enabled = tmp_path / "horizon" / "openstack_dashboard" / "enabled"
    horizon_enabled.mkdir(parents=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CK_BIN": str(bindir),
        "DEST": str(tmp_path / "opt"),
        "GIT_BASE": "https://git.example.org",
        "SERVICE_HOST": "192.0.2.10",
        "SERVICE_PROTOCOL": "http",
        "SERVICE_LISTEN_ADDRESS": "0.0.0.0",
        "SERVICE_PASSWORD": "servicepass",
        "SERVICE_PROJECT_NAME": "service",
        "SERVICE_DOMAIN_NAME": "Default",
        "SERVICE_TIMEOUT": "60",
        "REGION_NAME": "RegionOne",
        "KEYSTONE_SERVICE_URI": "http://192.0.2.10/identity",
        "STACK_USER": subprocess.run(
            ["id", "-un"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "ENABLE_DEBUG_LOG_LEVEL": "True",
        "HORIZON_DIR": str(tmp_path / "horizon"),
        "ENABLED_SERVICES": "key,mysql,rabbit",
        # The checkout under test plays $DEST/cloudkitty; state goes to tmp.
        "CLOUDKITTY_DIR": str(ROOT),
        "CLOUDKITTY_CONF_DIR": str(tmp_path / "etc" / "cloudkitty"),
        "CLOUDKITTY_DATA_DIR": str(tmp_path / "var" / "lib" / "cloudkitty"),
        "CLOUDKITTY_API_LOG_DIR": str(tmp_path / "var" / "log" / "cloudkitty"),
    }
    return Stack(tmp_path, env)


def named(calls: list[list[str]], name: str) -> list[list[str]]:
    return [call[1:] for call in calls if call[0] == name]


def ini(calls: list[list[str]], path: str) -> dict[tuple[str, str], str]:
    """The (section, key) -> value written with iniset into ``path``."""
    return {(s, k): v for f, s, k, v in named(calls, "iniset") if f == path}


# --- stack install -------------------------------------------------------------


def test_install_cloudkitty_and_client_from_pypi(stack: Stack) -> None:
    calls = stack.run("stack", "install")
    assert named(calls, "git_clone") == [
        ["https://git.example.org/openstack/cloudkitty.git", str(ROOT), "master"]
    ]
    assert named(calls, "setup_develop") == [[str(ROOT)]]
    assert named(calls, "pip_install") == [["python-cloudkittyclient"]]
    assert named(calls, "git_clone_by_name") == []  # no dashboard without horizon
    assert named(calls, "iniset") == []


def test_install_client_from_git_dashboard_and_uwsgi(stack: Stack) -> None:
    calls = stack.run(
        "stack",
        "install",
        LIBS_FROM_GIT="python-cloudkittyclient",
        ENABLED_SERVICES="key,horizon",
        CLOUDKITTY_USE_UWSGI="True",
    )
    assert named(calls, "git_clone_by_name") == [
        ["python-cloudkittyclient"],
        ["cloudkitty-dashboard"],
    ]
    assert named(calls, "setup_dev_lib") == [["python-cloudkittyclient"], ["cloudkitty-dashboard"]]
    assert named(calls, "pip_install") == [["uwsgi"]]


# --- stack post-config ---------------------------------------------------------


def test_post_config_writes_the_configuration(stack: Stack) -> None:
    calls = stack.run("stack", "post-config")
    conf = ini(calls, stack.conf)
    locks = f"file://{stack.env['CLOUDKITTY_DATA_DIR']}/locks"
    expected = {
        ("DEFAULT", "auth_strategy"): "keystone",
        ("DEFAULT", "transport_url"): "rabbit://stackrabbit:rabbitpass@127.0.0.1:5672/",
        ("DEFAULT", "debug"): "True",
        ("DEFAULT", "api_paste_config"): str(stack.conf_dir / "api_paste.ini"),
        ("oslo_policy", "policy_file"): str(stack.conf_dir / "policy.yaml"),
        ("database", "connection"): "mysql+pymysql://root:dbpass@127.0.0.1/cloudkitty?charset=utf8",
        ("api", "host"): "0.0.0.0",
        ("api", "port"): "8889",
        ("authinfos", "auth_type"): "password",
        ("authinfos", "auth_url"): "http://192.0.2.10/identity",
        ("authinfos", "username"): "cloudkitty",
        ("authinfos", "password"): "servicepass",
        ("authinfos", "project_name"): "service",
        ("authinfos", "user_domain_name"): "Default",
        ("authinfos", "project_domain_name"): "Default",
        # Upstream's defaults: gnocchi fetcher and collector.
        ("fetcher", "backend"): "gnocchi",
        ("fetcher_gnocchi", "auth_section"): "authinfos",
        ("fetcher_gnocchi", "region_name"): "RegionOne",
        ("fetcher_gnocchi", "interface"): "public",
        ("collect", "collector"): "gnocchi",
        ("collect", "scope_key"): "project_id",
        ("collect", "wait_periods"): "0",
        ("collect", "metrics_conf"): str(stack.conf_dir / "metrics.yml"),
        ("collector_gnocchi", "auth_section"): "authinfos",
        ("collector_gnocchi", "region_name"): "RegionOne",
        ("collector_gnocchi", "interface"): "public",
        ("storage", "backend"): "sqlalchemy",
        ("storage", "version"): "2",
        ("orchestrator", "coordination_url"): locks,
    }
    assert conf == expected
    assert named(calls, "database_connection_url") == [["cloudkitty"]]
    assert named(calls, "configure_keystone_authtoken_middleware") == [[stack.conf, "cloudkitty"]]
    # Upstream drift (CONTRACT 9 item 37): never a [storage_influxdb] "user".
    assert not [key for key in conf if key[0] == "storage_influxdb"]
    assert named(calls, "die") == []


def test_post_config_installs_the_side_files(stack: Stack) -> None:
    calls = stack.run("stack", "post-config")
    assert (stack.conf_dir / "api_paste.ini").read_text() == (
        ROOT / "etc" / "cloudkitty" / "api_paste.ini"
    ).read_text()
    assert (stack.conf_dir / "metrics.yml").read_text() == (
        DEVSTACK / "files" / "metrics.yml"
    ).read_text()
    assert (stack.conf_dir / "policy.yaml").read_text() == "# policy\n"
    assert named(calls, "bin:oslopolicy-sample-generator") == [
        ["--namespace", "cloudkitty", "--output-file", str(stack.conf_dir / "policy.yaml")]
    ]
    for key in ("CLOUDKITTY_DATA_DIR", "CLOUDKITTY_API_LOG_DIR"):
        assert Path(stack.env[key]).is_dir()
    assert Path(stack.env["CLOUDKITTY_DATA_DIR"], "locks").is_dir()


def test_post_config_creates_the_keystone_accounts(stack: Stack) -> None:
    calls = stack.run("stack", "post-config")
    assert named(calls, "get_or_create_user") == [["cloudkitty", "servicepass", "Default"]]
    assert named(calls, "get_or_create_service") == [["cloudkitty", "rating", "OpenStack Rating"]]
    assert named(calls, "get_or_create_endpoint") == [
        ["f00d-service-id", "RegionOne", "http://192.0.2.10:8889"]
    ]
    assert named(calls, "get_or_create_role") == [["rating"]]
    assert named(calls, "get_or_add_user_project_role") == [
        ["admin", "cloudkitty", "service", "Default", "Default"],
        ["rating", "cloudkitty", "demo"],
    ]


def test_post_config_without_keystone_creates_no_account(stack: Stack) -> None:
    calls = stack.run(
        "stack", "post-config", ENABLED_SERVICES="mysql", CLOUDKITTY_AUTH_STRATEGY="noauth"
    )
    assert ini(calls, stack.conf)[("DEFAULT", "auth_strategy")] == "noauth"
    assert named(calls, "configure_keystone_authtoken_middleware") == []
    assert named(calls, "get_or_create_user") == []
    assert named(calls, "get_or_create_service") == []


def test_post_config_keystone_fetcher(stack: Stack) -> None:
    conf = ini(stack.run("stack", "post-config", CLOUDKITTY_FETCHER="keystone"), stack.conf)
    assert conf[("fetcher", "backend")] == "keystone"
    assert conf[("fetcher_keystone", "auth_section")] == "authinfos"
    assert conf[("fetcher_keystone", "keystone_version")] == "3"
    assert not [key for key in conf if key[0] == "fetcher_gnocchi"]


def test_post_config_prometheus(stack: Stack) -> None:
    calls = stack.run(
        "stack", "post-config", CLOUDKITTY_FETCHER="prometheus", CLOUDKITTY_COLLECTOR="prometheus"
    )
    conf = ini(calls, stack.conf)
    assert conf[("collect", "collector")] == "prometheus"
    assert conf[("collect", "scope_key")] == "tenant_id"
    assert conf[("collector_prometheus", "prometheus_url")] == "http://localhost:9090/api/v1"
    assert conf[("fetcher_prometheus", "metric")] == "openstack_identity_project_info"
    assert conf[("fetcher_prometheus", "scope_attribute")] == "id"
    assert conf[("fetcher_prometheus", "prometheus_url")] == "http://localhost:9090/api/v1"
    assert (stack.conf_dir / "metrics.yml").read_text() == (
        DEVSTACK / "files" / "prom_metrics.yml"
    ).read_text()


def test_post_config_file_collector_and_source_fetcher(stack: Stack, tmp_path: Path) -> None:
    own = tmp_path / "my-metrics.yml"
    own.write_text("metrics: {}\n")
    calls = stack.run(
        "stack",
        "post-config",
        CLOUDKITTY_FETCHER="source",
        CLOUDKITTY_FETCHER_SOURCES="p1,p2",
        CLOUDKITTY_COLLECTOR="file",
        CLOUDKITTY_FILE_COLLECTOR_PATHS="/srv/usage/*.csv",
        CLOUDKITTY_METRICS_CONF=str(own),
    )
    conf = ini(calls, stack.conf)
    assert conf[("fetcher_source", "sources")] == "p1,p2"
    assert conf[("collector_file", "paths")] == "/srv/usage/*.csv"
    assert (stack.conf_dir / "metrics.yml").read_text() == "metrics: {}\n"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CLOUDKITTY_FETCHER", "ceilometer", "CLOUDKITTY_FETCHER=ceilometer"),
        ("CLOUDKITTY_COLLECTOR", "monasca", "CLOUDKITTY_COLLECTOR=monasca"),
        ("CLOUDKITTY_METRICS_CONF", "/nonexistent.yml", "/nonexistent.yml: no such file"),
    ],
)
def test_post_config_stops_on_a_bad_setting(
    stack: Stack, variable: str, value: str, message: str
) -> None:
    calls = stack.run("stack", "post-config", **{variable: value})
    assert stack.returncode == 3
    (died,) = named(calls, "die")
    assert message in died[-1]


def test_post_config_uwsgi(stack: Stack) -> None:
    calls = stack.run("stack", "post-config", CLOUDKITTY_USE_UWSGI="True", API_WORKERS="3")
    uwsgi = ini(calls, str(stack.conf_dir / "cloudkitty-api-uwsgi.ini"))
    assert uwsgi[("uwsgi", "module")] == "cloudkitty.wsgi.api:application"
    assert uwsgi[("uwsgi", "http-socket")] == "0.0.0.0:8889"
    assert uwsgi[("uwsgi", "env")] == f"CLOUDKITTY_CONFIG_FILES={stack.conf}"
    assert uwsgi[("uwsgi", "processes")] == "3"
    assert uwsgi[("uwsgi", "lazy-apps")] == "true"


def test_post_config_links_dashboard_panels(stack: Stack) -> None:
    panels = Path(stack.env["DEST"], "cloudkitty-dashboard", "cloudkittydashboard", "enabled")
    panels.mkdir(parents=True)
    (panels / "_10_project_rating.py").write_text("")
    (panels / "__init__.py").write_text("")
    stack.run("stack", "post-config", ENABLED_SERVICES="key,horizon")
    enabled = Path(stack.env["HORIZON_DIR"], "openstack_dashboard", "enabled")
    assert sorted(p.name for p in enabled.iterdir()) == ["_10_project_rating.py"]
    assert (enabled / "_10_project_rating.py").is_symlink()


# --- stack extra ----------------------------------------------------------------


def test_extra_creates_the_schema_then_starts_api_and_processor(stack: Stack) -> None:
    calls = stack.run("stack", "extra")
    order = [call[0] for call in calls if call[0] != "sudo"]
    assert order == [
        "recreate_database",
        "bin:cloudkitty-dbsync",
        "bin:cloudkitty-storage-init",
        "run_process",
        "wait_for_service",
        "run_process",
    ]
    assert named(calls, "recreate_database") == [["cloudkitty"]]
    assert named(calls, "bin:cloudkitty-dbsync") == [["--config-file", stack.conf, "upgrade"]]
    assert named(calls, "bin:cloudkitty-storage-init") == [["--config-file", stack.conf]]
    assert named(calls, "run_process") == [
        ["ck-api", f"{stack.bin}/cloudkitty-api --config-file {stack.conf}"],
        ["ck-proc", f"{stack.bin}/cloudkitty-processor --config-file {stack.conf}"],
    ]
    assert named(calls, "wait_for_service") == [["60", "http://192.0.2.10:8889/"]]


def test_extra_with_uwsgi(stack: Stack) -> None:
    calls = stack.run("stack", "extra", CLOUDKITTY_USE_UWSGI="True")
    uwsgi_conf = stack.conf_dir / "cloudkitty-api-uwsgi.ini"
    assert named(calls, "run_process")[0] == [
        "ck-api",
        f"{stack.bin}/uwsgi --procname-prefix ck-api --ini {uwsgi_conf}",
    ]


def test_extra_with_the_processor_only(stack: Stack) -> None:
    calls = stack.run("stack", "extra", DISABLED_SERVICES="ck-api")
    # devstack's run_process skips a disabled service; the plugin must not
    # wait for an API that does not start.
    assert named(calls, "wait_for_service") == []
    assert [call[0] for call in named(calls, "run_process")] == ["ck-api", "ck-proc"]


# --- unstack, clean, disabled ------------------------------------------------


def test_unstack_stops_both_processes(stack: Stack) -> None:
    calls = stack.run("unstack")
    assert named(calls, "stop_process") == [["ck-api"], ["ck-proc"]]
    assert named(calls, "run_process") == []


def test_clean_removes_what_the_plugin_created(stack: Stack) -> None:
    stack.run("stack", "post-config")
    assert stack.conf_dir.is_dir()
    calls = stack.run("clean")
    for key in ("CLOUDKITTY_CONF_DIR", "CLOUDKITTY_DATA_DIR", "CLOUDKITTY_API_LOG_DIR"):
        assert not Path(stack.env[key]).exists()
    assert named(calls, "stop_process") == []


@pytest.mark.parametrize("phase", [("stack", "install"), ("stack", "post-config"), ("clean",)])
def test_nothing_happens_when_cloudkitty_is_disabled(stack: Stack, phase: tuple[str, ...]) -> None:
    # local.conf: disable_service ck-api ck-proc
    assert stack.run(*phase, DISABLED_SERVICES="ck-api,ck-proc") == []
