"""The child side of the pyscripts sandbox: runs admin scripts on one frame.

Started by ``sandbox.py`` as ``python -I -S runner.py <cpu_s> <memory_mib>``.
It imports nothing outside the standard library (the child never loads
cloudkitty, its configuration or its database code), and the same file
provides the JSON codec both sides use.

Protocol. stdin carries one JSON request ``{"mode": "run"|"check",
"paths": [...], "scripts": [{"name", "source"}], "data": <frame dict>}``.
The original stdout becomes a private result channel and fd 1 is pointed at
stderr, so a script's ``print`` cannot corrupt the protocol. The result
channel carries JSON lines, each an object with an ``event`` key:
``running`` (index of the script about to run, so the parent can name the
culprit if the process dies), then ``result`` (the data), ``checked``
(per-script compile errors) or ``error`` (index and reason).
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import resource
import signal
import sys
import traceback
from typing import IO, Any

DECIMAL_TAG = "__decimal__"
DATETIME_TAG = "__datetime__"
DATE_TAG = "__date__"
# Decimals longer than this are not a price or a quantity; refusing them keeps
# a hostile output from making the parent parse megabyte-long numbers.
MAX_DECIMAL_CHARS = 200
MAX_REASON_CHARS = 500
SCRIPT_FILENAME = "<pyscript>"


# --- codec (used by both processes) -----------------------------------------


def _default(value: Any) -> Any:
    # Only called by json for types it does not know; dicts, lists, strings
    # and numbers stay on the fast C path.
    if isinstance(value, decimal.Decimal):
        return {DECIMAL_TAG: str(value)}
    if isinstance(value, datetime.datetime):
        return {DATETIME_TAG: value.isoformat()}
    if isinstance(value, datetime.date):
        return {DATE_TAG: value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "keys") and hasattr(value, "__getitem__"):
        return {key: value[key] for key in value.keys()}
    raise TypeError(f"values of type {type(value).__name__} cannot be returned")


def _object_hook(obj: dict[str, Any]) -> Any:
    # A single-key dict whose key is a tag is a typed value. The keys are
    # reserved: a real mapping made of one such key would be read as a value.
    if len(obj) != 1:
        return obj
    key, text = next(iter(obj.items()))
    if key not in (DECIMAL_TAG, DATETIME_TAG, DATE_TAG):
        return obj
    if not isinstance(text, str) or len(text) > MAX_DECIMAL_CHARS:
        raise ValueError(f"malformed {key} value")
    if key == DECIMAL_TAG:
        try:
            return decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError(f"malformed decimal {text!r}") from None
    if key == DATETIME_TAG:
        return datetime.datetime.fromisoformat(text)
    return datetime.date.fromisoformat(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def dumps(value: Any) -> str:
    """JSON with Decimal, datetime and date tagged; NaN refused."""
    return json.dumps(value, default=_default, allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Inverse of ``dumps``; raises ValueError (or RecursionError) on bad input."""
    return json.loads(text, object_hook=_object_hook, parse_constant=_reject_constant)


# --- child ------------------------------------------------------------------


