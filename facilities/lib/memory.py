"""Handing freed heap memory back to the operating system (glibc's ``malloc_trim``).

CPython passes blocks over 512 bytes (rendered pages, query results, request bodies) to the C
allocator. glibc keeps what they free inside the process for reuse and returns only the top of
the heap, so after each peak (a new public version's pages, a large export, a burst of
requests) a long-running worker's resident memory stays near its high-water mark and creeps
up as the heap fragments. ``malloc_trim(0)`` returns every free page; it takes a few
milliseconds, so the web and scheduler processes call it every
``FACILITIES_MEMORY_TRIM_SECONDS``. On a C library without it (musl, macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
from collections.abc import AsyncIterator, Callable


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_MALLOC_TRIM = _load_trim()


def available() -> bool:
    return _MALLOC_TRIM is not None


def trim() -> bool:
    """Return the heap's free pages to the system; True when some memory was released."""
    return _MALLOC_TRIM is not None and bool(_MALLOC_TRIM(0))


@contextlib.asynccontextmanager
async def trimming(every_seconds: float) -> AsyncIterator[None]:
    """Trim every ``every_seconds`` while the block runs (0: never)."""
    if every_seconds <= 0 or not available():
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            trim()

    task = asyncio.create_task(loop(), name="memory-trim")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
