"""The pyscripts rating module: admin scripts that reprice frames, in a sandbox.

``load()`` reads every non-deleted script once; the rater picks those active
at each frame's start and runs them, by name then id, in one sandboxed child
process per frame (see ``sandbox.py``). Whether a script text compiles is
learnt once per checksum and process, not on every reload (upstream bug 3).
"""

from __future__ import annotations

import collections
import importlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame
from cloudkitty.rating import base
from cloudkitty.rating.pyscripts import repository, sandbox

LOG = logging.getLogger(__name__)
API_MODULE = "cloudkitty.rating.pyscripts.api"


class CheckCache:
    """checksum -> compile error (None when the text compiles), bounded LRU.

    Keyed by the SHA-512 of the text actually run, so a changed script can
    never be served a stale verdict. Compilation happens in the sandbox: a
    pathological text must not be able to hurt the processor.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._verdicts: collections.OrderedDict[str, str | None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._verdicts)

    def clear(self) -> None:
        with self._lock:
            self._verdicts.clear()

    def first_error(
        self, scripts: Sequence[repository.Script], limits: sandbox.Limits
    ) -> tuple[str, str] | None:
        """(name, reason) of the first script, in order, that does not compile."""
        keys = [repository.checksum_of(s.data or "") for s in scripts]
        with self._lock:
            unknown = {k: s for k, s in zip(keys, scripts, strict=True) if k not in self._verdicts}
        if unknown:
            sources = [sandbox.ScriptSource(s.name, s.data or "") for s in unknown.values()]
            verdicts = sandbox.check(sources, limits)
            with self._lock:
                for key, verdict in zip(unknown, verdicts, strict=True):
                    self._verdicts[key] = verdict
                while len(self._verdicts) > self._size:
                    self._verdicts.popitem(last=False)
        with self._lock:
            for key, script in zip(keys, scripts, strict=True):
                verdict = self._verdicts.get(key)
                if key in self._verdicts:
                    self._verdicts.move_to_end(key)
                if verdict is not None:
                    return script.name, verdict
        return None


#: Shared by every load in this process: reloads do not recompile.
CHECKED = CheckCache()


class ScriptRater:
    """Runs the scripts active at each frame's start through the sandbox."""

    def __init__(
        self,
        scripts: Sequence[repository.Script],
        limits: sandbox.Limits,
        cache: CheckCache | None = None,
    ) -> None:
        self.scripts = tuple(sorted(scripts, key=repository.execution_order))
        self.limits = limits
        self._cache = CHECKED if cache is None else cache

    def active(self, frame: DataFrame) -> list[repository.Script]:
        return [s for s in self.scripts if s.is_active(frame.start)]

    def rate(self, frame: DataFrame, scope_id: str | None) -> DataFrame:
        """Scripts see no scope: they only get ``data`` (upstream behaviour)."""
        scripts = self.active(frame)
        if not scripts:
            return frame
        failure = self._cache.first_error(scripts, self.limits)
        if failure is not None:
            raise exceptions.ScriptError(*failure)
        sources = [sandbox.ScriptSource(s.name, s.data or "") for s in scripts]
        return sandbox.run(frame, sources, self.limits)


class PyScripts(base.RatingModule):
    name = "pyscripts"
    description = "PyScripts rating module."
    hot_config = True

    def load(self) -> ScriptRater:
        with self.db.connect() as conn:
            scripts = repository.load_active(conn)
        return ScriptRater(scripts, sandbox.Limits.from_conf(self.conf))

    @classmethod
    def config_controller(cls) -> Any | None:
        # The HTTP layer is imported only when the API mounts it, so the
        # processor never loads pecan/wsme through this module.
        try:
            api = importlib.import_module(API_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != API_MODULE:
                LOG.exception("pyscripts API cannot be imported")
            return None
        except ImportError:
            LOG.exception("pyscripts API cannot be imported")
            return None
        return api.PyScriptsConfigController()
