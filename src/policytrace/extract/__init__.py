"""Extraction: a document's text to actors, events, conditions, quantities and citations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policytrace.extract.version import EXTRACTOR_NAME, EXTRACTOR_VERSION

if TYPE_CHECKING:
    from policytrace.extract.extractor import extract_document

__all__ = ["EXTRACTOR_NAME", "EXTRACTOR_VERSION", "extract_document"]


def __getattr__(name: str) -> Any:
    # The extractor loads spaCy (~90 MB): only on first use, so that reading the version does not.
    if name == "extract_document":
        from policytrace.extract.extractor import extract_document

        return extract_document
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
