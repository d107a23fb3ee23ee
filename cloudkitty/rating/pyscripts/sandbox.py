"""Run admin-written rating scripts in a child process, never in the processor.

Why a fresh ``subprocess`` (``python -I -S runner.py``) and not
``multiprocessing`` or ``os.fork``: a forked child would inherit the
processor's memory (configuration with database and transport credentials,
open sockets), and ``multiprocessing`` (even with *spawn*) talks pickle, which
lets the child make the parent run code when it unpickles a result. A new
interpreter started in isolated mode, without ``site`` (no ``.pth`` hooks),
with an almost empty environment, a temporary working directory, no inherited
file descriptors and its own session (so the whole process group can be
killed) sees nothing of the parent; results come back as JSON lines with
tagged Decimal/datetime values and are validated before use.

Limits: the child sets RLIMIT_CPU (per script), RLIMIT_AS and RLIMIT_CORE=0
on itself; the parent enforces the wall-clock deadline by killing the process
group. One child runs all the scripts of one frame, in the order given (the
module passes them sorted by name, then id). Every failure surfaces as
``ScriptError(script_name, reason)``; the calling process always survives.

These limits protect the processor from mistakes (loops, memory blow-ups,
crashes, stray output). They are not a jail against a hostile admin: the
child runs with the processor's user id and file system access.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import selectors
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.rating.pyscripts import runner

LOG = logging.getLogger(__name__)

RUNNER_PATH = os.path.abspath(runner.__file__)
# What a bare interpreter needs; nothing of the processor's environment
# (OS_* credentials, transport URLs, database URL) reaches scripts.
CHILD_ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
STDERR_CAP = 64 * 1024
_CHUNK = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox run (see ``[pyscripts]`` options)."""

    cpu_time: int = 10
    wall_time: int = 30
    memory_mb: int = 512

    @classmethod
    def from_conf(cls, conf: Any) -> Limits:
        """Limits from ``conf.pyscripts``; defaults when the group is absent."""
        try:
            group = conf.pyscripts
            return cls(
                cpu_time=int(group.cpu_time_limit),
                wall_time=int(group.wall_time_limit),
                memory_mb=int(group.memory_limit_mb),
            )
        except AttributeError:  # oslo.config NoSuchOptError: group not registered
            return cls()


@dataclasses.dataclass(frozen=True)
class ScriptSource:
    """What the sandbox needs of a script: a name for errors and its text."""

    name: str
    source: str


@dataclasses.dataclass
class _Outcome:
    stdout: bytes
    stderr: bytes
    returncode: int
    timed_out: bool
    overflow: bool


def run(frame: DataFrame, scripts: Sequence[ScriptSource], limits: Limits) -> DataFrame:
    """Run ``scripts`` one after the other on ``frame``; return the new frame.

    Each script gets ``limits.cpu_time`` CPU seconds; the run as a whole gets
    ``limits.wall_time`` seconds per script. Raises ``ScriptError`` naming
    the failing script (invalid final data is blamed on the last one). The
    period may not be changed: the frame is stored for the period rated.
    """
    if not scripts:
        return frame
    names = [script.name for script in scripts]
    request = {
        "mode": "run",
        "paths": _site_paths(),
        "scripts": [{"name": s.name, "source": s.source} for s in scripts],
        "data": frame.to_dict(),
    }
    final = _execute(request, names, limits, limits.wall_time * len(scripts))
    if final.get("event") != "result":
        raise exceptions.ScriptError(_all(names), "the sandbox returned no data")
    data: Any = final.get("data")
    try:
        result = DataFrame.from_dict(data)
    except exceptions.InvalidInput as exc:
        raise exceptions.ScriptError(names[-1], f"invalid data: {exc}") from None
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise exceptions.ScriptError(names[-1], f"invalid data: {exc!r}"[:500]) from None
    if (result.start, result.end) != (frame.start, frame.end):
        raise exceptions.ScriptError(names[-1], "scripts may not change the period of the frame")
    return result


def check(scripts: Sequence[ScriptSource], limits: Limits) -> list[str | None]:
    """Compile each script in the sandbox; a reason per failing script, else None.

    The parent never compiles script text itself: a pathological source can
    exhaust the memory or the stack of the compiler.
    """
    if not scripts:
        return []
    names = [script.name for script in scripts]
    request = {
        "mode": "check",
        "scripts": [{"name": s.name, "source": s.source} for s in scripts],
    }
    final = _execute(request, names, limits, limits.wall_time)
    errors = final.get("errors")
    if (
        final.get("event") != "checked"
        or not isinstance(errors, list)
        or len(errors) != len(scripts)
        or not all(e is None or isinstance(e, str) for e in errors)
    ):
        raise exceptions.ScriptError(_all(names), "the sandbox returned malformed output")
    return [None if e is None else e[: runner.MAX_REASON_CHARS] for e in errors]


def _all(names: Sequence[str]) -> str:
    return ", ".join(names)


def _site_paths() -> list[str]:
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(p for p in (paths.get("purelib"), paths.get("platlib")) if p))


