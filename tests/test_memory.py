"""Handing freed heap memory back to the system, measured on this process's own resident set."""

from __future__ import annotations

import asyncio
import os

import pytest

from facilities.lib import memory

pytestmark = pytest.mark.skipif(not memory.available(), reason="needs glibc's malloc_trim")

MB = 1024 * 1024


def resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_trim_returns_the_pages_freed_blocks_left_inside_the_heap() -> None:
    blocks = [os.urandom(4000) for _ in range(20_000)]  # 80 MB in blocks the C heap serves
    pinned = os.urandom(4000)  # allocated above them: the heap's top cannot simply shrink
    del blocks
    freed = resident_bytes()
    assert memory.trim()
    assert freed - resident_bytes() > 40 * MB
    assert len(pinned) == 4000


async def test_trimming_is_off_at_zero_and_a_task_that_stops_with_the_block_otherwise() -> None:
    async with memory.trimming(0):
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "memory-trim"]
    async with memory.trimming(60):
        (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "memory-trim"]
        assert not task.done()
    assert task.cancelled()
