"""Keeping Python's cyclic garbage collector out of bulk work.

Reference counting frees almost everything the processor allocates; the
cyclic collector only matters for reference cycles (tracebacks, some
library internals). But it runs every few hundred allocations and walks
every young container still alive: while a batch of scopes is rated, that
is each of its ~10 containers per point, again and again until the batch
is committed. Measured on 24,000-point batches: a quarter of the worker's
CPU, even with the start-up objects frozen (``gc.freeze``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; cycles made meanwhile are
    collected after it, as usual.

    Meant for a bounded piece of work whose memory is released by
    reference counting when it ends (one batch). A no-op when the collector
    is already off (disabled by the caller, or paused by another thread:
    the first pauser turns it back on).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
