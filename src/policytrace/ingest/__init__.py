"""Ingestion: find input files, read each with the reader for its format, drop duplicates."""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from policytrace.documents import Document, Duplicate, Rejection
from policytrace.ingest.common import RejectError
from policytrace.ingest.html import read_html
from policytrace.ingest.jsonfmt import read_json, read_jsonl
from policytrace.ingest.markdown import read_markdown
from policytrace.ingest.text import read_text

Reader = Callable[[bytes, str], Iterable[Document | Rejection]]

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
}

# Files that sit beside documents but are not documents: gold annotations and folder notes.
DEFAULT_EXCLUDE = ("*.facts.json", "README*", ".*")


@dataclass
class IngestResult:
    """What ingestion made of a set of files."""

    documents: list[Document] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)



def walk_files(root: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> tuple[list[tuple[Path, str]], list[str]]:
    """Every file below root with its name relative to root ('/' separators), in a stable order
    (sorted as paths sort), and the relative names left out by `exclude` (matched on any part).

    Files in symbolic links to folders are not visited, as `Path.rglob` does not visit them.
    """
    if root.is_file():
        return [(root, root.name)], []
    # os.walk and strings: with Path objects (rglob, sorting Paths, relative_to) this took ~70 us a
    # file, most of planning a run.
    found = []
    top = str(root)
    for folder, _dirs, names in os.walk(top, onerror=_raise_unless_permission):
        inside = os.path.relpath(folder, top)
        prefix = () if inside == os.curdir else tuple(inside.split(os.sep))
        for name in names:
            path = os.path.join(folder, name)
            if _is_file(path):
                parts = (*prefix, name)
                # Paths sort part by part (case-insensitively on Windows).
                found.append((parts if os.name != "nt" else tuple(p.lower() for p in parts), parts, path))
    found.sort()
    # fnmatch's patterns as one expression (fnmatch.fnmatch matches normcase'd names against them).
    patterns = [f"(?:{fnmatch.translate(os.path.normcase(pattern))})" for pattern in exclude]
    excluded = re.compile("|".join(patterns)).match if patterns else None
    files, skipped = [], []
    for _key, parts, path in found:
        name = "/".join(parts)
        if excluded is not None and any(excluded(os.path.normcase(part)) for part in parts):
            skipped.append(name)
        else:
            files.append((Path(path), name))
    return files, skipped


# What Path.is_file and Path.rglob pass over; any other error (EIO, ESTALE) stops the run
# instead of leaving files out of it unnoticed.
_NOT_A_FILE = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}


def _raise_unless_permission(error: OSError) -> None:
    if not isinstance(error, PermissionError):
        raise error


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno in _NOT_A_FILE:
            return False
        raise


def discover_files(
    root: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE
) -> tuple[list[Path], list[str]]:
    """All files below root in a stable order, and the relative paths left out by `exclude`."""
    files, skipped = walk_files(root, exclude)
    return [path for path, _name in files], skipped


def relative_name(path: Path, root: Path) -> str:
    """The path users see: relative to the input folder, '/' separators."""
    if root.is_file():
        return path.name
    return path.relative_to(root).as_posix()


def read_file(path: Path, root: Path, name: str | None = None) -> Iterator[Document | Rejection]:
    """Read one file with the reader for its extension; problems become Rejections, never exceptions.

    name: the file's name relative to root, when the caller has it already (`walk_files`).
    """
    name = name or relative_name(path, root)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        yield Rejection(name, f"unknown format {path.suffix or '(no extension)'!r}; known: {known}")
        return
    try:
        raw = path.read_bytes()
        yield from reader(raw, name)
    except RejectError as exc:
        yield Rejection(name, str(exc))
    except OSError as exc:
        yield Rejection(name, f"cannot read file: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a reader bug must not stop the run; report it
        yield Rejection(name, f"reader failed: {type(exc).__name__}: {exc}")


def read_files(paths: Iterable[Path], root: Path) -> IngestResult:
    """Read a batch of files (duplicates are resolved later, across all batches)."""
    result = IngestResult()
    for path in paths:
        for item in read_file(path, root):
            if isinstance(item, Document):
                result.documents.append(item)
            else:
                result.rejections.append(item)
    return result


class DuplicateFilter:
    """Remembers the documents seen so far; the first of each text and of each id (URL) is kept."""

    def __init__(self) -> None:
        self._by_text: dict[str, str] = {}
        self._by_id: dict[str, str] = {}

    def check(self, document: Document) -> Duplicate | None:
        """The duplicate record if the document was seen before, else None (and it is remembered)."""
        if (first := self._by_text.get(document.text_sha256)) is not None:
            return Duplicate(document.file_path, document.record_index, first, "same cleaned text")
        if (first := self._by_id.get(document.source_id)) is not None:
            return Duplicate(document.file_path, document.record_index, first,
                             "same URL with a different text")
        self._by_text[document.text_sha256] = self._by_id[document.source_id] = document.location
        return None


def drop_duplicates(documents: Iterable[Document]) -> tuple[list[Document], list[Duplicate]]:
    """Keep the first document of each text and of each id (URL), in input order."""
    seen = DuplicateFilter()
    kept: list[Document] = []
    duplicates: list[Duplicate] = []
    for document in sorted(documents, key=lambda d: (d.file_path, d.record_index or 0)):
        if (duplicate := seen.check(document)) is not None:
            duplicates.append(duplicate)
        else:
            kept.append(document)
    return kept, duplicates


def ingest_folder(root: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> IngestResult:
    """Read every document below root (one batch); the plain-function path used by tests."""
    files, skipped = discover_files(root, exclude)
    result = read_files(files, root)
    result.documents, result.duplicates = drop_duplicates(result.documents)
    result.skipped = skipped
    return result
