"""The pipeline's steps as plain functions: the Prefect flow calls these, and so do the tests.

Documents move in batches. Each batch is read and extracted (reusing cached results for files and
documents that did not change), then turned into table fragments on disk, so memory holds one
window of batches at a time, whatever the size of the corpus. All of a batch's work (reading,
extraction, the result cache, table fragments) happens where the batch runs: in a worker process
of a `BatchPool`, on a thread of the flow's process, or on a Dask worker. The flow's process only
receives a small summary of each batch and drops duplicates across batches, in input order.
"""

from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policytrace import __version__
from policytrace.cache import CACHE_FORMAT, ResultCache
from policytrace.documents import Document, Duplicate, Rejection
from policytrace.documents import location as document_location
from policytrace.extract import EXTRACTOR_NAME, EXTRACTOR_VERSION
from policytrace.extract.model import Extraction
from policytrace.ids import sha256_hex
from policytrace.ingest import DEFAULT_EXCLUDE, DuplicateFilter, read_file, walk_files
from policytrace.parts import PartStore
from policytrace.paths import DEFAULT_TOPIC, SCHEMAS_DIR
from policytrace.publish import latest_release, new_staging, remove_stale_staging
from policytrace.schema import load_catalog
from policytrace.settings import batch_collector, freeze_loaded
from policytrace.tables import TableBuilder
from policytrace.topic import load_topic

if TYPE_CHECKING:  # publishing pulls in Great Expectations: imported when a run gets that far
    from policytrace.publish import PublishResult

INGEST_VERSION = f"{__version__}/{CACHE_FORMAT}"
log = logging.getLogger(__name__)


# ---- planning -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputFile:
    """One input file, identified by its path (relative to the input root) and content hash."""

    path: Path
    name: str
    raw_sha256: str


def plan_inputs(root: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> tuple[list[InputFile], list[str]]:
    """Every input file with its hash, in stable order; plus the files left out by `exclude`."""
    files, skipped = walk_files(root, tuple(exclude))
    inputs = [InputFile(path, name, sha256_hex(path.read_bytes())) for path, name in files]
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
    from policytrace.extract import extract_document  # spaCy: only where batches are built

    result = BatchResult(index)
    cache = ResultCache(cache_path) if cache_path else None
    try:
        file_keys = [ingest_cache_key(f) for f in files]
        cached_files = cache.get_many("ingest", file_keys) if cache else {}
        for item, key in zip(files, file_keys, strict=True):
            if key in cached_files:
                items = cached_files[key]
                result.cached_files += 1
            else:
                items = list(read_file(item.path, root, item.name))
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


@dataclass(frozen=True)
class DocumentKey:
    """What the duplicate filter needs of a document (`DuplicateFilter.check` reads these fields)."""

    text_sha256: str
    source_id: str
    file_path: str
    record_index: int | None

    @property
    def location(self) -> str:
        return document_location(self.file_path, self.record_index)


@dataclass
class BatchOutput:
    """The summary a batch sends back to the flow's process; its rows are already in fragments on disk."""

    index: int
    documents: list[DocumentKey] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    cached_files: int = 0
    cached_extractions: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    worker: int = 0


def build_batch(index: int, files: list[InputFile], root: Path, topic_name: str, cache_path: Path | None,
                work_dir: Path) -> BatchOutput:
    """One batch, all of it: read, extract, store new results in the cache, write table fragments.

    Every document of the batch gets rows, with its position in the batch as `_doc`; the flow's
    process decides afterwards which are duplicates (`RunState.add`), and those rows are left out
    when the release is assembled. So the release is the same whoever builds the batches, and when.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    result = process_batch(index, files, root, topic_name, cache_path)
    if cache_path and (result.new_ingest_cache or result.new_extract_cache):
        cache = ResultCache(cache_path)
        try:
            cache.put_many("ingest", result.new_ingest_cache)
            cache.put_many("extract", result.new_extract_cache)
        finally:
            cache.close()
    parts = PartStore(work_dir)
    builder = TableBuilder(parts.catalog)
    for position, (document, extraction) in enumerate(zip(result.documents, result.extractions, strict=True)):
        builder.add(document, extraction, position=position)
    parts.write(index, builder.fragments())
    return BatchOutput(
        index, [DocumentKey(d.text_sha256, d.source_id, d.file_path, d.record_index) for d in result.documents],
        result.rejections, result.cached_files, result.cached_extractions,
        round(time.perf_counter() - started, 3), round(time.process_time() - cpu_started, 3), os.getpid())


# ---- worker processes ---------------------------------------------------------------------------

def default_workers() -> int:
    """Worker processes by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# Imported once by the fork server that worker processes are forked from (`worker_context`).
WORKER_PRELOAD = ["policytrace.pipeline", "policytrace.extract.extractor", "policytrace.gate_units",
                  "policytrace.validate", "policytrace.worker_warm_up"]


def worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a fork server that has imported WORKER_PRELOAD.

    Not forked from this process: the flow's process runs Prefect's threads and event loop, which
    a forked child must not inherit. The fork server is a fresh Python process that imports the
    pipeline, the extractor (spaCy), the validation gate (Great Expectations) and matplotlib once, compiles the
    default topic and loads the language model (`worker_warm_up`); every worker forked from it
    starts with them loaded, instead of doing it itself (~11 s of CPU per worker and run). Where
    there is no fork server (Windows), workers are spawned.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)  # only read when the server starts
    return context


