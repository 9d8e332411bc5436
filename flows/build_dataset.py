"""The `build-dataset` flow: ingest -> extract -> validate -> publish, one task per batch of documents."""

from __future__ import annotations

from pathlib import Path

from policytrace.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger, task, unmapped  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from policytrace import pipeline  # noqa: E402
from policytrace.documents import Document  # noqa: E402
from policytrace.extract.model import Extraction  # noqa: E402
from policytrace.ingest import IngestResult, drop_duplicates  # noqa: E402
from policytrace.paths import DEFAULT_TOPIC  # noqa: E402


# Batches hold whole documents: hashing them for a cache key would cost more than the work.
@task(name="ingest-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def ingest_batch(paths: list[Path], root: Path) -> IngestResult:
    """Read one batch of input files."""
    result = pipeline.ingest_batch(paths, root)
    get_run_logger().info("ingested %d documents, %d rejected", len(result.documents),
                          len(result.rejections))
    return result


@task(name="extract-batch", cache_policy=NO_CACHE)
def extract_batch(documents: list[Document], topic: str) -> list[Extraction]:
    """Extract actors, events, conditions, quantities and citations from one batch."""
    extractions = pipeline.extract_batch(documents, topic)
    get_run_logger().info("extracted from %d documents", len(documents))
    return extractions


@task(name="validate-and-publish", cache_policy=NO_CACHE)
def validate_and_publish(root: Path, output: Path, topic: str, documents: list[Document],
                         extractions: list[Extraction], ingested: IngestResult, skipped: list[str],
                         duplicates: list, version: str | None,
                         baseline: dict[str, int] | None) -> pipeline.RunSummary:
    """Build the tables, run the validation gate and publish the release if it passes."""
    summary = pipeline.finish_run(root, output, topic, documents, extractions, ingested.rejections,
                                  duplicates, skipped, version=version, baseline=baseline)
    logger = get_run_logger()
    logger.info(summary.message)
    for failure in summary.failures:
        logger.error("validation: %s", failure)
    return summary


@flow(name="build-dataset", log_prints=True)
def build_dataset(input_dir: str = "seeds", output_dir: str = "output", topic: str = DEFAULT_TOPIC,
                  batch_size: int = 200, version: str | None = None,
                  baseline: dict[str, int] | None = None) -> pipeline.RunSummary:
    """Turn a folder of news documents into a validated, published release."""
    root, output = Path(input_dir), Path(output_dir)
    batches, skipped = pipeline.plan_batches(root, batch_size)
    ingested = IngestResult()
    for result in ingest_batch.map(batches, unmapped(root)).result():
        ingested.extend(result)
    documents, duplicates = drop_duplicates(ingested.documents)
    document_batches = [documents[i:i + batch_size] for i in range(0, len(documents), batch_size)]
    extractions: list[Extraction] = []
    for batch in extract_batch.map(document_batches, unmapped(topic)).result():
        extractions.extend(batch)
    return validate_and_publish(root, output, topic, documents, extractions, ingested, skipped,
                                duplicates, version, baseline)