def _execute(
    request: dict[str, Any], names: Sequence[str], limits: Limits, timeout: float
) -> dict[str, Any]:
    """Spawn the runner, talk to it, and return its final event (validated)."""
    try:
        payload = runner.dumps(request).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise exceptions.ScriptError(_all(names), f"the frame cannot be sent: {exc}") from None
    outcome = _spawn(payload, limits, timeout)
    running, final, malformed = _parse(outcome.stdout, len(names))
    culprit = names[running] if running is not None else _all(names)
    if outcome.stderr:
        # Whatever scripts print lands here; useful to admins when debugging.
        LOG.debug("pyscripts output of %s: %s", culprit, outcome.stderr.decode("utf-8", "replace"))
    if final is not None:
        if final["event"] == "error":
            index = final.get("index")
            name = names[index] if isinstance(index, int) else culprit
            raise exceptions.ScriptError(name, final["reason"])
        return final
    reason = _failure_reason(outcome, limits, malformed)
    LOG.warning(
        "pyscripts sandbox failed in %s: %s; stderr: %s",
        culprit,
        reason,
        outcome.stderr[-2048:].decode("utf-8", "replace"),
    )
    raise exceptions.ScriptError(culprit, reason)


def _failure_reason(outcome: _Outcome, limits: Limits, malformed: bool) -> str:
    if outcome.timed_out:
        return f"wall-clock limit of {limits.wall_time} s exceeded"
    if outcome.overflow:
        return f"output larger than {limits.memory_mb} MiB"
    code = outcome.returncode
    if code == -signal.SIGXCPU:
        return f"CPU time limit of {limits.cpu_time} s exceeded"
    if code == -signal.SIGKILL:
        return (
            f"killed by SIGKILL (CPU time limit of {limits.cpu_time} s"
            f" or memory limit of {limits.memory_mb} MiB exceeded)"
        )
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"process killed by signal {name}"
    if malformed:
        return f"malformed output from the sandbox (exit status {code})"
    return f"process exited with status {code} before returning data"


def _parse(stdout: bytes, count: int) -> tuple[int | None, dict[str, Any] | None, bool]:
    """(index of the last script started, final event or None, malformed?).

    Nothing the child writes is trusted: each line must be a JSON object of
    a known event with well-typed fields, else the output is malformed.
    """
    running: int | None = None
    lines = stdout.split(b"\n")
    # The part after the last newline is an unfinished line (process killed).
    for line in lines[:-1]:
        try:
            event = runner.loads(line)
        except (ValueError, RecursionError, UnicodeDecodeError):
            return running, None, True
        if not isinstance(event, dict):
            return running, None, True
        kind = event.get("event")
        index = event.get("index")
        valid_index = index is None or (
            isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count
        )
        if kind == "running" and valid_index and index is not None:
            running = index
        elif kind == "error" and valid_index and isinstance(event.get("reason"), str):
            event["reason"] = event["reason"][: runner.MAX_REASON_CHARS]
            return running, event, False
        elif kind in ("result", "checked"):
            return running, event, False
        else:
            return running, None, True
    return running, None, bool(lines[-1])


def _interpreter() -> str:
    # Under an embedding server (uwsgi, mod_wsgi) sys.executable is not python.
    if sys.executable and os.path.basename(sys.executable).startswith("python"):
        return sys.executable
    return os.path.join(sys.exec_prefix, "bin", "python3")


def _spawn(payload: bytes, limits: Limits, timeout: float) -> _Outcome:
    argv = [_interpreter(), "-I", "-S", "-X", "utf8", RUNNER_PATH]
    argv += [str(limits.cpu_time), str(limits.memory_mb)]
    with tempfile.TemporaryDirectory(prefix="ck-pyscripts-") as workdir:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=CHILD_ENV,
            close_fds=True,
            start_new_session=True,
        )
        try:
            return _talk(proc, payload, timeout, limits.memory_mb * 1024 * 1024)
        finally:
            # Kill the group before reaping: the unreaped leader keeps the
            # group id from being reused, and grandchildren die with it.
            _kill_group(proc)
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None and not pipe.closed:
                    pipe.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _talk(proc: subprocess.Popen[bytes], payload: bytes, timeout: float, cap: int) -> _Outcome:
    """Feed stdin, drain stdout/stderr and wait for exit, all before a deadline."""
    assert proc.stdin and proc.stdout and proc.stderr
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    overflow = timed_out = exited = False
    sel = selectors.DefaultSelector()
    pidfd = _pidfd(proc.pid)
    try:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ)
        view, sent = memoryview(payload), 0
        while (proc.stdout in _files(sel)) or not exited:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = not exited
                break
            if pidfd is None and not exited:
                # Without pidfd (non-Linux) poll the exit with a short tick.
                remaining = min(remaining, 0.01)
                exited = _exited(proc.pid)
            for key, _mask in sel.select(remaining):
                if key.fileobj is proc.stdin:
                    try:
                        sent += os.write(proc.stdin.fileno(), view[sent : sent + _CHUNK])
                    except BlockingIOError:
                        pass
                    except BrokenPipeError:
                        # The child stopped reading; its exit status says why.
                        sent = len(payload)
                    if sent >= len(payload):
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                elif key.fileobj is pidfd:
                    exited = True
                    sel.unregister(pidfd)
                    # The leader is gone; kill leftovers so the pipes close.
                    _kill_group(proc)
                else:
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.fileobj is proc.stdout:
                        out += chunk
                        overflow = len(out) > cap
                    elif len(err) < STDERR_CAP:
                        err += chunk[: STDERR_CAP - len(err)]
            if overflow:
                break
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    _kill_group(proc)
    returncode = proc.wait()
    return _Outcome(bytes(out), bytes(err), returncode, timed_out, overflow)


def _files(sel: selectors.BaseSelector) -> list[Any]:
    return [key.fileobj for key in sel.get_map().values()]


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _exited(pid: int) -> bool:
    # WNOWAIT: look without reaping, so the group id stays reserved until
    # the group has been killed.
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None