def prepare_worker_processes() -> None:
    """Start the fork server now, so that its imports run while this process does other work.

    `policytrace run` calls it before it starts Prefect (~10 s, one core), so that the workers'
    imports are done by the time the flow asks for workers; without it the server starts with the
    first worker pool.
    """
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _build_batch_in_worker(*args: Any) -> BatchOutput:
    """`build_batch` in a pool worker, which runs one task at a time, with `batch_collector`."""
    with batch_collector():
        return build_batch(*args)


def _warm_worker(topic_name: str) -> None:
    """Run once in each worker process: load the topic, compile the extractor's patterns, load the language model."""
    # A worker forked from the fork server inherits its cached topic and schemas, which may predate
    # an edit of their files: read them again. The compiled topic is kept per fingerprint, so an
    # unchanged topic is not compiled again.
    load_topic.cache_clear()
    load_catalog.cache_clear()
    warm_up_for_batches(topic_name)


def warm_up_for_batches(topic_name: str) -> None:
    """Load what building batches needs (topic, catalog, compiled matchers, py3langid's model), then freeze it."""
    from policytrace.extract import extract_document
    from policytrace.ingest.common import detect_language, parse_datetime

    topic = load_topic(topic_name)
    load_catalog()
    detect_language("The ministry said on Monday that the people were freed.")
    parse_datetime("Feb 4, 2024 7:13 PM EST")  # builds dateparser's time-zone patterns (~0.15 s)
    try:
        extract_document(Document(text="The ministry said on Monday that 1,200 people were freed.",
                                  document_format="text", file_path="warm-up.txt", raw_sha256="0" * 64),
                         topic)
    except Exception:  # noqa: BLE001 - a warm-up only; the first real batch will report any error
        pass
    freeze_loaded()


