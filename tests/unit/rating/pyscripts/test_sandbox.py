"""The sandbox: scripts run in a child process and every failure is a ScriptError."""

from __future__ import annotations

import decimal
import os
import textwrap

import pytest

from cloudkitty import exceptions
from cloudkitty.rating.pyscripts import sandbox

from .conftest import SMALL

Decimal = decimal.Decimal

CONTRACT_EXAMPLE = textwrap.dedent(
    """
    from decimal import Decimal

    def process(data):
        for point in data["usage"].get("compute", []):
            if point["groupby"].get("flavor") == "m1.nano":
                point["rating"]["price"] = Decimal(2.0)
        for point in data["usage"].get("instance_status", []):
            if point["groupby"].get("flavor") == "m1.ultra":
                memory = Decimal(point["metadata"]["memory"])
                point["rating"]["price"] = memory * Decimal("1.5")
        return data

    data = process(data)
    """
)


def _run(frame, *sources, limits=SMALL):
    scripts = [sandbox.ScriptSource(f"script{i}", src) for i, src in enumerate(sources)]
    return sandbox.run(frame, scripts, limits)


def _fails(frame, source, limits=SMALL) -> exceptions.ScriptError:
    with pytest.raises(exceptions.ScriptError) as info:
        _run(frame, source, limits=limits)
    assert info.value.script_name == "script0"
    # The parent lives on and the sandbox still works after the failure.
    assert _run(frame, "pass") == frame
    return info.value


def test_contract_example_prices_are_exact(frame):
    rated = _run(frame, CONTRACT_EXAMPLE)
    prices = {p.groupby["id"]: p.price for _, p in rated.iterpoints()}
    assert prices == {"a": Decimal(2), "b": 0, "c": Decimal("768.0"), "d": 0}
    assert isinstance(prices["c"], Decimal)
    # Nothing else moved.
    assert [(m, p.qty, dict(p.groupby)) for m, p in rated.iterpoints()] == [
        (m, p.qty, dict(p.groupby)) for m, p in frame.iterpoints()
    ]


def test_no_scripts_returns_the_frame_without_spawning(frame, monkeypatch):
    monkeypatch.setattr(sandbox, "_spawn", None)
    assert sandbox.run(frame, [], SMALL) is frame


def test_scripts_run_in_order_each_with_a_fresh_namespace(frame):
    first = "from decimal import Decimal\nleftover = 1\n"
    first += "data['usage']['compute'][0]['rating']['price'] = Decimal('1.25')"
    second = textwrap.dedent(
        """
        assert "leftover" not in globals()
        point = data["usage"]["compute"][0]
        point["rating"]["price"] = point["rating"]["price"] * 2
        """
    )
    rated = _run(frame, first, second)
    assert rated.points("compute")[0].price == Decimal("2.50")


def test_scripts_may_add_and_remove_metrics(frame):
    source = textwrap.dedent(
        """
        from decimal import Decimal
        del data["usage"]["instance_status"]
        data["usage"]["extra"] = [{"vol": {"unit": "GiB", "qty": Decimal("0.5")},
                                   "groupby": {"id": "e"}, "metadata": {}}]
        """
    )
    rated = _run(frame, source)
    assert rated.metric_types() == ["compute", "extra"]
    assert rated.points("extra")[0].qty == Decimal("0.5")


def test_print_does_not_corrupt_the_result(frame):
    rated = _run(frame, 'print(\'{"event": "result"}\')\nprint(data)')
    assert rated == frame


def test_exception_names_script_type_and_line(frame):
    error = _fails(frame, "x = 1\ny = 2\nz = x / 0\n")
    assert error.reason == "ZeroDivisionError: division by zero at line 3"
    assert "script0" in str(error)


def test_later_script_is_named(frame):
    with pytest.raises(exceptions.ScriptError) as info:
        _run(frame, "pass", "raise KeyError('k')")
    assert info.value.script_name == "script1"
    assert info.value.reason == "KeyError: 'k' at line 1"


def test_syntax_error(frame):
    error = _fails(frame, "a = 1\ndef broken(:\n")
    assert error.reason.startswith("SyntaxError: ")
    assert error.reason.endswith("at line 2")


def test_sys_exit_is_a_failure(frame):
    error = _fails(frame, "import sys\nsys.exit(3)")
    assert error.reason == "SystemExit: 3 at line 2"


def test_os_exit_without_result(frame):
    error = _fails(frame, "import os\nos._exit(0)")
    assert error.reason == "process exited with status 0 before returning data"


