"""gc_paused: the cyclic collector is off inside, back on after, even on errors."""

from __future__ import annotations

import gc

import pytest

from cloudkitty.utils import memory


def test_collector_is_paused_then_restored() -> None:
    assert gc.isenabled()
    with memory.gc_paused():
        assert not gc.isenabled()
        with memory.gc_paused():  # nested: still off, and not turned on early
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_when_the_block_raises() -> None:
    with pytest.raises(ValueError), memory.gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_left_off_when_the_caller_turned_it_off() -> None:
    gc.disable()
    try:
        with memory.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
