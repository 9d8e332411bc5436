"""One benchmark phase per process (so peaks of memory do not mix); prints its measures as one JSON list."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from procstat import cpu_seconds, descendants_peak_rss_mb, own_peak_rss_mb, waited_children_peak_rss_mb

# Files read (and documents extracted) per step of the extraction phase: bounds its memory.
CHUNK_FILES = 1000


def code_fingerprint() -> str:
    """A hash of the library and flow sources, to tell which revision a measure was taken on."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*(root / "src" / "policytrace").rglob("*.py"), *(root / "flows").glob("*.py")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rates(documents: int, words: int, seconds: float) -> dict[str, float]:
    return {"seconds": round(seconds, 3), "docs_per_s": round(documents / seconds, 1),
            "words_per_s": round(words / seconds)}


def read_corpus_in_chunks(corpus: Path) -> Iterator[tuple[list, int, float]]:
    """(documents, rejected, seconds spent reading) for every CHUNK_FILES files of the corpus."""
    from policytrace.documents import Document
    from policytrace.ingest import discover_files, read_file

    files, _skipped = discover_files(corpus)
    for start in range(0, len(files), CHUNK_FILES):
        started = time.perf_counter()
        items = [item for path in files[start:start + CHUNK_FILES] for item in read_file(path, corpus)]
        seconds = time.perf_counter() - started
        documents = [item for item in items if isinstance(item, Document)]
        yield documents, len(items) - len(documents), seconds


def measure_extraction(corpus: Path, texts_path: Path) -> list[dict]:
    """Ingest the corpus chunk by chunk, then time `extract_document` alone over each chunk's documents.

    The cleaned texts are saved to texts_path (one JSON string a line) for the reference phase.
    """
    from policytrace.documents import Document
    from policytrace.extract import EXTRACTOR_VERSION, extract_document, extractor_build
    from policytrace.ingest import discover_files, read_file
    from policytrace.ingest.common import word_count
    from policytrace.paths import DEFAULT_TOPIC
    from policytrace.settings import batch_collector, freeze_loaded
    from policytrace.topic import load_topic

    setup_started = time.perf_counter()
    topic = load_topic(DEFAULT_TOPIC)
    first_file = discover_files(corpus)[0][0]
    warm_up = next(item for item in read_file(first_file, corpus) if isinstance(item, Document))
    extract_document(warm_up, topic)  # loads lexicons and compiles patterns once
    freeze_loaded()  # as a batch worker does after its warm-up
    setup_seconds = time.perf_counter() - setup_started
    documents = words = rejected = 0
    ingest_seconds = extract_seconds = extract_cpu = 0.0
    texts_path.parent.mkdir(parents=True, exist_ok=True)
    with texts_path.open("w", encoding="utf-8") as texts:
        for chunk, chunk_rejected, chunk_ingest_seconds in read_corpus_in_chunks(corpus):
            ingest_seconds += chunk_ingest_seconds
            rejected += chunk_rejected
            cpu_before, started = cpu_seconds(), time.perf_counter()
            with batch_collector():  # the collector as in the batch workers
                for document in chunk:
                    extract_document(document, topic)
            extract_seconds += time.perf_counter() - started
            extract_cpu += cpu_seconds() - cpu_before
            documents += len(chunk)
            words += sum(word_count(document.text) for document in chunk)
            texts.writelines(json.dumps(document.text) + "\n" for document in chunk)
            log(f"extraction: {documents} documents, {extract_seconds:.1f} s extracting, "
                f"{ingest_seconds:.1f} s reading")
    common = {"docs": documents, "words": words, "rejected": rejected}
    return [
        {"measure": "ingest", **common, **rates(documents, words, ingest_seconds)},
        {"measure": "extraction", **common, **rates(documents, words, extract_seconds),
         # One process, one core: the rate per core is the rate itself (cpu_seconds confirms it).
         "words_per_s_per_core": round(words / extract_seconds),
         # Per CPU-second: what one core does when nothing else competes for it.
         "words_per_cpu_s": round(words / extract_cpu), "cpu_seconds": round(extract_cpu, 2),
         "setup_seconds": round(setup_seconds, 3), "extractor_version": EXTRACTOR_VERSION,
         "extractor_build": extractor_build()},
    ]


