"""Deterministic identifiers: a prefix and a hash of a row's natural key."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

ID_SEPARATOR = "\x1f"


def make_id(prefix: str, *parts: object) -> str:
    """Return ``prefix_`` plus 16 hex digits of the SHA-256 of the key parts (None counts as "")."""
    return id_of_key(prefix, join_parts(parts))


def join_parts(parts: tuple[object, ...]) -> str:
    """The key `make_id` hashes: the parts as text (None as ""), joined by ID_SEPARATOR."""
    # A list, not a generator, and no str() of what is already a string: called for every row.
    return ID_SEPARATOR.join([part if type(part) is str else "" if part is None else str(part) for part in parts])


def id_of_key(prefix: str, key: str) -> str:
    """The id of a key already joined: ``make_id(prefix, *parts) == id_of_key(prefix,
    ID_SEPARATOR.join(parts))`` when every part is a str. For callers that join str parts
    themselves: half the cost of `make_id`, which converts each part."""
    return f"{prefix}_{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


def sha256_hex(data: bytes | str) -> str:
    """Return the hex SHA-256 of bytes, or of a string encoded as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


_PUNCTUATION = re.compile(r"[^\w\s]")


# Cached: the extractor folds every name it finds, and the same names recur across documents.
@lru_cache(maxsize=1 << 16)
def normalise_name(name: str) -> str:
    """Fold a name for matching: NFKC, casefold, no diacritics, single spaces, no punctuation."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _PUNCTUATION.sub(" ", folded)
    return " ".join(folded.split())
