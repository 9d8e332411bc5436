"""The `build-dataset` flow: ingest -> extract -> validate -> publish, one task per batch of documents."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

from policytrace.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import PrefectFuture  # noqa: E402

from policytrace import pipeline  # noqa: E402
from policytrace.paths import DEFAULT_TOPIC  # noqa: E402
from policytrace.progress import Progress  # noqa: E402
from policytrace.remote_output import is_remote, mirror_path, pull_latest, push_latest  # noqa: E402

# Batches in flight at once: enough to keep workers busy, few enough to bound memory.
WINDOW = 4


# A batch's inputs are file paths and hashes; its own result cache (cache_path) makes re-runs cheap,
# so Prefect's input-hash caching would only add work.
@task(name="process-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def process_batch(index: int, files: list[pipeline.InputFile], root: Path, topic: str,
                  cache_path: Path | None) -> pipeline.BatchResult:
    """Read and extract one batch of documents."""
    result = pipeline.process_batch(index, files, root, topic, cache_path)
    get_run_logger().info(
        "batch %d: %d documents (%d files and %d extractions reused), %d rejected", index,
        len(result.documents), result.cached_files, result.cached_extractions, len(result.rejections))
    return result


@task(name="validate-and-publish", cache_policy=NO_CACHE)
def validate_and_publish(state: pipeline.RunState, skipped: list[str], fingerprint: str, topic: str,
                         version: str | None, baseline: dict[str, int] | None) -> pipeline.RunSummary:
    """Assemble the tables, run the validation gate and publish the release if it passes."""
    summary = pipeline.finish_run(state, skipped, fingerprint, topic, version=version, baseline=baseline)
    logger = get_run_logger()
    logger.info(summary.message)
    for failure in summary.failures:
        logger.error("validation: %s", failure)
    return summary


def _in_order(plan: pipeline.RunPlan) -> Iterator[pipeline.BatchResult]:
    """Submit batches a window at a time and yield their results in input order."""
    pending: deque[PrefectFuture] = deque()
    batches = iter(enumerate(plan.batches))
    while True:
        while len(pending) < WINDOW and (item := next(batches, None)) is not None:
            index, files = item
            pending.append(process_batch.submit(index, files, plan.root, plan.topic, plan.cache_path))
        if not pending:
            return
        yield pending.popleft().result()


@flow(name="build-dataset")
def build_dataset(input_dir: str = "seeds", output_dir: str = "output", topic: str = DEFAULT_TOPIC,
                  batch_size: int = 200, version: str | None = None,
                  baseline: dict[str, int] | None = None, use_cache: bool = True,
                  show_progress: bool = False) -> pipeline.RunSummary:
    """Turn a folder of news documents into a validated, published release."""
    logger = get_run_logger()
    if is_remote(output_dir):
        # Object stores: build in a local mirror that starts from the remote's latest release.
        local = mirror_path(output_dir)
        pull_latest(output_dir, local)
        summary = build_dataset.fn(input_dir, str(local), topic, batch_size, version, baseline,
                                   use_cache, show_progress)
        if summary.published:
            logger.info("uploaded release %s to %s", push_latest(local, output_dir), output_dir)
        return summary
    output = Path(output_dir)
    plan = pipeline.plan_run(input_dir, output, topic, batch_size, use_cache)
    try:
        for failure in plan.fetch_failures:
            logger.warning("input %s: %s", failure.file_path, failure.reason)
        done = pipeline.up_to_date_summary(plan.root, output, plan.fingerprint)
        if done is not None:
            logger.info(done.message)
            return done
        files = sum(len(batch) for batch in plan.batches)
        logger.info("%d input files in %d batches", files, len(plan.batches))
        with Progress(total=files, enabled=show_progress) as progress:
            state = pipeline.run_batches(
                plan, _in_order(plan), on_batch=lambda batch, kept: progress.advance(
                    len(plan.batches[batch.index]), f"{kept} documents kept from batch {batch.index + 1}"))
        return validate_and_publish(state, plan.skipped, plan.fingerprint, topic, version, baseline)
    finally:
        plan.cleanup()


def with_dask(address: str | None = None, workers: int = 2):
    """The same flow with batches on Dask: an existing scheduler, or a local cluster of processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        runner = DaskTaskRunner(address=address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                                "processes": True, "dashboard_address": None})
    return build_dataset.with_options(task_runner=runner)
