"""Publishing: stage every file of a release, validate it, then move it into place atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
import uuid
from concurrent.futures import wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow.parquet as pq

from policytrace.changelog import diff_releases
from policytrace.ids import sha256_hex
from policytrace.metadata import croissant, datapackage, write_data_dictionary
from policytrace.schema import Catalog, load_catalog
from policytrace.topic import Topic
from policytrace.writers import TableFileWriter, read_parquet

if TYPE_CHECKING:  # the gate imports Great Expectations: only load it when publishing
    from policytrace.gate_units import GateReport, Submit
    from policytrace.validate import Gate

RELEASES = "releases"
LATEST = "latest"
CHECKSUMS = "SHA256SUMS"


@dataclass
class PublishResult:
    """What publishing did."""

    published: bool
    version: str | None
    release_dir: Path | None
    report: GateReport
    report_dir: Path
    message: str


def _kill_point(name: str) -> None:
    """Test hook: die here with SIGKILL when POLICYTRACE_KILL_AT names this point."""
    if os.environ.get("POLICYTRACE_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_files(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _fsync_tree(folder: Path) -> None:
    _fsync_files([path for path in sorted(folder.rglob("*")) if path.is_file()])
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (release files can be larger than memory should hold)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file."""
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path)}


def write_tables(tables: dict[str, pl.DataFrame], folder: Path, catalog: Catalog) -> dict[str, int]:
    """Write Parquet and CSV for every table (frames already in row order); returns rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for spec in catalog:
        writer = TableFileWriter(spec, folder)
        writer.write(spec.conform(tables[spec.name]))
        counts[spec.name] = writer.close()
    return counts


def table_files(folder: Path, catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Size, hash and row count of every table file in a folder."""
    files = {}
    for spec in catalog:
        rows = pq.ParquetFile(folder / f"{spec.name}.parquet").metadata.num_rows
        for suffix in ("parquet", "csv"):
            files[f"{spec.name}.{suffix}"] = {**file_record(folder / f"{spec.name}.{suffix}"), "rows": rows}
    return files


def read_tables(folder: Path, catalog: Catalog | None = None) -> dict[str, pl.DataFrame]:
    """Read the Parquet tables of a release or staging folder back into the declared types."""
    catalog = catalog or load_catalog()
    return {spec.name: read_parquet(spec, folder / f"{spec.name}.parquet") for spec in catalog
            if (folder / f"{spec.name}.parquet").exists()}


def content_version(folder: Path, files: dict[str, dict[str, Any]]) -> str:
    """Release version from the content: newest publication date, then a short hash of the CSVs."""
    digest = sha256_hex("\n".join(f"{name} {info['sha256']}" for name, info in sorted(files.items())
                                  if name.endswith(".csv")))[:8]
    newest = _newest_publication(folder)
    return f"{newest.strftime('%Y.%m.%d') if newest else 'undated'}-{digest}"


def _newest_publication(folder: Path) -> datetime | None:
    newest = pl.scan_parquet(folder / "sources.parquet").select(pl.col("published_at").max()).collect()
    value = newest.item()
    return value if isinstance(value, datetime) else None


def latest_release(output: Path) -> Path | None:
    """The release `latest` points to, if any."""
    latest = output / LATEST
    if latest.is_symlink() or latest.is_dir():
        resolved = latest.resolve()
        return resolved if (resolved / "datapackage.json").exists() else None
    return None


def point_latest(output: Path, release: Path) -> None:
    """Make `latest` the given release in one atomic step (a symlink; a copy where links fail)."""
    latest = output / LATEST
    temporary = output / f".latest-{uuid.uuid4().hex[:8]}"
    try:
        os.symlink(os.path.relpath(release, output), temporary, target_is_directory=True)
    except OSError:
        # No symlinks (e.g. Windows without developer mode): a copy, swapped in by renames.
        shutil.copytree(release, temporary)
        if latest.exists():
            old = output / f".latest-old-{uuid.uuid4().hex[:8]}"
            os.replace(latest, old)
            os.replace(temporary, latest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, latest)
        return
    _kill_point("before_latest_swap")
    if latest.is_dir() and not latest.is_symlink():
        shutil.rmtree(latest)
    os.replace(temporary, latest)