class BatchPool:
    """Worker processes that build batches (`build_batch`), shared by the batches of one run.

    Workers are forked from a fork server that has imported the pipeline and the gate
    (`worker_context`; spawned where there is none). A worker warms up the extractor once, then
    builds any number of batches. Batches in flight are submitted by the flow's threads (Prefect
    tasks), which only wait for the result.
    """

    _registry: dict[str, BatchPool] = {}

    def __init__(self, workers: int | None = None, topic_name: str = DEFAULT_TOPIC) -> None:
        self.workers = workers or default_workers()
        self.topic_name = topic_name
        self.key = f"{os.getpid()}-{id(self):x}"
        self._lock = threading.Lock()
        self._executor = self._start()
        self._batches_to_warm_after: int | None = None
        self._submitted_batches: set[int] = set()
        self.gate_warm_up_queued = False
        BatchPool._registry[self.key] = self

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=worker_context(),
            initializer=_warm_worker, initargs=(self.topic_name,))
        # Start every worker at once (the executor would otherwise start them one submit at a time).
        for _ in range(self.workers):
            executor.submit(os.getpid)
        return executor

    @classmethod
    def get(cls, key: str) -> BatchPool:
        """The pool registered under key (a Prefect task receives the key, not the pool)."""
        return cls._registry[key]

    def submit(self, *args: Any) -> Future[BatchOutput]:
        """Build a batch (`build_batch` arguments) in a worker; a pool broken by a dead worker is restarted."""
        future = self.call(_build_batch_in_worker, *args)
        with self._lock:
            self._submitted_batches.add(args[0])
        self._warm_gate_if_all_submitted()
        return future

    def call(self, function: Callable[..., Any], *args: Any) -> Future:
        """Run any picklable function in a worker (a batch, the gate's units, the figure); restarts a broken pool."""
        with self._lock:
            if getattr(self._executor, "_broken", False):
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
            return self._executor.submit(function, *args)

    def warm_gate_after(self, batches: int) -> None:
        """Warm the workers up for the gate (`warm_gate`) once batches 0 to batches-1 are all in the queue.

        Prefect tasks submit their batches from threads, a little after the flow asks for them: warming
        up when the flow has asked for the last batch let a worker import the gate's code (~5 s) before
        building that batch, and the whole run waited for it.
        """
        with self._lock:
            self._batches_to_warm_after = batches
        self._warm_gate_if_all_submitted()

    def _warm_gate_if_all_submitted(self) -> None:
        with self._lock:
            due = (not self.gate_warm_up_queued and self._batches_to_warm_after is not None
                   and len(self._submitted_batches) >= self._batches_to_warm_after)
            # Set under the lock: two threads submitting the last batches must not both warm up.
            self.gate_warm_up_queued |= due
        if due:
            self.warm_gate()

    def warm_gate(self) -> None:
        """Have idle workers import the validation gate's code while the last batches finish.

        Queued behind the batches already submitted, so a worker only does it once it has no batch left.
        """
        from policytrace.gate_units import warm_worker

        self.gate_warm_up_queued = True
        for _ in range(self.workers):
            self.call(warm_worker)

    def close(self) -> None:
        BatchPool._registry.pop(self.key, None)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BatchPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_batch(index: int, files: list[InputFile], root: Path, topic_name: str, cache_path: Path | None,
              work_dir: Path, pool_key: str | None = None) -> BatchOutput:
    """Build one batch in the pool registered under pool_key, or here if there is none."""
    if pool_key is None:
        return build_batch(index, files, root, topic_name, cache_path, work_dir)
    return BatchPool.get(pool_key).submit(index, files, root, topic_name, cache_path, work_dir).result()


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

    def markdown(self) -> str:
        """The run as a short Markdown report (Prefect shows it as the run's artifact)."""
        lines = [f"**{self.message}**", "",
                 f"- input `{self.input}`: {self.documents} documents, {len(self.duplicates)} duplicates, "
                 f"{len(self.rejected)} rejected, {len(self.skipped)} skipped",
                 f"- reused stored results for {self.reused_files} files and {self.reused_extractions} documents"]
        if self.release_dir:
            lines.append(f"- release `{self.version}` in `{self.release_dir}`")
        lines.append(f"- run report `{self.report_dir}`")
        if self.row_counts:
            lines += ["", "| table | rows |", "| --- | ---: |"]
            lines += [f"| {name} | {count:,} |" for name, count in self.row_counts.items()]
        shown = 20  # a long list belongs in the run report, not in the UI
        for title, items in (("Validation failures", self.failures),
                             ("Rejected", [f"`{r['file']}`: {r['reason']}" for r in self.rejected])):
            if items:
                lines += ["", f"{title} ({len(items)}):", ""] + [f"- {item}" for item in items[:shown]]
                if len(items) > shown:
                    lines.append(f"- ... and {len(items) - shown} more in the run report")
        return "\n".join(lines) + "\n"


