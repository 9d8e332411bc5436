"""The `policytrace` command line: run the pipeline, validate, compare and evaluate releases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from policytrace.paths import DEFAULT_INPUT, DEFAULT_OUTPUT, DEFAULT_TOPIC, PROJECT_ROOT
from policytrace.settings import configure_environment

app = typer.Typer(
    help="policytrace: turn news reports into versioned, validated, traceable datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
# soft_wrap: long paths and reasons stay on one line, so the output can be grepped.
console = Console(soft_wrap=True)
SEEDS_BASELINE = PROJECT_ROOT / "baselines" / "seeds.json"
# "thread" is the name older versions used for "threads".
TASK_RUNNERS = ("processes", "threads", "dask", "thread")


def _print_version(value: bool) -> None:
    if value:
        from policytrace import __version__
        from policytrace.extract import EXTRACTOR_NAME, EXTRACTOR_VERSION

        console.print(f"policytrace {__version__} (extractor {EXTRACTOR_NAME} {EXTRACTOR_VERSION})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """policytrace: turn news reports into versioned, validated, traceable datasets."""


def _topic_or_exit(name: str):
    """The topic, or a one-line error (exit 2) naming the topics there are."""
    from policytrace.topic import load_topic

    try:
        return load_topic(name)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _release_or_exit(folder: Path) -> None:
    """Exit 2 with a one-line error unless folder holds at least one of the declared tables."""
    from policytrace.gate_units import missing_tables
    from policytrace.schema import load_catalog

    if not folder.is_dir():
        console.print(f"[red]{folder} is not a folder: give a release folder, such as output/latest[/red]")
        raise typer.Exit(2)
    catalog = load_catalog()
    if set(missing_tables(folder, catalog)) == {spec.name for spec in catalog}:
        console.print(f"[red]{folder} holds no release tables (<table>.parquet): give a release folder, "
                      "such as output/latest[/red]")
        raise typer.Exit(2)


def _default_baseline(input_dir: Path) -> Path | None:
    """The shipped seeds carry a committed row-count baseline; other inputs have none by default."""
    if SEEDS_BASELINE.exists() and input_dir.resolve() == (PROJECT_ROOT / "seeds").resolve():
        return SEEDS_BASELINE
    return None


def print_summary(summary) -> None:
    """The end-of-run report: documents, rejects with reasons, rows per table, where the files are."""
    console.print(f"[bold]Input[/bold] {summary.input}: {summary.documents} documents read, "
                  f"{len(summary.duplicates)} duplicate, {len(summary.rejected)} rejected, "
                  f"{len(summary.skipped)} skipped")
    if summary.reused_files or summary.reused_extractions:
        console.print(f"Reused stored results for {summary.reused_files} files and "
                      f"{summary.reused_extractions} extractions")
    for item in summary.rejected:
        console.print(f"  [red]rejected[/red] {item['file']}: {item['reason']}")
    for item in summary.duplicates:
        console.print(f"  [yellow]duplicate[/yellow] {item['file']} = {item['duplicate_of']} "
                      f"({item['reason']})")
    if summary.row_counts:
        table = Table("table", "rows", title="Rows per table")
        for name, count in summary.row_counts.items():
            table.add_row(name, str(count))
        console.print(table)
    for failure in summary.failures:
        console.print(f"  [red]failed[/red] {failure}")
    colour = "green" if summary.published else "red"
    console.print(f"[{colour}]{summary.message}[/{colour}]")
    if summary.release_dir:
        console.print(f"Release: {summary.release_dir}  (latest: {Path(summary.output) / 'latest'})")
    console.print(f"Run report: {summary.report_dir}")


@app.command()
def run(
    input_spec: Annotated[str, typer.Option("--input", "-i", help="Folder (searched recursively) or file of news documents; or a feed/page URL, urls:FILE, or an fsspec URL (docs/inputs.md).")] = str(DEFAULT_INPUT),
    output_spec: Annotated[str, typer.Option("--output", "-o", help="Output folder (releases/, latest, runs/), or an fsspec URL such as s3://bucket/path (built in a local mirror, then uploaded).")] = str(DEFAULT_OUTPUT),
    topic: Annotated[str, typer.Option(help="Topic name (a folder in topics/) or path to a topic folder.")] = DEFAULT_TOPIC,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per Prefect task.")] = 200,
    version: Annotated[str | None, typer.Option(help="Release version; default: newest publication date plus a hash of the data.")] = None,
    baseline: Annotated[Path | None, typer.Option(help="JSON file of minimum row counts per table (default for seeds/: baselines/seeds.json).")] = None,
    cache: Annotated[bool, typer.Option(help="Reuse stored results for unchanged files and documents (OUTPUT/cache/).")] = True,
    task_runner: Annotated[str, typer.Option(help="Where batches are read and extracted: 'processes' (worker processes, one per core: the fastest), 'threads' (in this process, one core) or 'dask' (a local Dask cluster, or --dask-address).")] = "processes",
    dask_address: Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler (implies --task-runner dask).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (processes: default one per core), Dask workers of the local cluster (dask: default 2) or threads (threads: default 4).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's task logs.")] = False,
) -> None:
    """Ingest, extract, validate and publish a release, as the Prefect flow `build-dataset`."""
    from policytrace.remote import InputSpecError, fetch_settings, is_local_spec

    if is_local_spec(input_spec) and not Path(input_spec).exists():
        console.print(f"[red]input {input_spec} does not exist[/red]")
        raise typer.Exit(2)
    if not is_local_spec(input_spec):
        try:
            fetch_settings()
        except InputSpecError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    if task_runner not in TASK_RUNNERS:
        console.print(f"[red]unknown task runner {task_runner!r}: use {', '.join(TASK_RUNNERS[:3])}[/red]")
        raise typer.Exit(2)
    _topic_or_exit(topic)
    configure_environment(log_level="INFO" if verbose else "WARNING")
    from policytrace.pipeline import OutputBusyError, plan_run
    from policytrace.remote_output import is_remote

    input_dir, output_dir = Path(input_spec), Path(output_spec)
    baseline_file = baseline or (_default_baseline(input_dir) if is_local_spec(input_spec) else None)
    minimums = json.loads(baseline_file.read_text(encoding="utf-8")) if baseline_file else None
    plan = None
    if is_local_spec(input_spec) and not is_remote(output_spec):
        # Nothing changed since the latest release: say so without starting Prefect at all.
        try:
            plan = plan_run(input_spec, output_dir, topic, batch_size, cache)
        except (InputSpecError, OutputBusyError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        plan.cleanup()  # the flow plans again, and takes the output folder's lock itself
        if (done := plan.up_to_date(version, minimums)) is not None:
            print_summary(done)
            raise typer.Exit(0)
    if task_runner == "processes" and dask_address is None and (plan is None or len(plan.batches) > 1):
        # The workers' imports run in the fork server while Prefect starts (~10 s, one core).
        # A single batch is built without a pool (see the flow), so no fork server then.
        from policytrace.pipeline import prepare_worker_processes

        prepare_worker_processes()
    from flows.build_dataset import with_task_runner

    console.print(f"Building dataset from {input_spec} into {output_spec} "
                  f"(Prefect flow build-dataset{', baseline ' + str(baseline_file) if baseline_file else ''})")
    flow, options = with_task_runner(task_runner, workers, dask_address)
    try:
        summary = flow(input_dir=input_spec, output_dir=output_spec, topic=topic,
                       batch_size=batch_size, version=version, baseline=minimums,
                       use_cache=cache, show_progress=progress, **options)
    except OutputBusyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print_summary(summary)
    if is_remote(output_spec) and summary.published:
        console.print(f"Uploaded to {output_spec}: LATEST -> {summary.version}")
    raise typer.Exit(summary.exit_code)


@app.command()
def serve(
    input_spec: Annotated[str, typer.Option("--input", "-i", help="What to build from on every run, as for `run --input`: a folder or file of news documents, a feed/page URL, urls:FILE, or an fsspec URL.")] = str(DEFAULT_INPUT),
    output_spec: Annotated[str, typer.Option("--output", "-o", help="Output folder for releases, or an fsspec URL (as for `run --output`).")] = str(DEFAULT_OUTPUT),
    cron: Annotated[str, typer.Option(help="When to run, as a cron expression (default: daily at 06:00).")] = "0 6 * * *",
    timezone: Annotated[str, typer.Option(help="Time zone of the cron schedule.")] = "UTC",
    name: Annotated[str, typer.Option(help="Deployment name.")] = "daily",
    topic: Annotated[str, typer.Option(help="Topic name or folder.")] = DEFAULT_TOPIC,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per Prefect task.")] = 200,
    port: Annotated[int | None, typer.Option(help="Port of the local Prefect server started when PREFECT_API_URL is not set.")] = None,
) -> None:
    """Serve `build-dataset` as a scheduled Prefect deployment (starts a local server if none is set)."""
    import os

    from policytrace.remote import absolute_spec
    from policytrace.remote_output import is_remote, mirror_path

    configure_environment(log_level="INFO")
    # Runs start later, maybe from another folder: local paths are made absolute, URLs kept.
    parameters = {"input_dir": absolute_spec(input_spec),
                  "output_dir": output_spec if is_remote(output_spec) else str(Path(output_spec).resolve()),
                  "topic": topic, "batch_size": batch_size}

    def serve_deployment() -> None:
        from prefect.schedules import Cron

        from flows.build_dataset import build_dataset

        console.print(f"Serving deployment build-dataset/{name} ({cron}, {timezone}) "
                      f"against {os.environ.get('PREFECT_API_URL')}; Ctrl+C stops.")
        # limit=1: a run that starts while the last one is still going waits for it (one output folder).
        build_dataset.serve(name=name, schedules=[Cron(cron, timezone=timezone)],
                            parameters=parameters, print_starting_message=False, limit=1)

    if os.environ.get("PREFECT_API_URL"):
        serve_deployment()
        return
    import signal

    from policytrace.server import LocalPrefectServer

    # A service manager stops us with SIGTERM: unwind like Ctrl+C so the server is stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    log_dir = mirror_path(output_spec) if is_remote(output_spec) else Path(output_spec)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "prefect-server.log"
    console.print(f"No PREFECT_API_URL set: starting a local Prefect server (log: {log}) ...")
    with LocalPrefectServer(port=port, log_file=log) as server:
        # Prefect reads its settings at import, and nothing has imported it yet in this process.
        os.environ["PREFECT_API_URL"] = server.api_url
        console.print(f"Prefect UI: {server.api_url.removesuffix('/api')}")
        try:
            serve_deployment()
        except KeyboardInterrupt:
            console.print("stopping")


@app.command()
def validate(
    release: Annotated[Path, typer.Argument(help="Release or staging folder with <table>.parquet files.")],
    topic: Annotated[str, typer.Option(help="Topic whose vocabularies apply.")] = DEFAULT_TOPIC,
    baseline: Annotated[Path | None, typer.Option(help="JSON file of minimum row counts per table.")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Write validation.json and Data Docs here.")] = None,
) -> None:
    """Run the validation suites on a release folder and report failed expectations."""
    _release_or_exit(release)
    topic_data = _topic_or_exit(topic)
    configure_environment()
    from policytrace.validate import Gate, write_gate_report

    minimums = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
    report = Gate().validate_release(release, topic_data, minimums,
                                     docs_dir=report_dir / "data_docs" if report_dir else None)
    if report_dir:
        write_gate_report(report, report_dir)
        console.print(f"Report: {report_dir / 'validation.json'}; Data Docs: {report_dir / 'data_docs' / 'index.html'}")
    for failure in report.failures:
        console.print(f"[red]failed[/red] {failure.describe()}")
    if report.success:
        console.print(f"[green]valid[/green]: {report.expectation_count} expectations met "
                      f"in {report.seconds:.1f} s")
    else:
        console.print(f"[red]invalid[/red]: {len(report.failures)} of {report.expectation_count} "
                      "expectations failed")
    raise typer.Exit(0 if report.success else 1)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The older release folder.")],
    new: Annotated[Path, typer.Argument(help="The newer release folder.")],
) -> None:
    """Print the changelog between two releases: rows added, removed, changed, and schema changes."""
    from policytrace.changelog import diff_releases

    _release_or_exit(old)
    _release_or_exit(new)
    console.print(diff_releases(old, new).render_markdown(), markup=False, highlight=False)


@app.command()
def baseline(
    release: Annotated[Path, typer.Argument(help="Release folder whose row counts become the baseline.")] = DEFAULT_OUTPUT / "latest",
    output_file: Annotated[Path, typer.Option("--file", help="Baseline file to write.")] = SEEDS_BASELINE,
) -> None:
    """Record a release's row counts as the minimum every later build must reach (on purpose only)."""
    from policytrace.publish import read_tables

    _release_or_exit(release)
    tables = read_tables(release)
    counts = {name: frame.height for name, frame in tables.items()}
    output_file.parent.mkdir(parents=True, exist_ok=True)
    output_file.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {output_file}: {counts}")


@app.command()
def dictionary(
    output_file: Annotated[Path, typer.Option("--file", help="Where to write the data dictionary.")] = Path("docs/DATA_DICTIONARY.md"),
    topic: Annotated[str, typer.Option(help="Topic whose vocabularies are listed.")] = DEFAULT_TOPIC,
) -> None:
    """Write the data dictionary generated from schemas/ (the same one every release carries)."""
    from policytrace.metadata import write_data_dictionary
    from policytrace.schema import load_catalog

    write_data_dictionary(output_file, load_catalog(), _topic_or_exit(topic))
    console.print(f"wrote {output_file}")


from policytrace.evaluate import evaluate_command  # noqa: E402

app.command("evaluate")(evaluate_command)


def main() -> None:
    """Entry point of the `policytrace` command."""
    app()


if __name__ == "__main__":
    main()