def _checksums(folder: Path, known: dict[str, dict[str, Any]] | None = None) -> str:
    """SHA256SUMS of every file; known: hashes already taken of files unchanged since (the tables)."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS):
        name = path.relative_to(folder).as_posix()
        digest = known[name]["sha256"] if known and name in known else file_sha256(path)
        lines.append(f"{digest}  {name}")
    return "\n".join(lines) + "\n"


def remove_stale_staging(output: Path, include_work: bool = False) -> list[str]:
    """Delete what an interrupted run left behind (staging folders, half-made links, work folders)."""
    removed = []
    leftovers = [*output.glob(".staging-*"), *output.glob(".latest-*")]
    if include_work:
        leftovers += output.glob(".work-*")
    for path in sorted(leftovers):
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def publish(tables: dict[str, pl.DataFrame], output: Path, topic: Topic, report_dir: Path,
            **options: Any) -> PublishResult:
    """Publish in-memory tables (already in row order): write them to staging, then publish that."""
    catalog = options.get("catalog") or load_catalog()
    staging = new_staging(output)
    write_tables(tables, staging, catalog)
    return publish_staged(staging, output, topic, report_dir, **options)


def new_staging(output: Path) -> Path:
    """A fresh staging folder inside output/ (same file system, so the final rename is atomic)."""
    output.mkdir(parents=True, exist_ok=True)
    (output / RELEASES).mkdir(exist_ok=True)
    remove_stale_staging(output)
    staging = output / f".staging-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def publish_staged(
    staging: Path,
    output: Path,
    topic: Topic,
    report_dir: Path,
    *,
    catalog: Catalog | None = None,
    version: str | None = None,
    baseline: dict[str, int] | None = None,
    gate: Gate | None = None,
    input_sources: list[dict[str, str]] | None = None,
    extra_files: dict[str, Any] | None = None,
    submit: Submit | None = None,
) -> PublishResult:
    """Validate the tables in a staging folder and, if they pass, make it a release atomically.

    submit: a process pool's submit. The gate's units and the figure then run in its worker
    processes, and this process imports neither Great Expectations nor matplotlib.
    On failure, or on a crash at any point, nothing under releases/ or latest changes.
    """
    from policytrace import gate_units

    catalog = catalog or load_catalog()
    (output / RELEASES).mkdir(parents=True, exist_ok=True)
    # While the gate runs (on the workers, or in this process), which does not change them.
    write_back = _WriteBack([staging / f"{spec.name}.{suffix}" for spec in catalog
                             for suffix in ("parquet", "csv") if (staging / f"{spec.name}.{suffix}").exists()])
    write_back.start()
    figure_path = staging / "figures" / "events_by_month.svg"
    # The figure only reads the events table: drawn in a worker while the gate runs.
    figure = submit(draw_event_timeline, staging, figure_path) if submit is not None and gate is None else None
    try:
        _kill_point("after_tables")
        if figure is not None:
            report = gate_units.validate_in_workers(submit, staging, topic, catalog, baseline,
                                                    docs_dir=report_dir / "data_docs")
        else:
            from policytrace.validate import Gate

            report = (gate or Gate(catalog)).validate_release(staging, topic, baseline,
                                                              docs_dir=report_dir / "data_docs")
        gate_units.write_gate_report(report, report_dir)
        if not report.success:
            return PublishResult(False, None, None, report, report_dir,
                                 f"validation failed: {len(report.failures)} expectations not met; "
                                 "nothing was published")
        files = table_files(staging, catalog)
        version = version or content_version(staging, files)
        target = output / RELEASES / version
        if target.exists():
            point_latest(output, target)
            return PublishResult(True, version, target, report, report_dir,
                                 f"release {version} already exists with this content; latest points to it")
        previous = latest_release(output)
        newest = _newest_publication(staging)
        _write_json(staging / "datapackage.json",
                    datapackage(catalog, topic, version, files, input_sources or []))
        _write_json(staging / "croissant.json", croissant(
            catalog, version, files, newest.date().isoformat() if newest else None))
        write_data_dictionary(staging / "DATA_DICTIONARY.md", catalog, topic, version)
        diff = diff_releases(previous, staging, version)
        (staging / "CHANGELOG.md").write_text(diff.render_markdown(), encoding="utf-8", newline="\n")
        for name, content in (extra_files or {}).items():
            _write_json(staging / name, content)
        if figure is not None:
            figure.result()
        else:
            draw_event_timeline(staging, figure_path)
        shutil.copytree(report_dir, staging / "validation", dirs_exist_ok=True)
        (staging / CHECKSUMS).write_text(_checksums(staging, files), encoding="utf-8", newline="\n")
        _kill_point("before_release_rename")
        write_back.check()
        _fsync_tree(staging)
        os.replace(staging, target)
        _kill_point("after_release_rename")
        point_latest(output, target)
        return PublishResult(True, version, target, report, report_dir, f"published release {version}")
    finally:
        if figure is not None:
            wait([figure])  # it writes into staging: let it finish before staging goes
        write_back.stop()  # done already when published
        shutil.rmtree(staging, ignore_errors=True)


def draw_event_timeline(release: Path, path: Path) -> Path:
    """The release's figure (matplotlib is imported here, so in a worker process when one draws it)."""
    from policytrace.figures import event_timeline

    return event_timeline(release, path)


class _WriteBack(threading.Thread):
    """Writes complete files to disk (fsync) on a thread, so that the fsync before the release's
    rename finds little left to write: on the tables of 10,000 documents that fsync waited ~0.5 s
    after the gate, with the workers idle.

    Linux reports a failed write-back once, to the first fsync that asks: an error this thread
    meets is kept and raised by `check`, before the release is moved into place.
    """

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(name="policytrace-write-back", daemon=True)
        self.paths = paths
        self.error: OSError | None = None
        self.stopped = threading.Event()  # nothing will be published: leave the rest unwritten

    def run(self) -> None:
        for path in self.paths:
            if self.stopped.is_set():
                return
            try:
                _fsync_files([path])
            except OSError as exc:
                self.error = exc
                return

    def check(self) -> None:
        """Wait until every file is written; raise the error a write met, if any."""
        self.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")
