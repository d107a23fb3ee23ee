"""Acceptance: the real python-cloudkittyclient drives the pyscripts API.

For each database backend a real ``cloudkitty-api`` process is started once
(module-scoped) and both CLIs, ``cloudkitty pyscript ...`` and ``openstack
rating pyscript ...``, create, read, list, update and delete scripts; what
comes back must be exactly what was written. A last test enables the module
and prices a quote with a script, end to end through the API process and the
sandbox. Each CLI call costs about a second, so the tests chain operations
rather than repeat set-ups.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import BACKENDS, truncate_all
from tests.functional.services.api_server import Cli, running_api

SCRIPTS = "/v1/rating/module_config/pyscripts/scripts"

#: The CLI's column titles for each key of a script (pyscripts_cli.BaseScriptCli).
COLUMNS = {
    "name": "Name",
    "script_id": "Script ID",
    "checksum": "Checksum",
    "data": "Data",
    "start": "Script Start Date",
    "end": "Script End Date",
    "description": "Script Description",
}

FIRST = (
    "# Prix par saveur — UTF-8 survives the round trip\n"
    "from decimal import Decimal\n"
    "\n"
    "def process(data):\n"
    "    return data\n"
    "\n"
    "data = process(data)\n"
)
SECOND = FIRST.replace("return data", "return dict(data)")

#: Prices compute points: m1.nano at 0.1 per unit of volume, m1.tiny a flat 1.05.
PRICING = (
    "from decimal import Decimal\n"
    "\n"
    "def process(data):\n"
    "    for point in data['usage'].get('compute', []):\n"
    "        flavor = point['metadata'].get('flavor')\n"
    "        if flavor == 'm1.nano':\n"
    "            point['rating']['price'] = point['vol']['qty'] * Decimal('0.1')\n"
    "        elif flavor == 'm1.tiny':\n"
    "            point['rating']['price'] = Decimal('1.05')\n"
    "    return data\n"
    "\n"
    "data = process(data)\n"
)


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, migrated_db_urls: dict[str, str]
) -> Iterator[tuple[str, Cli]]:
    """One API process per backend for the whole module: (base URL, CLI)."""
    url = migrated_db_urls[request.param]
    truncate_all(url)
    with running_api(url) as endpoint:
        yield endpoint, Cli(endpoint)


# --- helpers ---------------------------------------------------------------


def _sha512(text: str) -> str:
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def _http(endpoint: str, path: str, body: Any = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        endpoint + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def _api_get(endpoint: str, path: str) -> Any:
    status, text = _http(endpoint, path)
    assert status == 200
    return json.loads(text)


def _row(output: Any) -> dict[str, Any]:
    """The single row a ``-f json`` pyscript command prints."""
    assert isinstance(output, list) and len(output) == 1, output
    return dict(output[0])


def _as_cli(script: dict[str, Any]) -> dict[str, Any]:
    """A script read through the API, as the CLI shows it."""
    return {title: script.get(key) for key, title in COLUMNS.items()}


def _naive_utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


# --- tests -----------------------------------------------------------------


def test_cloudkitty_cli_round_trip(live, tmp_path):
    endpoint, cli = live
    first = tmp_path / "first.py"
    first.write_text(FIRST, encoding="utf-8")
    before = _naive_utc_now()

    created = _row(
        cli.run(
            "pyscript",
            "create",
            "policy1",
            str(first),
            "--start",
            "2999-01-01 10:00:00",
            "--end",
            "2999-06-30",
            "--description",
            "First version",
            "-f",
            "json",
        )
    )
    script_id = created["Script ID"]
    assert created == {
        "Name": "policy1",
        "Script ID": script_id,
        "Checksum": _sha512(FIRST),
        "Data": FIRST,
        "Script Start Date": "2999-01-01T10:00:00",
        # a bare end date covers that whole day
        "Script End Date": "2999-06-30T23:59:59",
        "Script Description": "First version",
    }
    stored = _api_get(endpoint, f"{SCRIPTS}/{script_id}")
    assert _as_cli(stored) == created
    created_at = datetime.datetime.fromisoformat(stored["created_at"])
    assert before <= created_at <= _naive_utc_now()
    assert (stored["deleted"], stored["created_by"], stored["updated_by"]) == (
        None,
        "unknown",
        None,
    )

    assert _row(cli.run("pyscript", "get", script_id, "-f", "json")) == created
    assert cli.run("pyscript", "list", "-f", "json") == [created]

    # The client echoes the object it read (minus checksum) with the changes.
    second = tmp_path / "second.py"
    second.write_text(SECOND, encoding="utf-8")
    updated = _row(
        cli.run(
            "pyscript",
            "update",
            script_id,
            "--data",
            str(second),
            "--description",
            "Second version",
            "-f",
            "json",
        )
    )
    assert updated == {
        **created,
        "Data": SECOND,
        "Checksum": _sha512(SECOND),
        "Script Description": "Second version",
    }
    stored = _api_get(endpoint, f"{SCRIPTS}/{script_id}")
    assert _as_cli(stored) == updated
    assert (stored["created_at"], stored["updated_by"]) == (created_at.isoformat(), "unknown")

    # A script that does not compile is refused, with the line, and not stored.
    broken = cli.run("pyscript", "create", "broken", "x = (1,\n", check=False)
    assert broken.returncode != 0
    assert "Script broken cannot be compiled: SyntaxError" in broken.stdout + broken.stderr
    assert "at line 1" in broken.stdout + broken.stderr

    assert cli.run("pyscript", "delete", script_id) == ""
    assert cli.run("pyscript", "list", "-f", "json") == []
    deleted = _api_get(endpoint, f"{SCRIPTS}/?deleted=True")["scripts"]
    assert [s["script_id"] for s in deleted] == [script_id]
    assert deleted[0]["deleted"] is not None
    assert deleted[0]["deleted_by"] == "unknown"


def test_openstack_cli_round_trip(live):
    endpoint, cli = live
    # Without --start the script starts now: it is running at once.
    created = _row(
        cli.run("pyscript", "create", "policy2", "a = 0", "-f", "json", tool="openstack")
    )
    script_id = created["Script ID"]
    assert (created["Name"], created["Data"], created["Checksum"]) == (
        "policy2",
        "a = 0",
        _sha512("a = 0"),
    )
    assert (created["Script End Date"], created["Script Description"]) == (None, None)
    stored = _api_get(endpoint, f"{SCRIPTS}/{script_id}")
    assert stored["start"] == stored["created_at"]
    assert _row(cli.run("pyscript", "get", script_id, "-f", "json", tool="openstack")) == created

    listed = cli.run("pyscript", "list", "--no-data", "-f", "json", tool="openstack")
    assert listed == [{**created, "Data": None}]

    # The object echoed back by the client is accepted for a running script.
    ended = _row(
        cli.run(
            "pyscript",
            "update",
            script_id,
            "--end",
            "2999-01-01T00:00:00",
            "-f",
            "json",
            tool="openstack",
        )
    )
    assert ended == {**created, "Script End Date": "2999-01-01T00:00:00"}
    assert _as_cli(_api_get(endpoint, f"{SCRIPTS}/{script_id}")) == ended

    assert cli.run("pyscript", "delete", script_id, tool="openstack") == ""
    assert _api_get(endpoint, f"{SCRIPTS}/")["scripts"] == []
    assert _api_get(endpoint, f"{SCRIPTS}/{script_id}")["deleted"] is not None


def test_quote_is_priced_by_a_script(live):
    endpoint, cli = live
    created = _row(cli.run("pyscript", "create", "pricing", PRICING, "-f", "json"))
    enabled = cli.run("module", "enable", "pyscripts", "-f", "json")
    assert [(m["Module"], m["Enabled"]) for m in enabled] == [("pyscripts", True)]

    # A quote is rated at the start of the current second: make sure the
    # script (started at its creation) is active by then.
    start = datetime.datetime.fromisoformat(created["Script Start Date"])
    wait = (start - _naive_utc_now()).total_seconds() + 1.1
    if wait > 0:
        time.sleep(wait)

    resources = [
        {"service": "compute", "desc": {"flavor": "m1.nano"}, "volume": "3"},
        {"service": "compute", "desc": {"flavor": "m1.tiny"}, "volume": "5"},
        {"service": "compute", "desc": {"flavor": "m1.large"}, "volume": "1"},
        {"service": "volume", "desc": {"flavor": "m1.nano"}, "volume": "7"},
    ]
    status, body = _http(endpoint, "/v1/rating/quote/", {"resources": resources})
    assert status == 200
    # 3 x 0.1 + 1.05, in Decimal from the JSON text to the response: a float
    # pipeline would answer 1.3500000000000001.
    assert decimal.Decimal(body) == decimal.Decimal("1.35")
    assert body.rstrip("0") == "1.35"

    # The script is running now: only an end may be set; the client shows
    # the server's message (upstream's client tests match this text).
    script_id = created["Script ID"]
    refused = cli.run("pyscript", "update", script_id, "--data", "a = 1", check=False)
    assert refused.returncode != 0
    assert (
        "You are allowed to update only the attribute [end] as this rule is already running"
        in refused.stdout + refused.stderr
    )
    cli.run("module", "disable", "pyscripts")
    status, body = _http(endpoint, "/v1/rating/quote/", {"resources": resources})
    assert decimal.Decimal(body) == 0
