"""The memory pool Arrow allocates from in the ``loyalty`` commands."""

from __future__ import annotations

import contextlib
import os


def use_jemalloc() -> str:
    """Make jemalloc the default memory pool of Arrow in this process (and in the copies it
    forks), unless ``ARROW_DEFAULT_MEMORY_POOL`` chooses one or pyarrow was built without
    it; the name of the pool in use.

    The readers' CSV parse and conversions allocate about 2 GB of Arrow buffers per 10M
    lines. Measured on a 2-core virtual machine (reading 10M generated lines, three
    alternating runs each): 2.1-2.9 s with pyarrow's default mimalloc, 1.3-1.5 s with
    jemalloc, the difference all in the kernel zeroing fresh pages (2.0-3.8 s of system
    time against 0.6-0.9 s), at the same peak memory; the whole report 0.7-1.7 s faster.

    Examples
    --------
    >>> use_jemalloc() in ("jemalloc", "mimalloc", "system")
    True
    """
    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        with contextlib.suppress(NotImplementedError):  # pyarrow without jemalloc (Windows)
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return pa.default_memory_pool().backend_name
