"""The `build-dataset` flow: ingest -> extract -> validate -> publish, one task per batch of documents.

Where batches run (`--task-runner` on the command line):

- processes (the default): the Prefect tasks run on threads of the flow's process and hand each
  batch to a pool of worker processes (`pipeline.BatchPool`, one per core by default), which read,
  extract and write the batch's table fragments. The workers do not talk to Prefect at all, so
  they need no Prefect server of their own.
- threads: the tasks build their batches themselves, on threads of the flow's process (one core).
- dask: the tasks run on a Dask cluster (prefect-dask) and build their batches there.

Prefect's own `ProcessPoolTaskRunner` was measured and not used: under the ephemeral server every
worker process starts a Prefect server of its own (12-18 s before the first task runs on 2 cores).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from policytrace.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import (  # noqa: E402
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.context import FlowRunContext  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from policytrace import pipeline  # noqa: E402
from policytrace.paths import DEFAULT_TOPIC  # noqa: E402
from policytrace.progress import Progress  # noqa: E402
from policytrace.remote_output import is_remote  # noqa: E402

# Batches in flight at once, at least: enough to keep workers busy, few enough to bound memory.
WINDOW = 4


# A batch's inputs are file paths and hashes; its own result cache (cache_path) makes re-runs cheap,
# so Prefect's input-hash caching would only add work.
@task(name="process-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def process_batch(index: int, files: list[pipeline.InputFile], root: Path, topic: str,
                  cache_path: Path | None, work_dir: Path, pool_key: str | None = None) -> pipeline.BatchOutput:
    """Read and extract one batch of documents and write its table fragments (in a worker process if pooled)."""
    result = pipeline.run_batch(index, files, root, topic, cache_path, work_dir, pool_key)
    get_run_logger().info(
        "batch %d: %d documents (%d files and %d extractions reused), %d rejected, %.1f s in process %d",
        index, len(result.documents), result.cached_files, result.cached_extractions,
        len(result.rejections), result.seconds, result.worker)
    return result


@task(name="validate-and-publish", cache_policy=NO_CACHE)
def validate_and_publish(state: pipeline.RunState, skipped: list[str], fingerprint: str, topic: str,
                         version: str | None, baseline: dict[str, int] | None,
                         pool_key: str | None = None) -> pipeline.RunSummary:
    """Assemble the tables, run the validation gate (in the pool's workers if pooled) and publish if it passes."""
    summary = pipeline.finish_run(state, skipped, fingerprint, topic, version=version, baseline=baseline,
                                  pool=pipeline.BatchPool.get(pool_key) if pool_key else None)
    logger = get_run_logger()
    logger.info(summary.message)
    for failure in summary.failures:
        logger.error("validation: %s", failure)
    return summary


def _in_order(plan: pipeline.RunPlan, pool: pipeline.BatchPool | None) -> Iterator[pipeline.BatchOutput]:
    """Submit batches as Prefect tasks a window at a time and yield their results in input order."""
    if pool is not None:
        pool.warm_gate_after(len(plan.batches))
    return pipeline.in_order_windowed(
        plan, lambda index, files: process_batch.submit(index, _large(files), plan.root, plan.topic,
                                                        plan.cache_path, plan.work_dir, pool.key if pool else None),
        max(WINDOW, 2 * pool.workers) if pool else WINDOW)


def _large(value: Any) -> Any:
    """A large task parameter, quoted where the task runs on this process's threads: Prefect would
    otherwise walk all of it looking for futures to wait for (there are none), twice per task,
    ~2 CPU-s of the flow's process at 10,000 documents. Not on Dask, where the task would get the
    quote itself instead of its value."""
    return quote(value) if _uses_threads() else value


class _UiProgress:
    """The share of input files whose batch is done, as a progress artifact in Prefect's UI."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.shown = max(total, 1), 0, 0
        self.artifact = _quietly(lambda: create_progress_artifact(
            0.0, description=f"input files read and extracted, of {total:,}"))

    def advance(self, files: int) -> None:
        self.done += files
        percent = int(100 * self.done / self.total)
        if self.artifact is not None and percent > self.shown:  # whole percents: few API calls
            self.shown = percent
            _quietly(lambda: update_progress_artifact(self.artifact, float(percent)))


def _quietly(call: Any) -> Any:
    """Call Prefect's artifact API; a failure there is logged, it does not stop the run."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the artifacts are a view of the run, not part of it
        get_run_logger().warning("could not update the run's artifact in Prefect: %s", exc)
        return None


def _report(summary: pipeline.RunSummary) -> pipeline.RunSummary:
    """The run's summary as a Markdown artifact: Prefect's Artifacts page lists every run's under one key."""
    _quietly(lambda: create_markdown_artifact(summary.markdown(), key="policytrace-run",
                                              description=summary.message))
    return summary


def _uses_threads() -> bool:
    """Whether this flow run's tasks run on threads of this process (so they can share a pool)."""
    context = FlowRunContext.get()
    return context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner)


