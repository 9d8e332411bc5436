"""Time the validation gate on a synthetic, consistent release with N rows per extracted table (or on a release)."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from policytrace.publish import write_tables
from policytrace.schema import load_catalog
from policytrace.topic import load_topic
from policytrace.validate import Gate

SENTENCE = "The ministry said that {n} prisoners were recruited in the autumn."


def synthetic_tables(rows: int) -> dict[str, pl.DataFrame]:
    """Tables that pass every check: one document per event, condition and quantity row."""
    catalog = load_catalog()
    ids = [f"{i:016x}" for i in range(rows)]
    texts = [SENTENCE.format(n=i) for i in range(rows)]
    lengths = [len(t) for t in texts]
    published = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(rows)]
    span = (4, 12)  # "ministry"
    sources = pl.DataFrame({
        "source_id": [f"src_{i}" for i in ids], "source_type": ["document"] * rows,
        "title": [f"Report {i}" for i in range(rows)], "published_at": published,
        "file_path": [f"doc{i}.txt" for i in range(rows)], "document_format": ["text"] * rows,
        "raw_sha256": ["0" * 64] * rows, "text_sha256": ["0" * 64] * rows,
        "text_length": lengths, "word_count": [11] * rows, "language": ["en"] * rows,
    })
    frames = {"sources": sources,
              "document_texts": pl.DataFrame({"source_id": sources["source_id"], "text": texts}),
              "actors": pl.DataFrame({"actor_id": [f"act_{i}" for i in ids], "name": [f"Actor {i}" for i in ids],
                                      "actor_type": ["person"] * rows, "is_registered": [False] * rows,
                                      "document_count": [1] * rows, "mention_count": [1] * rows})}
    common = {"source_id": sources["source_id"], "char_start": [0] * rows, "char_end": lengths}
    frames["events"] = pl.DataFrame({
        "event_id": [f"evt_{i}" for i in ids], **common, "event_type": ["recruitment"] * rows,
        "event_date": [date(2023, 10, 1)] * rows, "date_precision": ["month"] * rows,
        "date_start": [date(2023, 10, 1)] * rows, "date_end": [date(2023, 10, 31)] * rows,
        "description": texts, "trigger": ["recruited"] * rows,
        "is_negated": [False] * rows, "is_hedged": [False] * rows})
    frames["event_actors"] = pl.DataFrame({"event_id": frames["events"]["event_id"],
                                           "actor_id": frames["actors"]["actor_id"], "role": ["agent"] * rows})
    frames["policy_conditions"] = pl.DataFrame({
        "condition_id": [f"cnd_{i}" for i in ids], **common, "policy_id": [f"pol_{'1' * 16}"] * rows,
        "policy_name": ["pardon for service"] * rows, "condition_type": ["obligation"] * rows,
        "description": texts, "value": [6.0] * rows, "unit": ["month"] * rows,
        "status": ["unknown"] * rows, "is_negated": [False] * rows})
    frames["quantities"] = pl.DataFrame({
        "quantity_id": [f"qty_{i}" for i in ids], **common, "value": [float(i) for i in range(rows)],
        "unit": ["prisoners"] * rows, "quantity_text": [str(i) for i in range(rows)],
        "is_approximate": [False] * rows})
    mentions = []
    for digit, table, key in (("a", "actors", "actor_id"), ("e", "events", "event_id"),
                              ("c", "policy_conditions", "condition_id"), ("f", "quantities", "quantity_id")):
        mentions.append(pl.DataFrame({
            "mention_id": [f"men_{digit}{i[1:]}" for i in ids], "table_name": [table] * rows,
            "row_id": frames[table][key], "source_id": sources["source_id"], "sentence_index": [0] * rows,
            "char_start": [0] * rows, "char_end": lengths, "evidence": texts,
            "span_start": [span[0]] * rows, "span_end": [span[1]] * rows, "span_text": ["ministry"] * rows,
            "extractor": ["synthetic"] * rows, "extractor_version": ["0"] * rows}))
    # A real release lists mentions in document order; keep that here too.
    frames["mentions"] = pl.concat(mentions).sort("source_id", maintain_order=True)
    return {spec.name: spec.conform(pl.concat([spec.empty_frame(), frames[spec.name]], how="diagonal_relaxed"))
            for spec in catalog}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per extracted table")
    parser.add_argument("--docs", action="store_true", help="also build the offline Data Docs")
    parser.add_argument("--workers", type=int, default=0,
                        help="run the gate's units in N spawned worker processes (0: serially, here)")
    parser.add_argument("--release", type=Path, help="validate this release folder instead of synthetic tables")
    args = parser.parse_args()
    topic = load_topic()
    gate = Gate()
    with tempfile.TemporaryDirectory() as folder, \
            ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) \
            if args.workers else nullcontext() as pool:
        if args.release:
            release = args.release
        else:
            release = Path(folder)
            write_tables(synthetic_tables(args.rows), release, load_catalog())
        started = time.perf_counter()
        report = gate.validate_release(release, topic, docs_dir=Path(folder) / "docs" if args.docs else None,
                                       submit=pool.submit if pool else None)
        seconds = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if pool:
            pool.shutdown()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
    for failure in report.failures:
        print(failure.describe(), file=sys.stderr)
    print(json.dumps({"measure": "validation_gate", "rows_per_table": args.rows,
                      "row_counts": report.row_counts, "expectations": report.expectation_count,
                      "success": report.success, "data_docs": args.docs, "workers": args.workers,
                      "seconds": round(seconds, 2),
                      "cpu_seconds": round(sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                                               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)), 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "largest_worker_peak_rss_mb": round(children.ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
