"""Per-scope locks through tooz, so any number of processors can run.

The file backend serialises processes of one host; Redis (or any tooz
backend with locks) serialises processors across hosts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

from oslo_log import log
from tooz import coordination

LOG = log.getLogger(__name__)


def lock_name(*parts: Any) -> bytes:
    """A short, stable lock name from its parts (scope, collector, fetcher, key)."""
    text = "cloudkitty-" + "-".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest().encode()


class LockManager:
    """Owns one tooz coordinator; hands out non-blocking or blocking locks."""

    def __init__(self, url: str, member_id: str | None = None) -> None:
        self.url = url
        self.member_id = (member_id or f"cloudkitty-{os.getpid()}-{uuid.uuid4().hex[:8]}").encode()
        self._coordinator: Any = None

    def start(self) -> None:
        parsed = urllib.parse.urlparse(self.url)
        if parsed.scheme == "file" and parsed.path:
            os.makedirs(parsed.path, exist_ok=True)
        self._coordinator = coordination.get_coordinator(self.url, self.member_id)
        self._coordinator.start(start_heart=True)

    def stop(self) -> None:
        if self._coordinator is not None:
            try:
                self._coordinator.stop()
            except coordination.ToozError:
                LOG.warning("Could not stop the lock coordinator cleanly", exc_info=True)
            self._coordinator = None

    def lock(self, name: bytes) -> Any:
        if self._coordinator is None:
            raise RuntimeError("LockManager.start() was not called")
        return self._coordinator.get_lock(name)

    @contextlib.contextmanager
    def try_lock(self, name: bytes) -> Iterator[bool]:
        """Yield True holding the lock, or False when someone else holds it."""
        lock = self.lock(name)
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    lock.release()
                except coordination.ToozError:
                    LOG.warning("Could not release lock %s", name, exc_info=True)

    @contextlib.contextmanager
    def hold(self, name: bytes, timeout: float | None = None) -> Iterator[None]:
        """Block until the lock is ours (scope resets must not be skipped)."""
        lock = self.lock(name)
        if not lock.acquire(blocking=timeout if timeout is not None else True):
            raise TimeoutError(f"lock {name!r} not acquired within {timeout} s")
        try:
            yield
        finally:
            lock.release()
