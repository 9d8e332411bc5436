"""The document record that ingestion produces and every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from policytrace.ids import make_id, sha256_hex


@dataclass
class Document:
    """One news document with its metadata and the cleaned text all offsets refer to."""

    text: str
    document_format: str
    file_path: str
    raw_sha256: str
    record_index: int | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    url: str | None = None
    language: str | None = None
    published_at: datetime | None = None  # UTC
    published_timezone: str | None = None
    published_local: str | None = None
    retrieved_at: datetime | None = None  # UTC

    @property
    def text_sha256(self) -> str:
        # Ids, cache keys and rows ask for it ~8 times per document: hashed once per text object
        # (a str cannot change; a new text is a new object and is hashed again).
        cached = self.__dict__.get("_text_sha256")
        if cached is None or cached[0] is not self.text:
            cached = self.__dict__["_text_sha256"] = (self.text, sha256_hex(self.text))
        return cached[1]

    @property
    def source_id(self) -> str:
        # A document keeps its id when its text is edited as long as its URL stays the same,
        # so a corrected article shows up as a changed row, not as a new one.
        if self.url:
            return make_id("src", "url", canonical_url(self.url))
        return make_id("src", "text", self.text_sha256)

    @property
    def location(self) -> str:
        return location(self.file_path, self.record_index)


def location(file_path: str, record_index: int | None) -> str:
    """Where an input came from, for messages: path, plus record number in multi-record files."""
    return file_path if record_index is None else f"{file_path}#{record_index}"


@dataclass(frozen=True)
class Rejection:
    """An input that could not be used, and why."""

    file_path: str
    reason: str
    record_index: int | None = None

    @property
    def location(self) -> str:
        return location(self.file_path, self.record_index)


@dataclass(frozen=True)
class Duplicate:
    """A document whose text (or URL) equals one that was already ingested."""

    file_path: str
    record_index: int | None
    duplicate_of: str
    reason: str

    @property
    def location(self) -> str:
        return location(self.file_path, self.record_index)


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: lower-case scheme and host, no fragment, no trailing slash."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))
