"""The pipeline's steps as plain functions: the Prefect flow calls these, and so do the tests.

Documents move in batches. Each batch is read and extracted (reusing cached results for files and
documents that did not change), then turned into table fragments on disk, so memory holds one
window of batches at a time, whatever the size of the corpus.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policytrace import __version__
from policytrace.cache import CACHE_FORMAT, ResultCache
from policytrace.documents import Document, Duplicate, Rejection
from policytrace.extract import EXTRACTOR_NAME, EXTRACTOR_VERSION, extract_document
from policytrace.extract.model import Extraction
from policytrace.ids import sha256_hex
from policytrace.ingest import DEFAULT_EXCLUDE, DuplicateFilter, discover_files, read_file, relative_name
from policytrace.parts import PartStore
from policytrace.paths import DEFAULT_TOPIC, SCHEMAS_DIR
from policytrace.publish import (
    PublishResult,
    latest_release,
    new_staging,
    publish_staged,
    remove_stale_staging,
)
from policytrace.schema import load_catalog
from policytrace.tables import TableBuilder
from policytrace.topic import load_topic

INGEST_VERSION = f"{__version__}/{CACHE_FORMAT}"


# ---- planning -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputFile:
    """One input file, identified by its path (relative to the input root) and content hash."""

    path: Path
    name: str
    raw_sha256: str


def plan_inputs(root: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> tuple[list[InputFile], list[str]]:
    """Every input file with its hash, in stable order; plus the files left out by `exclude`."""
    files, skipped = discover_files(root, tuple(exclude))
    inputs = [InputFile(path, relative_name(path, root), sha256_hex(path.read_bytes())) for path in files]
    return inputs, skipped


def batched(items: list, size: int) -> list[list]:
    """Consecutive slices of at most `size` items."""
    return [items[start:start + size] for start in range(0, len(items), size)]


def schema_fingerprint() -> str:
    """Hash of every table declaration: a schema change makes every run a new build."""
    return sha256_hex("\n".join(f"{p.name}\n{p.read_text(encoding='utf-8')}"
                                for p in sorted(SCHEMAS_DIR.glob("*.yaml"))))[:16]


def inputs_fingerprint(inputs: list[InputFile], topic_name: str) -> str:
    """Everything a release's content depends on: inputs, extractor, topic data, schemas, code version.

    The row-count baseline is left out: it decides whether a release may be published, not what
    it holds (check a release against a new baseline with `policytrace validate --baseline`).
    """
    topic = load_topic(topic_name)
    parts = [f"policytrace {__version__}", f"extractor {EXTRACTOR_VERSION}",
             f"topic {topic.fingerprint}", f"schemas {schema_fingerprint()}"]
    parts += [f"{item.name} {item.raw_sha256}" for item in inputs]
    return sha256_hex("\n".join(parts))


# ---- one batch (runs inside a Prefect task, possibly in another process) ------------------------

@dataclass
class BatchResult:
    """What one batch produced, in input order."""

    index: int
    documents: list[Document] = field(default_factory=list)
    extractions: list[Extraction] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    new_ingest_cache: dict[str, list] = field(default_factory=dict)
    new_extract_cache: dict[str, Extraction] = field(default_factory=dict)
    cached_files: int = 0
    cached_extractions: int = 0


def ingest_cache_key(item: InputFile) -> str:
    """Changes when the file's bytes, its path or the ingestion code version change."""
    return sha256_hex(f"{INGEST_VERSION}\n{item.name}\n{item.raw_sha256}")


def extract_cache_key(document: Document, topic_fingerprint: str) -> str:
    """Changes when the text, the metadata the extractor reads, the extractor or the topic change."""
    published = document.published_at.isoformat() if document.published_at else ""
    return sha256_hex("\n".join([EXTRACTOR_VERSION, topic_fingerprint, document.source_id,
                                 document.text_sha256, published, document.title or ""]))


