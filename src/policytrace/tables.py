"""Turn documents and their extractions into the declared tables, with deterministic ids."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

import polars as pl

from policytrace.documents import Document
from policytrace.extract.model import Evidence, Extraction
from policytrace.ids import ID_SEPARATOR, id_of_key, join_parts, make_id, normalise_name
from policytrace.ingest.common import word_count
from policytrace.schema import Catalog, load_catalog

# Actor rows of one document (see TableBuilder.actor_fragment).
ACTOR_FRAGMENT_SCHEMA = {
    "actor_id": pl.String, "name": pl.String, "actor_type": pl.String, "country": pl.String,
    "wikidata_id": pl.String, "is_registered": pl.Boolean, "aliases": pl.List(pl.String),
    "mention_count": pl.Int64, "_doc": pl.Int64,
}


@lru_cache(maxsize=65536)
def actor_id(key: str) -> str:
    """The actor id of an actor key (registry key or type and normalised name); cached, as the
    same actors come back in document after document."""
    return make_id("act", key)


@lru_cache(maxsize=4096)
def _policy_id(policy_key: str) -> str:
    return make_id("pol", policy_key)


_LIST_SEPARATOR = "\x1f"


def _string_lists(name: str, lists: list[list[str]]) -> pl.Series:
    """A List(String) column from lists of strings.

    polars builds a list column from Python lists ~10x slower than it splits joined strings
    (~8 µs a row: the actors' aliases were 5% of a batch's CPU), so the lists are joined and
    split, unless a list is empty or a string holds the separator.
    """
    if all(lists) and not any(_LIST_SEPARATOR in item for items in lists for item in items):
        return pl.Series(name, [_LIST_SEPARATOR.join(items) for items in lists], dtype=pl.String
                         ).str.split(_LIST_SEPARATOR)
    return pl.Series(name, lists, dtype=pl.List(pl.String))


class _IdMaker:
    """Ids from natural keys; a repeated key in one document gets an occurrence number."""

    def __init__(self) -> None:
        # A plain dict: a Counter calls its Python-level __missing__ for every new key.
        self._seen: dict[tuple[str, str], int] = {}

    def __call__(self, prefix: str, *parts: str) -> str:
        """`make_id(prefix, *parts, occurrence)`; parts that are all str (a row's text and labels, as
        always in practice) are joined as they are, which halves the cost of an id."""
        try:
            key = ID_SEPARATOR.join(parts)
        except TypeError:  # a part that is not text (a number in a topic's YAML)
            key = join_parts(parts)
        occurrence = self._seen.get((prefix, key), 0)
        self._seen[prefix, key] = occurrence + 1
        return id_of_key(prefix, f"{key}{ID_SEPARATOR}{occurrence}")


def document_row(document: Document) -> dict[str, Any]:
    """The sources row of an ingested document."""
    return {
        "source_id": document.source_id,
        "source_type": "document",
        "title": document.title,
        "name": None,
        "cited_by_source_id": None,
        "actor_id": None,
        "author": "; ".join(document.authors) or None,
        "publisher": document.publisher,
        "url": document.url,
        "language": document.language,
        "published_at": document.published_at,
        "published_timezone": document.published_timezone,
        "published_local": document.published_local,
        "retrieved_at": document.retrieved_at,
        "file_path": document.file_path,
        "record_index": document.record_index,
        "document_format": document.document_format,
        "raw_sha256": document.raw_sha256,
        "text_sha256": document.text_sha256,
        "text_length": len(document.text),
        "word_count": word_count(document.text),
    }


class TableBuilder:
    """Accumulates rows document by document; `frames()` returns the conformed tables."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or load_catalog()
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._next_position = 0
        # Per document: its position and source id, and actor key -> [attributes, names seen,
        # mentions]. The actors table (`frames`) and the actor fragment (`fragments`) come from it.
        self._document_actors: list[tuple[int, str, dict[str, list[Any]]]] = []

    def add(self, document: Document, extraction: Extraction, position: int | None = None) -> None:
        """Add one document and what was extracted from it; `position` is its place in the input order."""
        if position is None:
            position = self._next_position
        self._next_position = position + 1
        source_id = document.source_id
        text = document.text
        new_id = _IdMaker()
        first_rows = {name: len(rows) for name, rows in self.rows.items()}
        self._document_actors.append((position, source_id, {}))
        self._add_rows(document, extraction, source_id, text, new_id)
        # Every row of this document carries its position, so rows can be put in input order.
        for name, rows in self.rows.items():
            for row in rows[first_rows.get(name, 0):]:
                row["_doc"] = position

    def _add_rows(self, document: Document, extraction: Extraction, source_id: str, text: str,
                  new_id: _IdMaker) -> None:
        self.rows["sources"].append(document_row(document))
        self.rows["document_texts"].append({"source_id": source_id, "text": text})

        def sentence(evidence: Evidence) -> str:
            return text[evidence.char_start:evidence.char_end]

        def mention(table: str, row_id: str, evidence: Evidence) -> None:
            span = text[evidence.span_start:evidence.span_end]
            evidence_text = sentence(evidence)
            self.rows["mentions"].append({
                # The document is part of the key: actor ids are shared by all documents.
                "mention_id": new_id("men", source_id, table, row_id, span, evidence_text),
                "table_name": table,
                "row_id": row_id,
                "source_id": source_id,
                "sentence_index": evidence.sentence_index,
                "char_start": evidence.char_start,
                "char_end": evidence.char_end,
                "evidence": evidence_text,
                "span_start": evidence.span_start,
                "span_end": evidence.span_end,
                "span_text": span,
                "extractor": extraction.extractor,
                "extractor_version": extraction.extractor_version,
            })

        document_actors = self._document_actors[-1][2]
        for actor in extraction.actors:
            row_id = actor_id(actor.key)
            here = document_actors.get(actor.key)
            if here is None:  # the attributes of an actor's first mention in the document
                here = document_actors[actor.key] = [
                    {"actor_id": row_id, "name": actor.name, "actor_type": actor.actor_type,
                     "country": actor.country, "wikidata_id": actor.wikidata_id,
                     "is_registered": actor.is_registered}, set(), 0]
            here[1].update(actor.aliases)
            here[1].add(actor.surface)
            here[2] += 1
            mention("actors", row_id, actor.evidence)

        event_ids = []
        for event in extraction.events:
            event_id = new_id("evt", source_id, event.event_type, sentence(event.evidence),
                              text[event.evidence.span_start:event.evidence.span_end])
            event_ids.append(event_id)
            date = event.date
            self.rows["events"].append({
                "event_id": event_id, "source_id": source_id, "event_type": event.event_type,
                "event_date": date.value if date else None,
                "date_precision": date.precision if date else "unknown",
                "date_start": date.start if date else None,
                "date_end": date.end if date else None,
                "date_text": date.text if date else None,
                "description": event.description, "trigger": event.trigger,
                "claimant_actor_id": actor_id(event.claimant_key) if event.claimant_key else None,
                "attribution": event.attribution, "is_negated": event.is_negated,
                "is_hedged": event.is_hedged,
                "char_start": event.evidence.char_start, "char_end": event.evidence.char_end,
            })
            for key, role in dict.fromkeys(event.actors):
                self.rows["event_actors"].append(
                    {"event_id": event_id, "actor_id": actor_id(key), "role": role})
            mention("events", event_id, event.evidence)
            for evidence in event.supporting:  # the same event told again later: a mention too
                mention("events", event_id, evidence)

        condition_ids = []
        for condition in extraction.conditions:
            condition_id = new_id("cnd", source_id, condition.policy_key, condition.condition_type,
                                  sentence(condition.evidence))
            condition_ids.append(condition_id)
            self.rows["policy_conditions"].append({
                "condition_id": condition_id, "source_id": source_id,
                "policy_id": _policy_id(condition.policy_key),
                "policy_name": condition.policy_name, "condition_type": condition.condition_type,
                "description": condition.description,
                "condition_text": text[condition.evidence.span_start:condition.evidence.span_end],
                "value": condition.value,
                "unit": condition.unit, "status": condition.status,
                "is_negated": condition.is_negated,
                "char_start": condition.evidence.char_start,
                "char_end": condition.evidence.char_end,
            })
            mention("policy_conditions", condition_id, condition.evidence)

        for quantity in extraction.quantities:
            quantity_id = new_id("qty", source_id, quantity.text, sentence(quantity.evidence))
            self.rows["quantities"].append({
                "quantity_id": quantity_id, "source_id": source_id, "value": quantity.value,
                "value_low": quantity.value_low, "value_high": quantity.value_high,
                "unit": quantity.unit, "quantity_text": quantity.text,
                "is_approximate": quantity.is_approximate,
                "claimant_actor_id": actor_id(quantity.claimant_key) if quantity.claimant_key else None,
                "event_id": event_ids[quantity.event_index] if quantity.event_index is not None else None,
                "condition_id": (condition_ids[quantity.condition_index]
                                 if quantity.condition_index is not None else None),
                "char_start": quantity.evidence.char_start, "char_end": quantity.evidence.char_end,
            })
            mention("quantities", quantity_id, quantity.evidence)

        cited_seen: set[str] = set()
        for cited in extraction.cited_sources:
            cited_id = make_id("src", "cited", source_id, normalise_name(cited.name))
            if cited_id not in cited_seen:
                cited_seen.add(cited_id)
                row = dict.fromkeys(self.catalog["sources"].column_names)
                row.update({
                    "source_id": cited_id, "source_type": "cited", "name": cited.name,
                    "cited_by_source_id": source_id,
                    "actor_id": actor_id(cited.actor_key) if cited.actor_key else None,
                })
                self.rows["sources"].append(row)
            mention("sources", cited_id, cited.evidence)

    def _actor_rows(self) -> list[dict[str, Any]]:
        """The actors table's rows: an actor's attributes from its first mention, every name seen
        but the canonical one as aliases, the documents (by source id) and mentions counted."""
        merged: dict[str, list[Any]] = {}  # key -> [attributes, names, source ids, mentions]
        for _position, source_id, actors in self._document_actors:
            for key, (attributes, names, mentions) in actors.items():
                actor = merged.get(key)
                if actor is None:
                    actor = merged[key] = [attributes, set(), set(), 0]
                actor[1] |= names
                actor[2].add(source_id)
                actor[3] += mentions
        return [
            {**attributes,
             "aliases": " | ".join(sorted(a for a in names if a and a != attributes["name"])) or None,
             "document_count": len(source_ids), "mention_count": mentions}
            for attributes, names, source_ids, mentions in merged.values()
        ]

    def actor_fragment(self) -> pl.DataFrame:
        """Actors per document, not yet merged: one row per actor and document position (`_doc`).

        `aliases` holds every name seen in that document (the canonical name too, sorted,
        duplicates removed); `PartStore.actors` merges the rows of the documents that are kept.
        """
        columns: dict[str, list[Any]] = {name: [] for name in ACTOR_FRAGMENT_SCHEMA}
        for position, _source_id, actors in self._document_actors:
            for attributes, names, mentions in actors.values():
                for name, value in attributes.items():
                    columns[name].append(value)
                columns["aliases"].append(sorted(a for a in names if a))
                columns["mention_count"].append(mentions)
                columns["_doc"].append(position)
        return pl.DataFrame({**columns, "aliases": _string_lists("aliases", columns["aliases"])},
                            schema=ACTOR_FRAGMENT_SCHEMA, strict=False)

    def fragments(self) -> dict[str, pl.DataFrame]:
        """The batch's tables as fragments: rows keep their `_doc` position, actors stay per document.

        Any set of documents can then be left out (duplicates found later) before the fragments of
        all batches are assembled into the same tables `frames()` would give for the documents kept.
        """
        frames = self.frames(keep_position=True, with_actors=False)
        frames["actors"] = self.actor_fragment()
        return frames

    def frames(self, keep_position: bool = False, with_actors: bool = True) -> dict[str, pl.DataFrame]:
        """All tables, conformed and in their declared row order.

        With keep_position, document-ordered tables keep the `_doc` column (for writing parts).
        """
        rows = {**self.rows, "actors": self._actor_rows() if with_actors else []}
        frames = {}
        for spec in self.catalog:
            if spec.name == "actors" and not with_actors:
                continue
            schema = {f.name: f.polars_type for f in spec.fields}
            if spec.row_order == "document":
                schema["_doc"] = pl.Int64
            data = rows.get(spec.name, [])
            frame = (pl.DataFrame(data, schema=schema, strict=False, infer_schema_length=None)
                     if data else pl.DataFrame(schema=schema))
            frame = spec.order_rows(frame)
            if not keep_position:
                frame = frame.drop("_doc", strict=False)
            frames[spec.name] = spec.conform(frame, keep=("_doc",))
        return frames
