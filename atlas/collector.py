"""Python's cyclic garbage collector, tuned for Atlas's long-running processes (the web app and the worker).

With the default thresholds (700 new container objects per young collection) a sync, which builds a dict
per record and a tuple per row it writes, started a young collection every few records, and the older
generations' collections walked every object still alive each time: about a third of the worker's CPU in a
first sync of 200,000 balances (benchmarks/README.md, Sync). Almost nothing Atlas allocates is in a
reference cycle (reference counting frees it), so collecting less often loses nothing: the same garbage is
found, only later, and a young generation of 50,000 objects is a few megabytes at most.
"""

from __future__ import annotations

import gc

YOUNG = 50_000  # new container objects between young collections (default 700)
OLDER = 20  # young collections per middle one, middle ones per full one (default 10)


def tune() -> None:
    """Set the collector's thresholds for a long-running Atlas process (called once at its start)."""
    gc.set_threshold(YOUNG, OLDER, OLDER)