def process_batch(index: int, files: list[InputFile], root: Path, topic_name: str,
                  cache_path: Path | None) -> BatchResult:
    """Read and extract one batch of files, reusing cached results where inputs are unchanged."""
    result = BatchResult(index)
    cache = ResultCache(cache_path) if cache_path else None
    try:
        cached_files = cache.get_many("ingest", [ingest_cache_key(f) for f in files]) if cache else {}
        for item in files:
            key = ingest_cache_key(item)
            if key in cached_files:
                items = cached_files[key]
                result.cached_files += 1
            else:
                items = list(read_file(item.path, root))
                result.new_ingest_cache[key] = items
            for entry in items:
                (result.documents if isinstance(entry, Document) else result.rejections).append(entry)
        topic = load_topic(topic_name)
        keys = [extract_cache_key(d, topic.fingerprint) for d in result.documents]
        cached = cache.get_many("extract", keys) if cache else {}
        for document, key in zip(result.documents, keys, strict=True):
            extraction = cached.get(key)
            if extraction is None:
                extraction = extract_document(document, topic)
                result.new_extract_cache[key] = extraction
            else:
                result.cached_extractions += 1
            result.extractions.append(extraction)
    finally:
        if cache:
            cache.close()
    return result


# ---- the run, in the flow's process --------------------------------------------------------------

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
    reused_files: int = 0
    reused_extractions: int = 0
    up_to_date: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.published else 1


class RunState:
    """Accumulates batches in input order: drops duplicates, writes table fragments, fills the cache."""

    def __init__(self, root: Path, output: Path, work_dir: Path, cache: ResultCache | None) -> None:
        self.root, self.output = root, output
        self.parts = PartStore(work_dir)
        self.cache = cache
        self.position = 0
        self.seen = DuplicateFilter()
        self.rejections: list[Rejection] = []
        self.duplicates: list[Duplicate] = []
        self.reused_files = 0
        self.reused_extractions = 0

    def add(self, batch: BatchResult) -> int:
        """Take one batch's results (batches must arrive in order); returns documents kept."""
        self.rejections += batch.rejections
        self.reused_files += batch.cached_files
        self.reused_extractions += batch.cached_extractions
        if self.cache:
            self.cache.put_many("ingest", batch.new_ingest_cache)
            self.cache.put_many("extract", batch.new_extract_cache)
        builder = TableBuilder(self.parts.catalog)
        kept = 0
        for document, extraction in zip(batch.documents, batch.extractions, strict=True):
            if (duplicate := self.seen.check(document)) is not None:
                self.duplicates.append(duplicate)
                continue
            builder.add(document, extraction, position=self.position)
            self.position += 1
            kept += 1
        self.parts.write(batch.index, builder.frames(keep_position=True))
        return kept

    def report(self, skipped: list[str], fingerprint: str) -> dict[str, Any]:
        """Every input accounted for: ingested, duplicate, rejected (with reason) or skipped."""
        return {
            "input": self.root.name,
            "inputs_fingerprint": fingerprint,
            "extractor": EXTRACTOR_NAME,
            "extractor_version": EXTRACTOR_VERSION,
            "documents": self.position,
            "rejected": [{"file": r.location, "reason": r.reason} for r in self.rejections],
            "duplicates": [{"file": d.location, "duplicate_of": d.duplicate_of, "reason": d.reason}
                           for d in self.duplicates],
            "skipped": [{"file": name, "reason": "excluded by pattern (annotations, notes, hidden files)"}
                        for name in skipped],
        }


