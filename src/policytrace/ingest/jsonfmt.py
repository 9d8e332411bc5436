"""Reader for JSON and JSON Lines exports: one article per object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from policytrace.documents import Document, Rejection
from policytrace.ingest.common import RejectError, build_document, decode_bytes, split_paragraphs

TEXT_FIELDS = ("text", "body", "content", "article_body", "articleBody", "full_text", "maintext")


def pick(record: dict[str, Any], *names: str) -> Any:
    """The first of several commonly used field names that holds a value."""
    for name in names:
        value = record.get(name)
        if value not in (None, "", []):
            return value
    return None


def metadata_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Document metadata from the field names exports and front matter commonly use."""
    return dict(
        title=pick(record, "title", "headline"),
        authors=pick(record, "author", "authors", "byline"),
        publisher=pick(record, "publisher", "source", "site_name", "sitename"),
        url=pick(record, "url", "link", "canonical_url"),
        language=pick(record, "language", "lang"),
        published=pick(record, "published_at", "published", "date", "datePublished", "pubDate"),
        retrieved=pick(record, "retrieved_at", "retrieved", "fetched_at", "crawled_at"),
    )


def document_from_record(
    record: Any, raw: bytes, file_path: str, record_index: int | None, document_format: str
) -> Document:
    """Map one exported article object onto a Document (its text, or else its saved HTML page)."""
    if not isinstance(record, dict):
        raise RejectError(f"expected a JSON object per article, found {type(record).__name__}")
    metadata = metadata_fields(record)
    text = pick(record, *TEXT_FIELDS)
    if text is None and isinstance(record.get("html"), str):
        return _document_from_saved_page(record["html"], metadata, raw, file_path, record_index,
                                         document_format)
    if text is None:
        raise RejectError(f"no text field: expected one of {', '.join(TEXT_FIELDS)}, or html")
    if not isinstance(text, str):
        raise RejectError(f"text field is a {type(text).__name__}, not a string")
    return build_document(
        paragraphs=split_paragraphs(text),
        document_format=document_format,
        file_path=file_path,
        raw=raw,
        record_index=record_index,
        **metadata,
    )


def _document_from_saved_page(
    html: str, metadata: dict[str, Any], raw: bytes, file_path: str, record_index: int | None,
    document_format: str,
) -> Document:
    """A fetched web page saved as {"url", "retrieved_at", "html", ...}: read like an HTML file."""
    # Imported here because the HTML reader imports `pick` from this module.
    from policytrace.ingest.html import html_fields

    page = html_fields(html)
    # What the fetcher recorded (the URL it ended at, when, the feed's title) beats the page's tags.
    recorded = {name: value for name, value in metadata.items() if value is not None}
    return build_document(
        document_format=document_format,
        file_path=file_path,
        raw=raw,
        record_index=record_index,
        **{**page, **recorded},
    )


def read_json(raw: bytes, file_path: str) -> Iterator[Document | Rejection]:
    """A JSON file holds one article object, or an array of them."""
    try:
        data = json.loads(decode_bytes(raw))
    except json.JSONDecodeError as exc:
        raise RejectError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if isinstance(data, list):
        for index, record in enumerate(data):
            yield _record_or_rejection(record, raw, file_path, index, "json")
    else:
        yield document_from_record(data, raw, file_path, None, "json")


def read_jsonl(raw: bytes, file_path: str) -> Iterator[Document | Rejection]:
    """A JSON Lines file holds one article object per line; a bad line rejects only that line."""
    for index, line in enumerate(decode_bytes(raw).splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Rejection(file_path, f"invalid JSON on line {index + 1}: {exc.msg}", index)
            continue
        # Each line is its own record: its hash changes only when that line changes.
        yield _record_or_rejection(record, line.encode("utf-8"), file_path, index, "jsonl")


def _record_or_rejection(
    record: Any, raw: bytes, file_path: str, index: int, document_format: str
) -> Document | Rejection:
    try:
        return document_from_record(record, raw, file_path, index, document_format)
    except RejectError as exc:
        return Rejection(file_path, str(exc), index)
