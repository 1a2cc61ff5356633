"""Cold start: a handler imports its modules and builds its clients with the garbage collector paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def garbage_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (a handler's imports and wiring).

    A cold start allocates hundreds of thousands of objects that live as long as the execution
    environment (modules, botocore's service models, clients). Every few hundred allocations the collector
    runs, and the older generations are traversed again and again while nothing in them is garbage: about
    a measurable share of a cold start on the benchmark machine (benchmarks/RESULTS.md). Reference counting
    still frees everything else at once; the collector runs again as usual after the block.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