def load_reference_pipeline():
    """spaCy's small English model restricted to NER if installed, else a blank tokenizer + sentencizer."""
    import spacy

    if spacy.util.is_package("en_core_web_sm"):
        nlp = spacy.load("en_core_web_sm", exclude=["parser", "tagger", "lemmatizer", "attribute_ruler"])
        return nlp, f"en_core_web_sm {nlp.meta.get('version')} ({', '.join(nlp.pipe_names)})"
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp, f"spacy {spacy.__version__} blank English: tokenizer + sentencizer (no model installed)"


def measure_reference(texts_path: Path) -> list[dict]:
    """Run the reference pipeline over the texts the extraction phase read."""
    from policytrace.ingest.common import word_count

    nlp, description = load_reference_pipeline()

    def texts() -> Iterator[str]:
        with texts_path.open(encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)

    words = sum(word_count(text) for text in texts())
    documents = tokens = 0
    cpu_before, started = cpu_seconds(), time.perf_counter()
    for doc in nlp.pipe(texts(), batch_size=256):
        documents += 1
        tokens += len(doc)
        if documents % 10_000 == 0:
            log(f"reference: {documents} documents")
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    return [{"measure": "reference_spacy", "pipeline": description, "docs": documents, "words": words,
             "tokens": tokens, **rates(documents, words, seconds),
             "words_per_s_per_core": round(words / seconds), "words_per_cpu_s": round(words / cpu),
             "cpu_seconds": round(cpu, 2)}]


def start_prefect() -> tuple[float, float]:
    """Import the flow module and run a trivial flow: (import seconds, ephemeral server start seconds)."""
    from policytrace.settings import configure_environment

    configure_environment(log_level="WARNING")  # as `policytrace run` does without --verbose
    started = time.perf_counter()
    from prefect import flow

    import flows.build_dataset  # noqa: F401
    imported = time.perf_counter()

    @flow(name="benchmark-startup-probe")
    def startup_probe() -> int:
        return 1

    startup_probe()
    return imported - started, time.perf_counter() - imported


def prefect_memory_fields() -> dict[str, float]:
    """Peak RSS of this process, and the largest peak among its child processes."""
    # Children: the Prefect server; with Dask also its scheduler and workers.
    return {"peak_rss_mb": round(own_peak_rss_mb(), 1),
            "largest_child_peak_rss_mb": round(max(descendants_peak_rss_mb(),
                                                   waited_children_peak_rss_mb()), 1)}


def let_releases_through_failing_gate() -> None:
    """Publish even if validation fails (it still runs in full), so that a no-op re-run can be timed.

    Only for `--publish-despite-gate`: the failures stay in the run summary and in the measure.
    Patches the merge of the gate's results, which both the serial gate and the gate on worker
    processes end with, so that the flow's process still does not import Great Expectations.
    """
    import policytrace.gate_units as gate_units

    merge_units = gate_units.merge_units

    def verdict_ignoring_merge(*args, **kwargs):
        report = merge_units(*args, **kwargs)
        report.success = True
        return report

    gate_units.merge_units = verdict_ignoring_merge


def measure_flow(corpus: Path, output: Path, batch_size: int, despite_gate: bool = False,
                 task_runner: str = "processes", workers: int | None = None) -> list[dict]:
    """The real Prefect flow into a fresh output folder, batches in worker processes, on threads or on Dask."""
    if despite_gate:
        let_releases_through_failing_gate()
    if task_runner == "processes":
        # As `policytrace run` does: the workers' fork server imports while Prefect starts.
        from policytrace.pipeline import prepare_worker_processes

        prepare_worker_processes()
    import_seconds, startup_seconds = start_prefect()
    from flows.build_dataset import with_task_runner
    from policytrace.extract import extractor_build
    from policytrace.pipeline import default_workers

    flow, options = with_task_runner(task_runner, workers)
    if task_runner == "processes":
        workers = workers or default_workers()
    log(f"flow: Prefect ready after {import_seconds + startup_seconds:.1f} s; running build-dataset "
        f"on {task_runner}")
    cpu_before, started = cpu_seconds(), time.perf_counter()
    summary = flow(input_dir=str(corpus), output_dir=str(output), batch_size=batch_size,
                   show_progress=False, **options)
    seconds = time.perf_counter() - started
    # This process's CPU time, plus that of its waited-for children (the batch workers).
    cpu = cpu_seconds() - cpu_before
    loaded = [name for name in ("great_expectations", "pandas", "matplotlib", "spacy") if name in sys.modules]
    return [{"measure": "flow", "docs": summary.documents, "seconds": round(seconds, 3),
             "tail_seconds": tail_seconds(output), **gate_fields(summary.report_dir),
             "flow_process_imported": loaded, "extractor_build": extractor_build(),
             "cpu_seconds": round(cpu, 2), "cores_busy": round(cpu / seconds, 2),
             "prefect_import_seconds": round(import_seconds, 2),
             "prefect_startup_seconds": round(startup_seconds, 2),
             "batch_size": batch_size, "task_runner": task_runner,
             **({"workers": workers} if task_runner != "threads" else {}), "published": summary.published,
             "rejected": len(summary.rejected), "duplicates": len(summary.duplicates),
             "rows": summary.row_counts, "message": summary.message,
             "gate_verdict_ignored": despite_gate, "validation_failures": summary.failures,
             **prefect_memory_fields()}]


