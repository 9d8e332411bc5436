"""Reader for plain-text articles: headline, byline, dateline, body, page furniture."""

from __future__ import annotations

import re

from policytrace.documents import Document
from policytrace.ingest.common import (
    RejectError,
    build_document,
    decode_bytes,
    is_furniture,
    looks_like_date_line,
    split_paragraphs,
)

_BYLINE = re.compile(r"^\s*(written\s+by|by)\s+(?P<names>\S.*)$", re.IGNORECASE)
# Header lines (headline, byline, dateline) are looked for only among the first few lines.
_HEADER_LINES = 6


def read_text(raw: bytes, file_path: str) -> list[Document]:
    """Parse a plain-text article shaped like a copied news page."""
    content = decode_bytes(raw)
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip() and not is_furniture(line)]
    if not nonblank:
        raise RejectError("empty file: no text")
    title_index = nonblank[0]
    title = lines[title_index].strip()
    author = published = None
    body_start = title_index + 1
    for index in nonblank[1:_HEADER_LINES]:
        line = lines[index]
        byline = _BYLINE.match(line)
        if author is None and byline and len(line) < 120:
            author, body_start = byline.group("names"), index + 1
        elif published is None and looks_like_date_line(line):
            published, body_start = line.strip(), index + 1
        else:
            break
    if author is None and published is None and len(nonblank) == 1:
        # A one-line file is text, not a headline with nothing under it.
        body_start = title_index
        title = None
    body = "\n".join(lines[body_start:])
    return [
        build_document(
            paragraphs=split_paragraphs(body),
            document_format="text",
            file_path=file_path,
            raw=raw,
            title=title,
            authors=author,
            published=published,
        )
    ]
