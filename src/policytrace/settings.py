"""Process-wide settings: keep Prefect and GX offline and quiet unless the user says otherwise."""

from __future__ import annotations

import os

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