class RunState:
    """Takes batches in input order: drops duplicates across and within batches, counts what was reused.

    The rows are already in the batches' fragments on disk; a duplicate's rows are marked to be
    left out when the fragments are assembled.
    """

    def __init__(self, root: Path, output: Path, work_dir: Path, remote_source: str | None = None,
                 cache_path: Path | None = None) -> None:
        self.root, self.output = root, output
        self.cache_path = cache_path
        # Fetched or copied input: the URL or URL list it came from, not the temporary folder.
        self.remote_source = remote_source
        self.parts = PartStore(work_dir)
        self.position = 0
        self.seen = DuplicateFilter()
        self.rejections: list[Rejection] = []
        self.duplicates: list[Duplicate] = []
        self.reused_files = 0
        self.reused_extractions = 0
        self.batches = 0

    def add(self, batch: BatchOutput) -> int:
        """Take one batch's summary (batches must arrive in order); returns documents kept."""
        self.rejections += batch.rejections
        self.reused_files += batch.cached_files
        self.reused_extractions += batch.cached_extractions
        self.batches += 1
        left_out = []
        for position, document in enumerate(batch.documents):
            if (duplicate := self.seen.check(document)) is not None:
                self.duplicates.append(duplicate)
                left_out.append(position)
            else:
                self.position += 1
        if left_out:
            self.parts.exclude(batch.index, left_out)
        return len(batch.documents) - len(left_out)

    def prune_cache(self) -> int:
        """Remove the stored results no run has used in MAX_UNUSED_DAYS (files gone from the input,
        old versions of edited files, older extractor or topic versions), so that the store of a
        scheduled run does not grow without end; returns how many went."""
        if self.cache_path is None or not self.cache_path.exists():
            return 0
        cache = ResultCache(self.cache_path)
        try:
            return cache.prune()
        finally:
            cache.close()

    def report(self, skipped: list[str], fingerprint: str) -> dict[str, Any]:
        """Every input accounted for: ingested, duplicate, rejected (with reason) or skipped."""
        return {
            "input": self.remote_source or self.root.name,
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


# In the output's cache folder: the release the latest run published (or pointed `latest` at) and
# that run's report, with its inputs' fingerprint (`finish_run`). Releases are never rewritten, so
# a release whose tables a run with other inputs gave again (a new code or schema version, same
# rows) keeps its first ingest report.
CONFIRMED_INPUTS = "confirmed_inputs.json"


def _confirmed_report(output: Path, latest: Path, fingerprint: str) -> dict[str, Any] | None:
    """The ingest report of the run that last gave the latest release from these inputs, if any."""
    try:
        confirmed = json.loads((output / "cache" / CONFIRMED_INPUTS).read_text(encoding="utf-8"))
        if confirmed["version"] != latest.name:
            return None
        report: dict[str, Any] = json.loads((output / "runs" / confirmed["report"]).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return report if report.get("inputs_fingerprint") == fingerprint else None


def up_to_date_summary(root: Path, output: Path, fingerprint: str, remote_source: str | None = None, *,
                       version: str | None = None, baseline: dict[str, int] | None = None) -> RunSummary | None:
    """The summary of the latest release if it was built, or last rebuilt, from exactly these
    inputs, else None (remote_source: the URL the input in root was fetched from, if any).

    Also None when the latest release is not the `version` asked for, or has fewer rows than the
    `baseline` asks (the baseline is not part of the fingerprint): the run then builds and
    validates again, and the gate says what falls short.
    """
    latest = latest_release(output)
    if latest is None or not (report_path := latest / "ingest_report.json").exists():
        return None
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("inputs_fingerprint") != fingerprint:
        report = _confirmed_report(output, latest, fingerprint)
        if report is None:
            return None
    package = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))
    row_counts = {r["name"]: r["rows"] for r in package["resources"]}
    if version is not None and package.get("version") != version:
        return None
    if any(row_counts.get(table, 0) < minimum for table, minimum in (baseline or {}).items()):
        return None
    return RunSummary(
        input=remote_source or str(root), output=str(output), documents=report["documents"],
        duplicates=report["duplicates"], rejected=report["rejected"], skipped=report["skipped"],
        row_counts=row_counts, published=True,
        version=package["version"], release_dir=str(latest), report_dir=str(latest / "validation"),
        message=f"nothing changed since release {package['version']}: it is up to date", up_to_date=True)


