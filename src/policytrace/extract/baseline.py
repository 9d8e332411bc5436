"""Minimal extractor: sentences by regex and registry look-up of actors (to be replaced)."""

from __future__ import annotations

import re

from policytrace.documents import Document
from policytrace.extract.model import ActorMention, Evidence, Extraction
from policytrace.topic import Topic

EXTRACTOR_NAME = "policytrace.baseline"
EXTRACTOR_VERSION = "0.0.1"

_SENTENCE = re.compile(r"[^\n.!?]+(?:[.!?]+[\"”’)]?|$)")


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while start < end and text[start].isspace():
            start += 1
        if start < end:
            spans.append((start, end))
    return spans


def extract_document(document: Document, topic: Topic) -> Extraction:
    """Registry actors found in the text, each with its sentence."""
    extraction = Extraction(document.source_id, EXTRACTOR_NAME, EXTRACTOR_VERSION)
    entries = []
    for entry in topic.data("actors", []):
        for surface in [entry["name"], *entry.get("aliases", [])]:
            entries.append((surface, entry))
    entries.sort(key=lambda item: -len(item[0]))
    pattern = re.compile(r"\b(" + "|".join(re.escape(s) for s, _ in entries) + r")\b")
    by_surface = {s: e for s, e in entries}
    text = document.text
    for index, (start, end) in enumerate(_sentences(text)):
        for match in pattern.finditer(text, start, end):
            entry = by_surface[match.group(1)]
            extraction.actors.append(ActorMention(
                key=f"reg:{entry['key']}", name=entry["name"], actor_type=entry["type"],
                surface=match.group(1),
                evidence=Evidence(index, start, end, match.start(), match.end()),
                is_registered=True, country=entry.get("country"),
                wikidata_id=entry.get("wikidata_id"), aliases=tuple(entry.get("aliases", ())),
            ))
    return extraction
