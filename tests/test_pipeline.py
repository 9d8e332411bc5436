"""The whole pipeline: the Prefect flow and the CLI on real inputs, with the published files read back."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from policytrace.cli import app
from policytrace.pipeline import OutputBusyError, OutputLock, run_in_process
from policytrace.schema import load_catalog
from policytrace.settings import BATCH_GC_THRESHOLDS, batch_collector
from tests.conftest import FIXTURES, ROOT, SEEDS

runner = CliRunner()


def test_flow_builds_release_from_seeds(prefect_server, tmp_path: Path):
    from flows.build_dataset import build_dataset

    summary = build_dataset(input_dir=str(SEEDS), output_dir=str(tmp_path), batch_size=1)
    assert summary.published, summary.failures
    latest = tmp_path / "latest"
    sources = pl.read_parquet(latest / "sources.parquet").filter(pl.col("source_type") == "document")
    assert sources.height == 1
    row = sources.row(0, named=True)
    assert row["title"] == "Russia Ends Amnesty Program for Prisoner Soldiers"
    assert row["author"] == "Henrik Rothen"
    assert row["published_at"].isoformat() == "2024-02-04T18:13:00+00:00"
    assert row["file_path"] == "000_f6ab4e6e68746e43.txt"
    text = pl.read_parquet(latest / "document_texts.parquet").row(0, named=True)["text"]
    assert "Trending Now" not in text and "Most Read" not in text
    actors = pl.read_csv(latest / "actors.csv")
    assert {"Wagner Group", "Yevgeny Prigozhin", "Storm Z", "BBC"} <= set(actors["name"])


def test_every_table_is_published_as_parquet_and_csv(seed_release: Path):
    for spec in load_catalog():
        table = pq.read_table(seed_release / f"{spec.name}.parquet")
        assert table.schema.names == spec.column_names
        csv = pl.read_csv(seed_release / f"{spec.name}.csv", infer_schema=False)
        assert csv.columns == spec.column_names
        assert csv.height == table.num_rows


def test_cli_run_on_mixed_input_reports_rejects_and_publishes(prefect_server, tmp_path: Path, monkeypatch):
    inputs = tmp_path / "in"
    shutil.copytree(FIXTURES / "formats", inputs)
    shutil.copy(FIXTURES / "bad" / "invalid.json", inputs / "invalid.json")
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", inputs / "seed.txt")
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", inputs / "seed_again.txt")
    # Relative paths, as a user types them.
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "--input", "in", "--output", "out", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "7 documents read, 1 duplicate, 1 rejected" in result.output
    assert "invalid.json: invalid JSON" in result.output
    assert "seed_again.txt = seed.txt" in result.output
    documents = pl.read_csv(tmp_path / "out" / "latest" / "sources.csv").filter(
        pl.col("source_type") == "document")
    assert sorted(documents["document_format"].unique()) == ["html", "json", "jsonl", "markdown", "text"]
    assert documents.height == 7


def test_the_flow_shows_its_progress_on_a_terminal_and_in_prefect(prefect_server, tmp_path: Path, monkeypatch,
                                                                  capsys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.build_dataset import build_dataset

    inputs = tmp_path / "in"
    shutil.copytree(FIXTURES / "formats", inputs)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich: stderr is a terminal
    state = build_dataset(input_dir=str(inputs), output_dir=str(tmp_path / "out"), batch_size=2,
                          show_progress=True, processes=0, return_state=True)
    summary = state.result()
    assert summary.published, summary.message
    shown = capsys.readouterr().err
    assert "documents" in shown and "5/5" in shown and "kept from batch 3" in shown

    # Prefect's UI: a progress artifact at 100%, and the run's summary under the key policytrace-run.
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    by_type = {artifact.type: artifact for artifact in artifacts}
    assert float(by_type["progress"].data) == 100.0
    report = by_type["markdown"]
    assert report.key == "policytrace-run" and report.description == summary.message
    assert f"release `{summary.version}`" in report.data and "| mentions |" in report.data


def test_the_progress_bar_stays_out_of_output_that_is_not_a_terminal():
    from io import StringIO

    from rich.console import Console

    from policytrace.progress import Progress

    for terminal, expected in ((False, ""), (True, "3/3")):
        written = StringIO()
        with Progress(total=3, console=Console(file=written, force_terminal=terminal, width=100)) as progress:
            progress.advance(2)
            progress.advance(1)
        assert expected in written.getvalue() and bool(written.getvalue()) == terminal


def test_cli_publishes_to_an_fsspec_url(prefect_server, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("POLICYTRACE_MIRROR_DIR", str(tmp_path / "mirrors"))
    bucket = tmp_path / "bucket"
    result = runner.invoke(app, ["run", "--input", str(FIXTURES / "formats"), "--output", f"file://{bucket}",
                                 "--task-runner", "threads"])
    assert result.exit_code == 0, result.output
    reference = run_in_process(FIXTURES / "formats", tmp_path / "reference")
    assert f"Uploaded to file://{bucket}: LATEST -> {reference.version}" in result.output
    assert (bucket / "LATEST").read_text().strip() == reference.version
    for spec in load_catalog():
        assert (bucket / "releases" / reference.version / f"{spec.name}.parquet").read_bytes() == \
            (tmp_path / "reference" / "latest" / f"{spec.name}.parquet").read_bytes()


def test_a_second_run_on_the_same_output_is_refused_while_the_first_holds_it(tmp_path: Path):
    import subprocess
    import sys

    output = tmp_path / "out"
    work = output / ".work-of-the-first-run"
    work.mkdir(parents=True)  # what the first run is building
    # The first run: another process that plans a run on the output and holds it until told to stop.
    first = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from policytrace.pipeline import OutputLock; "
         f"OutputLock(Path({str(output)!r})).acquire(); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        with pytest.raises(OutputBusyError, match=f"pid {first.pid}"):
            run_in_process(FIXTURES / "formats", output)
        result = runner.invoke(app, ["run", "--input", str(FIXTURES / "formats"), "--output", str(output)])
        assert result.exit_code == 2 and "another policytrace run" in result.output, result.output
        assert work.exists(), "the second run left the first one's work alone"
    finally:
        first.stdin.close()
        first.wait(30)
    assert run_in_process(FIXTURES / "formats", output).published  # free again once the first has ended


def test_the_output_lock_is_taken_again_by_its_own_thread_but_not_by_another(tmp_path: Path):
    import threading

    outer = OutputLock(tmp_path).acquire()
    try:
        with OutputLock(tmp_path):  # as the flow for an fsspec output does around its build
            pass
        refused = []

        def other_thread() -> None:
            try:
                OutputLock(tmp_path).acquire()
            except OutputBusyError as exc:
                refused.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert refused, "another thread of the same process must not get the lock"
    finally:
        outer.release()
    OutputLock(tmp_path).acquire().release()  # free after the last release


def test_run_where_every_document_is_rejected_fails_with_reasons(tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("invalid.json", "image.txt", "table.csv"):
        shutil.copy(FIXTURES / "bad" / name, inputs / name)
    summary = run_in_process(inputs, tmp_path / "out")
    assert summary.exit_code != 0 and not summary.published
    assert sorted(r["file"] for r in summary.rejected) == ["image.txt", "invalid.json", "table.csv"]
    assert not (tmp_path / "out" / "latest").exists()


def test_cli_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "validate", "diff", "baseline", "dictionary"):
        assert command in result.output
    result = runner.invoke(app, ["run", "--help"])
    assert "--input" in result.output and "--output" in result.output
    assert "--task-runner" in result.output and "--workers" in result.output


@pytest.mark.slow
def test_flow_on_a_local_dask_cluster_gives_the_same_release(prefect_server, tmp_path: Path):
    from flows.build_dataset import build_dataset, with_dask

    threaded = build_dataset(input_dir=str(FIXTURES / "formats"), output_dir=str(tmp_path / "a"), batch_size=2)
    on_dask = with_dask(workers=2)(input_dir=str(FIXTURES / "formats"), output_dir=str(tmp_path / "b"),
                                   batch_size=2)
    assert threaded.published and on_dask.published
    assert threaded.version == on_dask.version
    for spec in load_catalog():
        assert (tmp_path / "a" / "latest" / f"{spec.name}.csv").read_bytes() == \
            (tmp_path / "b" / "latest" / f"{spec.name}.csv").read_bytes()


def test_cli_runs_the_batches_on_an_existing_dask_cluster(prefect_server, tmp_path: Path):
    from distributed import LocalCluster

    reference = run_in_process(FIXTURES / "formats", tmp_path / "reference", batch_size=2)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = runner.invoke(app, ["run", "--input", str(FIXTURES / "formats"), "--output", str(tmp_path / "out"),
                                     "--batch-size", "2", "--dask-address", cluster.scheduler_address])
        # The cluster's worker ran the batches: 5 files in batches of 2.
        executed = cluster.get_client().run(lambda dask_worker: dask_worker.state.executed_count)
    assert result.exit_code == 0, result.output
    assert f"published release {reference.version}" in result.output
    for spec in load_catalog():
        assert (tmp_path / "out" / "latest" / f"{spec.name}.csv").read_bytes() == \
            (tmp_path / "reference" / "latest" / f"{spec.name}.csv").read_bytes()
    assert sum(executed.values()) == 3


def test_development_set_builds_a_release_that_passes_the_gate(tmp_path: Path):
    summary = run_in_process(ROOT / "tests" / "devset", tmp_path / "out")
    assert summary.published, summary.failures
    assert summary.documents == 23 and not summary.rejected  # the seed, d01-d20, d22a and d22b


def mixed_inputs(tmp_path: Path) -> Path:
    """Several formats, and a document repeated in a later batch (a duplicate across batches)."""
    inputs = tmp_path / "in"
    shutil.copytree(FIXTURES / "formats", inputs)
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", inputs / "a_seed.txt")
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", inputs / "z_seed_again.txt")
    return inputs


def release_files(latest: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for spec in load_catalog() for p in
            (latest / f"{spec.name}.csv", latest / f"{spec.name}.parquet")}


def test_threads_and_worker_processes_give_identical_releases(prefect_server, tmp_path: Path):
    from flows.build_dataset import with_task_runner

    inputs = mixed_inputs(tmp_path)
    summaries, files = {}, {}
    # Both the runner and the batch size differ: neither may change a byte of the release.
    for kind, batch_size in (("threads", 2), ("processes", 3)):
        name = f"{kind}-{batch_size}"
        flow, options = with_task_runner(kind, 2)
        summary = flow(input_dir=str(inputs), output_dir=str(tmp_path / name), batch_size=batch_size, **options)
        assert summary.published, summary.failures
        assert [d["file"] for d in summary.duplicates] == ["z_seed_again.txt"]
        summaries[name], files[name] = summary, release_files(tmp_path / name / "latest")
    assert len({s.version for s in summaries.values()}) == 1
    assert files["threads-2"] == files["processes-3"]


def test_batches_in_worker_processes_without_prefect(tmp_path: Path):
    inputs = mixed_inputs(tmp_path)
    here = run_in_process(inputs, tmp_path / "here", batch_size=3)
    pooled = run_in_process(inputs, tmp_path / "pooled", batch_size=3, workers=2)
    assert here.published and pooled.published and here.version == pooled.version
    assert release_files(tmp_path / "here" / "latest") == release_files(tmp_path / "pooled" / "latest")
    # The cache the workers filled is used by the next run: nothing is read or extracted again.
    (inputs / "new.txt").write_text((inputs / "a_seed.txt").read_text().replace("Wagner", "Wagner Group"))
    again = run_in_process(inputs, tmp_path / "pooled", batch_size=3, workers=2)
    assert again.reused_files == len(list(inputs.iterdir())) - 1


def test_batch_collector_tunes_the_collector_and_puts_it_back():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), batch_collector():
        assert gc.get_threshold() == BATCH_GC_THRESHOLDS
        raise RuntimeError("a batch failed")
    assert gc.get_threshold() == before


def test_a_batch_in_a_pool_worker_runs_under_the_batch_collector(monkeypatch):
    from policytrace import pipeline

    before = gc.get_threshold()
    monkeypatch.setattr(pipeline, "build_batch", lambda *args: gc.get_threshold())
    assert pipeline._build_batch_in_worker() == BATCH_GC_THRESHOLDS
    assert gc.get_threshold() == before


def test_the_gate_warm_up_waits_until_every_batch_is_in_the_pool_queue(tmp_path: Path):
    # Prefect tasks hand their batches to the pool from threads, after the flow has moved on: the
    # warm-up (importing Great Expectations) must not get in the queue ahead of the last batch.
    from policytrace.pipeline import BatchPool, plan_run

    plan = plan_run(mixed_inputs(tmp_path), tmp_path / "out", batch_size=2)
    assert len(plan.batches) >= 3
    try:
        with BatchPool(workers=1) as pool:
            pool.warm_gate_after(len(plan.batches))
            futures = []
            for index in reversed(range(len(plan.batches))):  # threads may submit in any order
                assert not pool.gate_warm_up_queued
                futures.append(pool.submit(index, plan.batches[index], plan.root, plan.topic, plan.cache_path,
                                           plan.work_dir))
            assert pool.gate_warm_up_queued
            assert all(future.result().documents for future in futures)
    finally:
        plan.cleanup()


def test_pool_workers_freeze_their_warm_up_and_keep_default_collection_between_batches(tmp_path: Path):
    from policytrace.pipeline import BatchPool, plan_run

    plan = plan_run(mixed_inputs(tmp_path), tmp_path / "out", batch_size=3)
    try:
        with BatchPool(workers=1) as pool:
            # before any batch: what the warm-up loaded (spaCy, the topic) is out of full collections
            assert pool.call(gc.get_freeze_count).result() > 10_000
            built = pool.submit(0, plan.batches[0], plan.root, plan.topic, plan.cache_path, plan.work_dir).result()
            # the gate's units, run by the same workers after the batches, get the default thresholds
            assert pool.call(gc.get_threshold).result() == gc.get_threshold()
    finally:
        plan.cleanup()
    assert built.documents