def finish_run(state: RunState, skipped: list[str], fingerprint: str, topic_name: str, *,
               version: str | None = None, baseline: dict[str, int] | None = None,
               pool: BatchPool | None = None) -> RunSummary:
    """Assemble the fragments into staged files, validate and publish (the gate in the pool's workers if any)."""
    from policytrace.publish import publish_staged

    report_dir = new_report_dir(state.output)
    report = state.report(skipped, fingerprint)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "ingest_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    base = dict(input=state.remote_source or str(state.root), output=str(state.output), documents=state.position,
                duplicates=report["duplicates"], rejected=report["rejected"], skipped=report["skipped"],
                reused_files=state.reused_files, reused_extractions=state.reused_extractions)
    if not state.position:
        state.parts.remove()
        return RunSummary(**base, row_counts={}, published=False, version=None, release_dir=None,
                          report_dir=str(report_dir),
                          message="no usable document: every input was rejected, skipped or a duplicate")
    staging = new_staging(state.output)
    try:
        row_counts = state.parts.assemble(staging, submit=pool.call if pool is not None else None)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        state.parts.remove()
    result: PublishResult = publish_staged(
        staging, state.output, load_topic(topic_name), report_dir / "validation",
        catalog=load_catalog(), version=version, baseline=baseline,
        input_sources=[{"title": f"news documents from {state.remote_source}", "path": state.remote_source}
                       if state.remote_source else
                       {"title": f"news documents in {state.root.name}/", "path": state.root.name}],
        extra_files={"ingest_report.json": report}, submit=pool.call if pool is not None else None,
    )
    if result.published:
        state.prune_cache()
    if result.published and result.version:
        # So that the next run with these inputs finds the release up to date, even when this
        # run only pointed `latest` at an existing release with the same tables.
        # The run's report holds the fingerprint.
        confirmed = {"version": result.version,
                     "report": (report_dir / "ingest_report.json").relative_to(state.output / "runs").as_posix()}
        path = state.output / "cache" / CONFIRMED_INPUTS
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(json.dumps(confirmed, indent=2), encoding="utf-8")
        path.with_suffix(".tmp").replace(path)
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
    remote_source: str | None = None  # the input as named, when it was fetched or copied into root
    lock: OutputLock | None = None

    def up_to_date(self, version: str | None = None, baseline: dict[str, int] | None = None) -> RunSummary | None:
        """The latest release's summary if this run has nothing to do (`up_to_date_summary`); never
        without the result store (--no-cache), which means build everything again."""
        if self.cache_path is None:
            return None
        return up_to_date_summary(self.root, self.output, self.fingerprint, self.remote_source,
                                  version=version, baseline=baseline)

    def cleanup(self) -> None:
        """Remove the folder that remote input was fetched into, if any, and let go of the output."""
        if self.fetched_dir is not None:
            shutil.rmtree(self.fetched_dir, ignore_errors=True)
        if self.lock is not None:
            self.lock.release()


class OutputBusyError(RuntimeError):
    """Another run is using the output folder."""


# Output locks this process holds, by lock file and thread: (open file or None, holders). The
# same thread may take its lock again (the flow for an fsspec output locks the local mirror around
# pull, build and push, and the build inside locks it again); another thread may not.
_HELD_LOCKS: dict[tuple[Path, int], list[Any]] = {}
_HELD_LOCKS_GUARD = threading.Lock()


class OutputLock:
    """One run at a time per output folder: an exclusive lock on `<output>/.run.lock` for the length
    of the run. A second run would delete the first one's work and staging folders as leftovers.
    The operating system lets go of the lock when the process ends, however it ends. (No lock where
    `fcntl` is missing, i.e. on Windows, or where the file system cannot lock, with a warning.)"""

    NAME = ".run.lock"

    def __init__(self, output: Path) -> None:
        self.output = output
        self._key: tuple[Path, int] | None = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> OutputLock:
        self.output.mkdir(parents=True, exist_ok=True)
        key = ((self.output / self.NAME).resolve(), threading.get_ident())
        with _HELD_LOCKS_GUARD:
            if key in _HELD_LOCKS:
                _HELD_LOCKS[key][1] += 1
            else:
                _HELD_LOCKS[key] = [self._lock(key[0]), 1]
            self._key = key
        return self

    @staticmethod
    def _lock(path: Path) -> Any:
        try:
            import fcntl
        except ImportError:
            return None
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                handle.close()  # a file system that cannot lock (some network mounts): run unlocked
                log.warning("cannot lock %s (%s): concurrent runs on this output are not prevented", path, exc)
                return None
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputBusyError(f"another policytrace run ({holder}) is using {path.parent}: "
                                  "wait for it to finish, or give another --output") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        return handle

    def release(self) -> None:
        if self._key is None:
            return
        with _HELD_LOCKS_GUARD:
            held = _HELD_LOCKS[self._key]
            held[1] -= 1
            if held[1] == 0:
                if held[0] is not None:
                    held[0].close()  # closing the file lets go of the lock
                del _HELD_LOCKS[self._key]
        self._key = None