def test_native_crash(frame):
    error = _fails(frame, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert error.reason == "process killed by signal SIGSEGV"


@pytest.mark.slow
def test_infinite_loop_hits_the_cpu_limit(frame):
    error = _fails(frame, "while True:\n    pass\n")
    assert error.reason == "CPU time limit of 1 s exceeded"


@pytest.mark.slow
def test_sleeping_script_hits_the_wall_clock_limit(frame):
    limits = sandbox.Limits(cpu_time=5, wall_time=1, memory_mb=256)
    error = _fails(frame, "import time\ntime.sleep(30)", limits=limits)
    assert error.reason == "wall-clock limit of 1 s exceeded"


@pytest.mark.slow
def test_cpu_budget_is_per_script(frame):
    # Each script burns ~0.6 s of CPU: together more than the 1 s limit,
    # each well within it.
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6:\n    pass\n"
    assert _run(frame, burn, burn) == frame


def test_memory_bomb(frame):
    limits = sandbox.Limits(cpu_time=5, wall_time=5, memory_mb=96)
    source = "hoard = []\nwhile True:\n    hoard.append(' ' * 2**20)\n"
    error = _fails(frame, source, limits=limits)
    assert error.reason == "memory limit of 96 MiB exceeded (MemoryError)"


def test_one_huge_allocation(frame):
    error = _fails(frame, "x = bytearray(2**40)")
    assert error.reason == "memory limit of 256 MiB exceeded (MemoryError)"


def test_environment_is_not_inherited(frame, monkeypatch, tmp_path):
    monkeypatch.setenv("OS_PASSWORD", "hunter2")
    monkeypatch.setenv("CK_SECRET_TRANSPORT_URL", "rabbit://guest:hunter2@host")
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2")
    with open(secret) as handle:
        os.set_inheritable(handle.fileno(), True)
        source = textwrap.dedent(
            """
            import os
            fds = []
            for fd in os.listdir("/proc/self/fd"):
                try:
                    fds.append(os.readlink(f"/proc/self/fd/{fd}"))
                except OSError:
                    pass
            data["usage"]["compute"][0]["metadata"] = {
                "env": dict(os.environ), "cwd": os.getcwd(), "fds": fds}
            """
        )
        rated = _run(frame, source)
    seen = rated.points("compute")[0].metadata
    assert set(seen["env"]) <= {"PATH", "LC_ALL"}
    assert "hunter2" not in repr(seen["env"])
    assert str(secret) not in seen["fds"]
    assert seen["cwd"] != os.getcwd()
    assert os.path.basename(seen["cwd"]).startswith("ck-pyscripts-")
    assert not os.path.exists(seen["cwd"])  # removed after the run


def test_scripts_cannot_leave_processes_behind(frame):
    source = textwrap.dedent(
        """
        import os, time
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        data["usage"]["compute"][0]["metadata"] = {"child": pid}
        """
    )
    rated = _run(frame, source)
    pid = rated.points("compute")[0].metadata["child"]
    try:
        with open(f"/proc/{pid}/status") as status:
            state = next(line for line in status if line.startswith("State:"))
        assert "Z" in state  # killed, waiting for init to reap it
    except FileNotFoundError:
        pass


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("data = 42", "data must remain a dict with 'period' and a 'usage' dict"),
        ("data = None", "data must remain a dict with 'period' and a 'usage' dict"),
        ("del data", "data must remain a dict with 'period' and a 'usage' dict"),
        ("data['usage']['compute'] = 'x'", "invalid data: dataframe: usage.compute must be a list"),
        ("data['usage']['compute'][0]['vol']['qty'] = 'lots'", "invalid data: qty is not a number"),
        ("data['usage']['compute'][0]['groupby'] = {1, 2}", "data cannot be returned"),
        ("data['usage']['compute'][0]['vol']['qty'] = float('inf')", "data cannot be returned"),
        ("data['usage']['compute'][0]['metadata'] = data", "data cannot be returned"),
    ],
)
def test_garbage_data(frame, source, reason):
    error = _fails(frame, source)
    assert error.reason.startswith(reason)


def test_period_may_not_change(frame):
    source = "import datetime\ndata['period']['end'] += datetime.timedelta(hours=1)"
    error = _fails(frame, source)
    assert error.reason == "scripts may not change the period of the frame"


def test_forged_output_is_rejected(frame):
    # fd 3 is the runner's result channel; a script writing there directly
    # must not be able to smuggle anything but validated JSON events.
    source = "import os\nos.write(3, b'\\x80\\x04garbage\\n')\nos._exit(0)"
    error = _fails(frame, source)
    assert error.reason == "malformed output from the sandbox (exit status 0)"


def test_floats_from_scripts_become_exact_decimals(frame):
    rated = _run(frame, "data['usage']['compute'][0]['rating']['price'] = 0.1")
    assert rated.points("compute")[0].price == Decimal("0.1")


def test_third_party_packages_are_importable(frame):
    rated = _run(frame, "import dateutil\ndata['usage']['compute'][0]['metadata'] = {'ok': 1}")
    assert rated.points("compute")[0].metadata == {"ok": 1}


def test_check_reports_compile_errors_per_script():
    scripts = [
        sandbox.ScriptSource("good", "x = 1"),
        sandbox.ScriptSource("bad", "x = (\n"),
        sandbox.ScriptSource("good2", "def f():\n    return 1\n"),
    ]
    verdicts = sandbox.check(scripts, SMALL)
    assert verdicts[0] is None and verdicts[2] is None
    assert verdicts[1] is not None and verdicts[1].startswith("SyntaxError: ")
    assert sandbox.check([], SMALL) == []


def test_limits_from_conf():
    from oslo_config import cfg

    from cloudkitty import conf as ck_conf

    conf = ck_conf.register_all(cfg.ConfigOpts())
    conf([], project="cloudkitty", default_config_files=[])
    conf.set_override("cpu_time_limit", 3, group="pyscripts")
    assert sandbox.Limits.from_conf(conf) == sandbox.Limits(3, 30, 512)
    assert sandbox.Limits.from_conf(cfg.ConfigOpts()) == sandbox.Limits()