def _set_limits(cpu_seconds: int, memory_mib: int) -> None:
    # An ignored SIGXCPU in the parent survives exec; the limit must kill.
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    memory = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    _cpu_budget(cpu_seconds, None)


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_budget(seconds: int, hard_total: int | None) -> None:
    """Allow ``seconds`` more CPU from now (SIGXCPU ends the process after).

    RLIMIT_CPU counts from process start, so the soft limit is moved forward
    before each script to give every script the same budget. The hard limit
    (SIGKILL) is fixed once, for all scripts, because an unprivileged process
    cannot raise it again once lowered.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard_total is not None:
        hard = hard_total
    # The limit has whole seconds: rounding keeps each budget within half a
    # second of ``seconds`` and always above what is already used.
    new_soft = round(_cpu_used() + seconds)
    if hard != resource.RLIM_INFINITY:
        new_soft = min(new_soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (new_soft, hard))


def _reason(exc: BaseException, memory_mib: int) -> str:
    if isinstance(exc, MemoryError):
        return f"memory limit of {memory_mib} MiB exceeded (MemoryError)"
    if isinstance(exc, SyntaxError):
        text = f"SyntaxError: {exc.msg} at line {exc.lineno}"
    else:
        text = f"{type(exc).__name__}: {exc}"
        # The innermost frame that belongs to the script gives the line an
        # admin can look at; frames of the stdlib are noise to them.
        lines = [
            frame.lineno
            for frame in traceback.extract_tb(exc.__traceback__)
            if frame.filename == SCRIPT_FILENAME
        ]
        if lines:
            text += f" at line {lines[-1]}"
    return text[:MAX_REASON_CHARS]


def _emit(out: IO[str], **event: Any) -> None:
    out.write(dumps(event) + "\n")
    out.flush()


def _check_shape(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("usage"), dict):
        return "data must remain a dict with 'period' and a 'usage' dict"
    if not isinstance(data.get("period"), dict):
        return "data must remain a dict with a 'period' dict"
    return None


def _run(out: IO[str], request: dict[str, Any], cpu: int, memory: int) -> None:
    scripts = request["scripts"]
    if request.get("mode") == "check":
        errors: list[str | None] = []
        for script in scripts:
            try:
                compile(script["source"], SCRIPT_FILENAME, "exec", dont_inherit=True)
                errors.append(None)
            except BaseException as exc:  # any failure is the script's
                errors.append(_reason(exc, memory))
        _emit(out, event="checked", errors=errors)
        return
    data = request["data"]
    for index, script in enumerate(scripts):
        _cpu_budget(cpu, None)
        _emit(out, event="running", index=index)
        try:
            code = compile(script["source"], SCRIPT_FILENAME, "exec", dont_inherit=True)
            # A fresh namespace per script, as upstream: only ``data`` and the
            # builtins. Admin scripts are trusted code; isolation is about
            # protecting the processor, not about restricting the language.
            namespace: dict[str, Any] = {"__name__": "__pyscript__", "data": data}
            exec(code, namespace)  # noqa: S102 - running admin scripts is the point
            data = namespace.get("data")
        except BaseException as exc:  # SystemExit is a failure too
            _emit(out, event="error", index=index, reason=_reason(exc, memory))
            return
        problem = _check_shape(data)
        if problem is not None:
            _emit(out, event="error", index=index, reason=problem)
            return
    _cpu_budget(cpu, None)
    try:
        text = dumps({"event": "result", "data": data})
    except (TypeError, ValueError, RecursionError) as exc:
        reason = f"data cannot be returned: {exc}"[:MAX_REASON_CHARS]
        _emit(out, event="error", index=len(scripts) - 1, reason=reason)
        return
    except MemoryError:
        _emit(out, event="error", index=len(scripts) - 1, reason=_reason(MemoryError(), memory))
        return
    out.write(text + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    cpu, memory = int(argv[1]), int(argv[2])
    # The result channel is a private copy of stdout; fd 1 and sys.stdout now
    # go to stderr, where the parent logs whatever scripts print.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _set_limits(cpu, memory)
    try:
        request = loads(sys.stdin.buffer.read())
        sys.stdin.close()
        # Site-packages without running their .pth hooks: scripts may import
        # installed libraries, start-up stays at the cost of a bare interpreter.
        sys.path.extend(path for path in request.get("paths", ()) if isinstance(path, str))
        # Give the hard limit (SIGKILL) room for every script and the output.
        total = int(_cpu_used()) + 2 + cpu * (len(request["scripts"]) + 1)
        _cpu_budget(cpu, total)
    except BaseException as exc:  # a broken request is reported, not raised
        _emit(out, event="error", index=None, reason=f"bad request: {_reason(exc, memory)}")
        return 2
    try:
        _run(out, request, cpu, memory)
    except MemoryError:
        _emit(out, event="error", index=None, reason=_reason(MemoryError(), memory))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