def gate_fields(report_dir: str | None) -> dict[str, float | int]:
    """The validation gate's own wall time and expectation runs, from the run's validation.json."""
    path = Path(report_dir) / "validation" / "validation.json" if report_dir else None
    if path is None or not path.exists():
        return {}
    report = json.loads(path.read_text(encoding="utf-8"))
    return {"gate_seconds": report.get("seconds"), "gate_expectation_runs": report.get("expectation_count")}


def tail_seconds(output: Path) -> float | None:
    """From the start of `finish_run` (the run's report folder is named by that time) to the checksums."""
    from datetime import UTC, datetime

    runs = sorted((output / "runs").glob("*"))
    sums = sorted((output / "releases").glob("*/SHA256SUMS"))
    if not runs or not sums:
        return None
    started = datetime.strptime(runs[-1].name, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC).timestamp()
    return round(sums[-1].stat().st_mtime - started, 2)


def measure_noop_rerun(corpus: Path, output: Path, batch_size: int) -> list[dict]:
    """The flow again on the same input and output; then the up-to-date check alone, without Prefect."""
    from policytrace import pipeline

    import_seconds, startup_seconds = start_prefect()
    from flows.build_dataset import build_dataset

    started = time.perf_counter()
    summary = build_dataset(input_dir=str(corpus), output_dir=str(output), batch_size=batch_size,
                            show_progress=False)
    flow_seconds = time.perf_counter() - started
    started = time.perf_counter()
    plan = pipeline.plan_run(corpus, output, batch_size=batch_size)
    try:
        planned = time.perf_counter()
        done = plan.up_to_date()
    finally:
        plan.cleanup()
    check_seconds = time.perf_counter() - started
    return [{"measure": "noop_rerun", "docs": summary.documents, "seconds": round(flow_seconds, 3),
             "up_to_date": summary.up_to_date, "message": summary.message,
             "plan_and_check_seconds": round(check_seconds, 3),
             "plan_run_seconds": round(planned - started, 3), "check_up_to_date": done is not None,
             "prefect_import_seconds": round(import_seconds, 2),
             "prefect_startup_seconds": round(startup_seconds, 2), **prefect_memory_fields()}]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=["extraction", "reference", "flow", "noop_rerun"])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--texts", type=Path, help="cleaned texts (written by extraction, read by reference)")
    parser.add_argument("--output", type=Path, help="flow output folder")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--publish-despite-gate", action="store_true",
                        help="flow: publish even if validation fails (to time a no-op re-run)")
    parser.add_argument("--task-runner", choices=["processes", "threads", "dask"], default="processes")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core; Dask: 2)")
    args = parser.parse_args(argv)
    code = code_fingerprint()  # before the phase runs: the sources it imported
    if args.phase in ("flow", "noop_rerun"):
        from policytrace.settings import configure_environment

        # Before anything loads polars: its allocator reads its settings then (as `policytrace run`).
        configure_environment(log_level="WARNING")
    if args.phase == "extraction":
        measures = measure_extraction(args.corpus, args.texts)
    elif args.phase == "reference":
        measures = measure_reference(args.texts)
    elif args.phase == "flow":
        measures = measure_flow(args.corpus, args.output, args.batch_size, args.publish_despite_gate,
                                args.task_runner, args.workers)
    else:
        measures = measure_noop_rerun(args.corpus, args.output, args.batch_size)
    for measure in measures:
        measure.setdefault("peak_rss_mb", round(own_peak_rss_mb(), 1))
        measure["code"] = code
    print(json.dumps(measures), flush=True)


if __name__ == "__main__":
    main()
