"""Process-wide settings: Prefect and GX offline and quiet unless the user says otherwise; batch GC tuning."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

# Set before Prefect is imported: its settings are read at import time.
OFFLINE_DEFAULTS = {
    # Without these the Prefect server and client report usage to Prefect's telemetry hosts.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    # polars' allocator (jemalloc) keeps freed pages for a while by default; return them at once,
    # so that a long run's memory falls back after each table and chunk (read when polars loads).
    "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0",
    # Prefect gives its ephemeral server 20 s to start; on a busy 2-core machine (a CI runner, a
    # benchmark next to other work) that was measured to run out, and the whole run failed.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def configure_environment(log_level: str | None = None) -> None:
    """Apply the offline defaults (values the user set win) and, optionally, Prefect's log level."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if log_level:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", log_level)
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


# A batch allocates millions of short-lived objects and almost no reference cycles (a
# collection frees a few hundred objects). With the default thresholds the collector ran ~700
# times per 600 documents, and its full collections, walking every object of spaCy and the
# topic, took ~12% of a batch's CPU; with these it runs a few times and frees the same memory.
BATCH_GC_THRESHOLDS = (50_000, 20, 10)


@contextmanager
def batch_collector() -> Iterator[None]:
    """The garbage collector tuned for building batches (`BATCH_GC_THRESHOLDS`), then as it was.

    The thresholds are process-wide: for a process that runs one batch at a time (a pool worker,
    a benchmark), not for the flow's threads.
    """
    previous = gc.get_threshold()
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def freeze_loaded() -> None:
    """Exclude what is loaded so far (modules, the topic, spaCy) from full collections for good.

    Called after a worker's warm-up: those objects live as long as the process, and a full
    collection would otherwise walk all of them each time.
    """
    gc.collect()
    gc.freeze()
