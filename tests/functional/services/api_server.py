"""Start a real ``cloudkitty-api`` process for functional tests, and drive the
real ``python-cloudkittyclient`` CLIs against it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from cloudkitty.db import migrate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(
    path: str, db_url: str, port: int, extra: str = "", auth_strategy: str = "noauth"
) -> None:
    with open(path, "w") as handle:
        handle.write(
            f"[DEFAULT]\nauth_strategy = {auth_strategy}\n"
            f"[database]\nconnection = {db_url}\n"
            f"[api]\nhost = 127.0.0.1\nport = {port}\n" + extra
        )


@contextlib.contextmanager
def running_api(
    db_url: str, extra_config: str = "", migrate_db: bool = True, auth_strategy: str = "noauth"
) -> Iterator[str]:
    """Run ``cloudkitty-api`` on a free port; yield its base URL.

    ``auth_strategy="keystone"`` needs a ``[keystone_authtoken]`` section in
    ``extra_config``."""
    if migrate_db:
        migrate.upgrade(db_url)
    workdir = tempfile.mkdtemp(prefix="ck-api-")
    port = free_port()
    config = os.path.join(workdir, "cloudkitty.conf")
    write_config(config, db_url, port, extra_config, auth_strategy)
    log_path = os.path.join(workdir, "api.log")
    script = shutil.which("cloudkitty-api", path=os.path.dirname(sys.executable))
    command = [script] if script else [sys.executable, "-m", "cloudkitty.cmd.api"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*command, "--config-file", config], stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    with open(log_path) as handle:
                        raise RuntimeError(
                            "cloudkitty-api did not start:\n" + handle.read()
                        ) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


class Cli:
    """Runs the client's ``cloudkitty`` or ``openstack rating`` commands."""

    def __init__(self, endpoint: str, api_version: str = "1") -> None:
        self.endpoint = endpoint
        self.api_version = api_version
        bindir = os.path.dirname(sys.executable)
        self.cloudkitty = shutil.which("cloudkitty", path=bindir) or "cloudkitty"
        self.openstack = shutil.which("openstack", path=bindir) or "openstack"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(
            OS_AUTH_TYPE="cloudkitty-noauth",
            OS_ENDPOINT=self.endpoint,
            OS_RATING_API_VERSION=self.api_version,
        )
        return env

    def run(self, *args: str, tool: str = "cloudkitty", check: bool = True) -> Any:
        """Run a command; parse ``-f json`` output when the command has any."""
        program = self.cloudkitty if tool == "cloudkitty" else self.openstack
        argv = [program, *args] if tool == "cloudkitty" else [program, "rating", *args]
        result = subprocess.run(argv, env=self._env(), capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        if not check:
            return result
        out = result.stdout.strip()
        return json.loads(out) if out.startswith(("{", "[")) else out
