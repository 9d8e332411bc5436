"""A small on-disk store of ingestion and extraction results, so re-runs only redo what changed."""

from __future__ import annotations

import pickle
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Bump when the pickled shapes (Document, Extraction, ...) change incompatibly.
CACHE_FORMAT = "1"
# Entries no run has used in this long are removed after a published run: results of files gone
# from the input, old versions of edited files, older extractor or topic versions. Long enough that
# a run over part of the input, or a feed that is down for a while, does not cost the rest.
MAX_UNUSED_DAYS = 30


class ResultCache:
    """Key-value store in one SQLite file: (kind, key) -> pickled value."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Writers are the batch workers, one transaction per batch (SQLite's lock makes them take
        # turns, waiting up to `timeout`); WAL keeps reads from blocking.
        self._connection = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("CREATE TABLE IF NOT EXISTS results "
                                 "(kind TEXT, key TEXT, value BLOB, used_at REAL, PRIMARY KEY (kind, key))")
        if "used_at" not in {row[1] for row in self._connection.execute("PRAGMA table_info(results)")}:
            # A store written before entries had a time: they count as unused since long ago.
            self._connection.execute("ALTER TABLE results ADD COLUMN used_at REAL")

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """Values found for the given keys (missing keys are left out); the entries found are marked used now."""
        keys = list(keys)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT key, value FROM results WHERE kind = ? AND key IN ({marks})", (kind, *chunk))
            for key, value in rows:
                found[key] = pickle.loads(value)
        if found:
            with self._connection:
                self._connection.execute("BEGIN")
                self._connection.executemany("UPDATE results SET used_at = ? WHERE kind = ? AND key = ?",
                                             [(time.time(), kind, key) for key in found])
        return found

    def put_many(self, kind: str, items: dict[str, Any]) -> None:
        """Store values in one transaction."""
        if not items:
            return
        with self._connection:
            self._connection.execute("BEGIN")
            now = time.time()
            self._connection.executemany(
                "INSERT OR REPLACE INTO results (kind, key, value, used_at) VALUES (?, ?, ?, ?)",
                [(kind, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), now)
                 for key, value in items.items()])

    def prune(self, max_unused_days: float = MAX_UNUSED_DAYS) -> int:
        """Delete the entries no run has used (read or written) in max_unused_days; returns how many went."""
        with self._connection:
            self._connection.execute("BEGIN")
            return self._connection.execute("DELETE FROM results WHERE used_at IS NULL OR used_at < ?",
                                            (time.time() - max_unused_days * 86400,)).rowcount

    def close(self) -> None:
        self._connection.close()