@flow(name="build-dataset")
def build_dataset(input_dir: str = "seeds", output_dir: str = "output", topic: str = DEFAULT_TOPIC,
                  batch_size: int = 200, version: str | None = None,
                  baseline: dict[str, int] | None = None, use_cache: bool = True,
                  show_progress: bool = False, processes: int | None = None) -> pipeline.RunSummary:
    """Turn a folder of news documents into a validated, published release.

    processes: worker processes that build the batches (None: one per core; 0: none, batches are
    built by the task runner itself). Only used with a thread task runner (the default); on Dask
    the batches are built on the Dask workers.
    """
    logger = get_run_logger()
    if is_remote(output_dir):
        # Object stores: build in a local mirror that starts from the remote's latest release.
        summary, uploaded = pipeline.build_into_remote(output_dir, lambda local: build_dataset.fn(
            input_dir, str(local), topic, batch_size, version, baseline, use_cache, show_progress, processes))
        if uploaded:
            logger.info("uploaded release %s to %s", uploaded, output_dir)
        return summary
    output = Path(output_dir)
    plan = pipeline.plan_run(input_dir, output, topic, batch_size, use_cache)
    try:
        for failure in plan.fetch_failures:
            logger.warning("input %s: %s", failure.file_path, failure.reason)
        if (done := plan.up_to_date(version, baseline)) is not None:
            logger.info(done.message)
            return _report(done)
        files = sum(len(batch) for batch in plan.batches)
        workers = 0 if not _uses_threads() or len(plan.batches) < 2 else (
            processes if processes is not None else pipeline.default_workers())
        workers = min(workers, len(plan.batches))
        logger.info("%d input files in %d batches, %s", files, len(plan.batches),
                    f"built in {workers} worker processes" if workers else "built by the task runner")
        ui_progress = _UiProgress(files)
        with pipeline.BatchPool(workers, topic) if workers else nullcontext() as pool, \
                Progress(total=files, enabled=show_progress) as progress:

            def on_batch(batch: pipeline.BatchOutput, kept: int) -> None:
                progress.advance(len(plan.batches[batch.index]), f"{kept} documents kept from batch {batch.index + 1}")
                ui_progress.advance(len(plan.batches[batch.index]))

            state = pipeline.run_batches(plan, _in_order(plan, pool), on_batch=on_batch)
            # The batches' workers run the validation gate too; this process then imports no
            # Great Expectations (nor pandas, matplotlib or spaCy).
            return _report(validate_and_publish(_large(state), _large(plan.skipped), plan.fingerprint, topic,
                                                version, baseline, pool.key if pool else None))
    finally:
        plan.cleanup()


def with_task_runner(kind: str = "processes", workers: int | None = None, dask_address: str | None = None):
    """The flow with batches on worker processes, on threads of the flow's process, or on Dask.

    Returns (flow, extra parameters for the call).
    """
    if kind == "dask" or dask_address:
        return with_dask(dask_address, workers or 2), {}
    if kind in ("threads", "thread"):
        return build_dataset.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers or WINDOW)), \
            {"processes": 0}
    if kind == "processes":
        return build_dataset, {"processes": workers}
    raise ValueError(f"unknown task runner {kind!r}: use processes, threads or dask")


def with_dask(address: str | None = None, workers: int = 2):
    """The same flow with batches on Dask: an existing scheduler, or a local cluster of processes.

    Dask workers write the batches' fragments into the output folder's work folder and use its
    result cache, so a remote cluster must see the same file system.
    """
    from prefect_dask import DaskTaskRunner

    if address:
        runner = DaskTaskRunner(address=address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                                "processes": True, "dashboard_address": None})
    return build_dataset.with_options(task_runner=runner)