def new_report_dir(output: Path) -> Path:
    """Folder for this run's reports (not part of any release)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return output / "runs" / stamp


def up_to_date_summary(root: Path, output: Path, fingerprint: str) -> RunSummary | None:
    """The summary of the latest release if it was built from exactly these inputs, else None."""
    latest = latest_release(output)
    report_path = latest / "ingest_report.json" if latest else None
    if not report_path or not report_path.exists():
        return None
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("inputs_fingerprint") != fingerprint:
        return None
    package = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))
    return RunSummary(
        input=str(root), output=str(output), documents=report["documents"],
        duplicates=report["duplicates"], rejected=report["rejected"], skipped=report["skipped"],
        row_counts={r["name"]: r["rows"] for r in package["resources"]}, published=True,
        version=package["version"], release_dir=str(latest), report_dir=str(latest / "validation"),
        message=f"nothing changed since release {package['version']}: it is up to date", up_to_date=True)


def finish_run(state: RunState, skipped: list[str], fingerprint: str, topic_name: str, *,
               version: str | None = None, baseline: dict[str, int] | None = None) -> RunSummary:
    """Assemble the fragments into staged files, validate and publish."""
    report_dir = new_report_dir(state.output)
    report = state.report(skipped, fingerprint)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "ingest_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    base = dict(input=str(state.root), output=str(state.output), documents=state.position,
                duplicates=report["duplicates"], rejected=report["rejected"], skipped=report["skipped"],
                reused_files=state.reused_files, reused_extractions=state.reused_extractions)
    if not state.position:
        state.parts.remove()
        return RunSummary(**base, row_counts={}, published=False, version=None, release_dir=None,
                          report_dir=str(report_dir),
                          message="no usable document: every input was rejected, skipped or a duplicate")
    staging = new_staging(state.output)
    try:
        row_counts = state.parts.assemble(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        state.parts.remove()
    result: PublishResult = publish_staged(
        staging, state.output, load_topic(topic_name), report_dir / "validation",
        catalog=load_catalog(), version=version, baseline=baseline,
        input_sources=[{"title": f"news documents in {state.root.name}/", "path": state.root.name}],
        extra_files={"ingest_report.json": report},
    )
    return RunSummary(
        **base, row_counts=row_counts, published=result.published, version=result.version,
        release_dir=str(result.release_dir) if result.release_dir else None,
        report_dir=str(report_dir), message=result.message,
        failures=[f.describe() for f in result.report.failures],
    )


def default_cache_path(output: Path) -> Path:
    """Where an output folder keeps its result cache."""
    return output / "cache" / "results.sqlite"


@dataclass
class RunPlan:
    """A run's inputs, batches and fingerprint, decided before any work is done."""

    root: Path
    output: Path
    topic: str
    batches: list[list[InputFile]]
    skipped: list[str]
    fingerprint: str
    cache_path: Path | None
    work_dir: Path
    fetch_failures: list[Rejection] = field(default_factory=list)
    fetched_dir: Path | None = None

    def cleanup(self) -> None:
        """Remove the folder that remote input was fetched into, if any."""
        if self.fetched_dir is not None:
            shutil.rmtree(self.fetched_dir, ignore_errors=True)


def plan_run(spec: str | Path, output: Path, topic_name: str = DEFAULT_TOPIC, batch_size: int = 200,
             use_cache: bool = True) -> RunPlan:
    """Bring remote input to a local folder, find the inputs, cut them into batches, fingerprint them."""
    from policytrace.remote import materialize_input

    output.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(output, include_work=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    fetched_dir = output / f".work-{stamp}-input"
    materialized = materialize_input(str(spec), fetched_dir, cache_dir=output / "cache" / "http")
    root = materialized.root
    inputs, skipped = plan_inputs(root)
    fingerprint = inputs_fingerprint(inputs, topic_name)
    return RunPlan(
        root, output, topic_name, batched(inputs, batch_size), skipped, fingerprint,
        default_cache_path(output) if use_cache else None, output / f".work-{stamp}",
        fetch_failures=[Rejection(f.source, f.reason) for f in materialized.failures],
        fetched_dir=None if materialized.kind == "local" else fetched_dir)


def run_batches(plan: RunPlan, results: Iterator[BatchResult],
                on_batch: Callable[[BatchResult, int], None] | None = None) -> RunState:
    """Feed batch results (in order) into a RunState."""
    cache = ResultCache(plan.cache_path) if plan.cache_path else None
    state = RunState(plan.root, plan.output, plan.work_dir, cache)
    state.rejections += plan.fetch_failures
    try:
        for batch in results:
            kept = state.add(batch)
            if on_batch:
                on_batch(batch, kept)
    finally:
        if cache:
            cache.close()
    return state


def run_in_process(spec: str | Path, output: str | Path, topic_name: str = DEFAULT_TOPIC,
                   version: str | None = None, baseline: dict[str, int] | None = None,
                   batch_size: int = 200, use_cache: bool = True) -> RunSummary:
    """The whole pipeline without Prefect (for tests, debugging and benchmarks)."""
    from policytrace.remote_output import is_remote, mirror_path, pull_latest, push_latest

    if is_remote(output):
        local = mirror_path(str(output))
        pull_latest(str(output), local)
        summary = run_in_process(spec, local, topic_name, version, baseline, batch_size, use_cache)
        if summary.published:
            push_latest(local, str(output))
        return summary
    output = Path(output)
    plan = plan_run(spec, output, topic_name, batch_size, use_cache)
    try:
        if (done := up_to_date_summary(plan.root, output, plan.fingerprint)) is not None:
            return done
        results = (process_batch(i, files, plan.root, topic_name, plan.cache_path)
                   for i, files in enumerate(plan.batches))
        state = run_batches(plan, results)
        return finish_run(state, plan.skipped, plan.fingerprint, topic_name,
                          version=version, baseline=baseline)
    finally:
        plan.cleanup()