def plan_run(spec: str | Path, output: Path, topic_name: str = DEFAULT_TOPIC, batch_size: int = 200,
             use_cache: bool = True) -> RunPlan:
    """Bring remote input to a local folder, find the inputs, cut them into batches, fingerprint them."""
    from policytrace.remote import fetch_settings, is_local_spec, materialize_input, without_credentials

    output.mkdir(parents=True, exist_ok=True)
    lock = OutputLock(output).acquire()
    try:
        remove_stale_staging(output, include_work=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        fetched_dir = output / f".work-{stamp}-input"
        # Fetch settings matter (and are checked) only for input that is fetched.
        materialized = materialize_input(str(spec), fetched_dir, cache_dir=output / "cache" / "http",
                                         **({} if is_local_spec(str(spec)) else fetch_settings()))
        root = materialized.root
        inputs, skipped = plan_inputs(root)
        fingerprint = inputs_fingerprint(inputs, topic_name)
    except BaseException:
        lock.release()
        raise
    return RunPlan(
        root, output, topic_name, batched(inputs, batch_size), skipped, fingerprint,
        default_cache_path(output) if use_cache else None, output / f".work-{stamp}",
        fetch_failures=[Rejection(f.source, f.reason) for f in materialized.failures],
        fetched_dir=None if materialized.kind == "local" else fetched_dir,
        remote_source=None if materialized.kind == "local" else without_credentials(str(spec)), lock=lock)


def run_batches(plan: RunPlan, results: Iterator[BatchOutput],
                on_batch: Callable[[BatchOutput, int], None] | None = None) -> RunState:
    """Feed batch summaries (in order) into a RunState."""
    if plan.cache_path:
        ResultCache(plan.cache_path).close()  # create the store before workers write to it
    state = RunState(plan.root, plan.output, plan.work_dir, plan.remote_source, plan.cache_path)
    state.rejections += plan.fetch_failures
    for batch in results:
        kept = state.add(batch)
        if on_batch:
            on_batch(batch, kept)
    return state


def in_order_windowed(plan: RunPlan, submit: Callable[[int, list[InputFile]], Any],
                      window: int) -> Iterator[BatchOutput]:
    """Submit batches (`submit` returns a future) a window at a time; yield their results in input order."""
    pending: deque[Any] = deque()
    batches = iter(enumerate(plan.batches))
    while True:
        while len(pending) < window and (item := next(batches, None)) is not None:
            pending.append(submit(*item))
        if not pending:
            return
        yield pending.popleft().result()


def in_order(plan: RunPlan, pool: BatchPool | None = None, window: int | None = None) -> Iterator[BatchOutput]:
    """Build the plan's batches (in the pool's workers, or here one by one) and yield them in order."""
    if pool is None:
        for index, files in enumerate(plan.batches):
            yield build_batch(index, files, plan.root, plan.topic, plan.cache_path, plan.work_dir)
        return
    pool.warm_gate_after(len(plan.batches))
    yield from in_order_windowed(
        plan, lambda index, files: pool.submit(index, files, plan.root, plan.topic, plan.cache_path,
                                               plan.work_dir), window or 2 * pool.workers)


def build_into_remote(url: str, build: Callable[[Path], RunSummary]) -> tuple[RunSummary, str | None]:
    """A run whose output is an fsspec URL: build in a local mirror that starts from the remote's
    latest release, then upload a published release. The mirror's lock covers all three, so no
    other run pulls or publishes in between (the build takes it again). Returns the summary and
    the version uploaded, if any."""
    from policytrace.remote_output import mirror_path, pull_latest, push_latest

    local = mirror_path(url)
    with OutputLock(local):
        pull_latest(url, local)
        summary = build(local)
        return summary, push_latest(local, url) if summary.published else None


def run_in_process(spec: str | Path, output: str | Path, topic_name: str = DEFAULT_TOPIC,
                   version: str | None = None, baseline: dict[str, int] | None = None,
                   batch_size: int = 200, use_cache: bool = True, workers: int = 0) -> RunSummary:
    """The whole pipeline without Prefect (for tests, debugging and benchmarks).

    workers=0 builds the batches in this process; N > 0 in a pool of N worker processes.
    """
    from policytrace.remote_output import is_remote

    if is_remote(output):
        return build_into_remote(str(output), lambda local: run_in_process(
            spec, local, topic_name, version, baseline, batch_size, use_cache, workers))[0]
    output = Path(output)
    plan = plan_run(spec, output, topic_name, batch_size, use_cache)
    try:
        if (done := plan.up_to_date(version, baseline)) is not None:
            return done
        if workers and len(plan.batches) > 1:
            # The same workers then run the validation gate.
            with BatchPool(workers, topic_name) as pool:
                state = run_batches(plan, in_order(plan, pool))
                return finish_run(state, plan.skipped, plan.fingerprint, topic_name,
                                  version=version, baseline=baseline, pool=pool)
        state = run_batches(plan, in_order(plan))
        return finish_run(state, plan.skipped, plan.fingerprint, topic_name, version=version, baseline=baseline)
    finally:
        plan.cleanup()
