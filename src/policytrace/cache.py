"""A small on-disk store of ingestion and extraction results, so re-runs only redo what changed."""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Bump when the pickled shapes (Document, Extraction, ...) change incompatibly.
CACHE_FORMAT = "1"


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
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS results (kind TEXT, key TEXT, value BLOB, PRIMARY KEY (kind, key))")

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """Values found for the given keys (missing keys are left out)."""
        keys = list(keys)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT key, value FROM results WHERE kind = ? AND key IN ({marks})", (kind, *chunk))
            for key, value in rows:
                found[key] = pickle.loads(value)
        return found

    def put_many(self, kind: str, items: dict[str, Any]) -> None:
        """Store values in one transaction."""
        if not items:
            return
        with self._connection:
            self._connection.execute("BEGIN")
            self._connection.executemany(
                "INSERT OR REPLACE INTO results (kind, key, value) VALUES (?, ?, ?)",
                [(kind, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
                 for key, value in items.items()])

    def prune(self, kind: str, keep: set[str]) -> int:
        """Delete entries of a kind whose keys are not in `keep` (in one transaction); returns how many went."""
        existing = [row[0] for row in self._connection.execute(
            "SELECT key FROM results WHERE kind = ?", (kind,))]
        gone = [key for key in existing if key not in keep]
        with self._connection:
            self._connection.execute("BEGIN")
            self._connection.executemany("DELETE FROM results WHERE kind = ? AND key = ?",
                                         [(kind, key) for key in gone])
        return len(gone)

    def close(self) -> None:
        self._connection.close()
