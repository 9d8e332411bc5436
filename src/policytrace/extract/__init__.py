"""Extraction: a document's text to actors, events, conditions, quantities and citations."""

from __future__ import annotations

from policytrace.extract.extractor import EXTRACTOR_NAME, EXTRACTOR_VERSION, extract_document

__all__ = ["EXTRACTOR_NAME", "EXTRACTOR_VERSION", "extract_document"]
