"""The pipeline's steps as plain functions: the Prefect flow calls these, and so do the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from policytrace.documents import Document, Duplicate, Rejection
from policytrace.extract import EXTRACTOR_NAME, EXTRACTOR_VERSION, extract_document
from policytrace.extract.model import Extraction
from policytrace.ingest import DEFAULT_EXCLUDE, IngestResult, discover_files, drop_duplicates, read_files
from policytrace.publish import PublishResult, publish
from policytrace.schema import load_catalog
from policytrace.tables import TableBuilder
from policytrace.topic import load_topic


def plan_batches(root: Path, batch_size: int, exclude=DEFAULT_EXCLUDE) -> tuple[list[list[Path]], list[str]]:
    """Input files in stable order, cut into batches; plus the files left out by `exclude`."""
    files, skipped = discover_files(root, exclude)
    batches = [files[i:i + batch_size] for i in range(0, len(files), batch_size)]
    return batches, skipped


def ingest_batch(paths: list[Path], root: Path) -> IngestResult:
    """Read one batch of files."""
    return read_files(paths, root)


def extract_batch(documents: list[Document], topic_name: str) -> list[Extraction]:
    """Run the extractor over one batch of documents."""
    topic = load_topic(topic_name)
    return [extract_document(document, topic) for document in documents]


def assemble_tables(documents: list[Document], extractions: list[Extraction]) -> dict[str, pl.DataFrame]:
    """All tables for the run."""
    builder = TableBuilder(load_catalog())
    for document, extraction in zip(documents, extractions, strict=True):
        builder.add(document, extraction)
    return builder.frames()


def ingest_report(root: Path, documents: list[Document], rejections: list[Rejection],
                  duplicates: list[Duplicate], skipped: list[str]) -> dict[str, Any]:
    """Every input accounted for: ingested, duplicate, rejected (with reason) or skipped."""
    return {
        "input": root.name,
        "documents": len(documents),
        "rejected": [{"file": r.location, "reason": r.reason} for r in rejections],
        "duplicates": [{"file": d.location, "duplicate_of": d.duplicate_of, "reason": d.reason}
                       for d in duplicates],
        "skipped": [{"file": name, "reason": "excluded by pattern (annotations, notes, hidden files)"}
                    for name in skipped],
    }


@dataclass
class RunSummary:
    """What a run did, for the CLI and for the flow's return value."""

    input: str
    output: str
    documents: int
    duplicates: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    row_counts: dict[str, int]
    published: bool
    version: str | None
    release_dir: str | None
    report_dir: str
    message: str
    failures: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.published:
            return 1
        return 0


def new_report_dir(output: Path) -> Path:
    """Folder for this run's reports (not part of any release)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return output / "runs" / stamp


def finish_run(root: Path, output: Path, topic_name: str, documents: list[Document],
               extractions: list[Extraction], rejections: list[Rejection], duplicates: list[Duplicate],
               skipped: list[str], *, version: str | None = None,
               baseline: dict[str, int] | None = None) -> RunSummary:
    """Assemble, validate and publish; the common tail of the flow and of in-process runs."""
    report_dir = new_report_dir(output)
    report = ingest_report(root, documents, rejections, duplicates, skipped)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "ingest_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    base = dict(input=str(root), output=str(output), documents=len(documents),
                duplicates=report["duplicates"], rejected=report["rejected"], skipped=report["skipped"])
    if not documents:
        return RunSummary(**base, row_counts={}, published=False, version=None, release_dir=None,
                          report_dir=str(report_dir),
                          message="no usable document: every input was rejected, skipped or a duplicate")
    tables = assemble_tables(documents, extractions)
    topic = load_topic(topic_name)
    result: PublishResult = publish(
        tables, output, topic, report_dir / "validation", version=version, baseline=baseline,
        input_sources=[{"title": f"news documents in {root.name}/", "path": root.name}],
        extra_files={"ingest_report.json": {**report, "extractor": EXTRACTOR_NAME,
                                            "extractor_version": EXTRACTOR_VERSION}},
    )
    return RunSummary(
        **base, row_counts={name: frame.height for name, frame in tables.items()},
        published=result.published, version=result.version,
        release_dir=str(result.release_dir) if result.release_dir else None,
        report_dir=str(report_dir), message=result.message,
        failures=[f.describe() for f in result.report.failures],
    )


def run_in_process(root: Path, output: Path, topic_name: str = "prison_recruitment",
                   version: str | None = None, baseline: dict[str, int] | None = None) -> RunSummary:
    """The whole pipeline without Prefect (for tests and debugging)."""
    batches, skipped = plan_batches(root, batch_size=10**9)
    ingested = ingest_batch(batches[0], root) if batches else IngestResult()
    documents, duplicates = drop_duplicates(ingested.documents)
    extractions = extract_batch(documents, topic_name)
    return finish_run(root, output, topic_name, documents, extractions, ingested.rejections,
                      duplicates, skipped, version=version, baseline=baseline)
