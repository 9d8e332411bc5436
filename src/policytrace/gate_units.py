"""The validation gate cut into independent units, run on worker processes and merged in a fixed order.

This module does not import Great Expectations, pandas or the extractor: the flow's process plans
the units, hands them to worker processes (which import `policytrace.validate`) and merges what
they return. The merged report is the one the serial gate (`Gate().validate_release`) gives, in
the same order, whatever the number of workers and whichever unit finishes first.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from policytrace.schema import Catalog
from policytrace.topic import Topic

EXAMPLES_SHOWN = 5
# Rows per chunk of the integrity checks (whose frames carry hash sets and lookups besides).
CHUNK_ROWS = 100_000
# Row suites' chunks may be this many times longer: GX's cost is mostly per expectation and run,
# whatever the rows, and a row suite's frame holds only the table's own columns. Measured on a
# 10,000-document release: the row suites took 9.4 CPU-s in 300 expectation runs instead of 11.9
# in 432, the largest unit's peak RSS +44 MB; a third longer again (72 MB) added 200 MB.
ROW_CHUNK_FACTOR = 2
# In-memory (Arrow) bytes per row-suite chunk. The pandas frame GX gets holds Python strings,
# about 3x that; long texts and sentences make for short chunks.
CHUNK_BYTES = 48 << 20
# Chunks per unit: units small enough to share out between two workers, large enough that the
# preparation a unit repeats (a GX context; the integrity checks' hash sets) stays a small part.
ROW_CHUNKS_PER_UNIT = 2
INTEGRITY_CHUNKS_PER_UNIT = 3


@dataclass
class Failure:
    """One failed expectation, with example rows named by their primary key."""

    suite: str
    check: str
    column: str | None
    unexpected_count: int | None
    examples: list[str] = field(default_factory=list)
    detail: str | None = None

    def describe(self) -> str:
        where = f"{self.suite}.{self.column}" if self.column and self.column != self.check else self.suite
        count = f" ({self.unexpected_count} rows)" if self.unexpected_count else ""
        text = f"{where}: {self.check}{count}"
        if self.examples:
            text += "; e.g. " + ", ".join(self.examples[:EXAMPLES_SHOWN])
        if self.detail:
            text += f"; {self.detail}"
        return text


@dataclass
class GateReport:
    """Outcome of validating a release folder."""

    success: bool
    failures: list[Failure]
    results: list[dict[str, Any]]
    expectation_count: int
    row_counts: dict[str, int]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "expectation_count": self.expectation_count,
            "row_counts": self.row_counts,
            "seconds": round(self.seconds, 3),
            "failures": [asdict(f) for f in self.failures],
            "suites": self.results,
        }


def merge_failures(failures: list[Failure]) -> list[Failure]:
    """One failure per (suite, column, check) across chunks: counts added, examples kept."""
    merged: dict[tuple[str, str | None, str], Failure] = {}
    for failure in failures:
        name = (failure.suite, failure.column, failure.check)
        if name not in merged:
            merged[name] = failure
            continue
        kept = merged[name]
        kept.unexpected_count = (kept.unexpected_count or 0) + (failure.unexpected_count or 0)
        kept.examples = (kept.examples + failure.examples)[:EXAMPLES_SHOWN]
    return list(merged.values())


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def write_gate_report(report: GateReport, folder: Path) -> Path:
    """Save the full results as JSON in `folder`; returns the file path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "validation.json"
    path.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True, default=_json_default),
                    encoding="utf-8")
    return path


# ---- reading tables in chunks (GX-free, so that units can be planned here) -----------------------

def chunk_rows_for(path: Path, chunk_rows: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Rows per row-suite chunk for a table file: at most ROW_CHUNK_FACTOR x chunk_rows (and at
    least 1,000), and about chunk_bytes in memory."""
    longest = ROW_CHUNK_FACTOR * chunk_rows
    parquet = pq.ParquetFile(path)
    if not parquet.metadata.num_rows:
        return longest
    sample = next(parquet.iter_batches(batch_size=2_000), None)
    per_row = sample.nbytes / max(1, sample.num_rows) if sample is not None else 1
    return max(1_000, min(longest, int(chunk_bytes / max(1.0, per_row))))


def row_chunks(path: Path, chunk_rows: int, columns: list[str] | None = None, first: int = 0,
               count: int | None = None) -> Iterator[tuple[int, pl.DataFrame]]:
    """(first row, frame) for consecutive runs of exactly chunk_rows rows (the last one shorter).

    first, count: only chunks first .. first + count - 1 (reading starts at the row group that
    holds the first one's rows); the chunks are the same as when reading from the start.
    """
    parquet = pq.ParquetFile(path)
    if parquet.metadata.num_rows == 0:
        if first == 0:
            yield 0, pl.read_parquet(path, columns=columns)
        return
    start = first * chunk_rows
    group, group_start = 0, 0
    while group < parquet.metadata.num_row_groups and \
            group_start + parquet.metadata.row_group(group).num_rows <= start:
        group_start += parquet.metadata.row_group(group).num_rows
        group += 1
    skip = start - group_start  # rows of the first row group before the first chunk
    pending: list[pl.DataFrame] = []
    pending_rows = done = 0
    batches = parquet.iter_batches(batch_size=min(chunk_rows, 65_536), columns=columns,
                                   row_groups=range(group, parquet.metadata.num_row_groups))
    for batch in batches:
        frame = pl.from_arrow(batch)
        if skip:
            dropped = min(skip, frame.height)
            frame, skip = frame.slice(dropped), skip - dropped
            if not frame.height:
                continue
        pending.append(frame)
        pending_rows += frame.height
        while pending_rows >= chunk_rows:
            frame = pl.concat(pending)
            yield start, frame.slice(0, chunk_rows)
            start += chunk_rows
            done += 1
            if count is not None and done >= count:
                return
            pending = [frame.slice(chunk_rows)]
            pending_rows -= chunk_rows
    if pending_rows:
        yield start, pl.concat(pending)


# ---- units -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GateUnit:
    """A part of the gate that runs on its own, with its own GX context.

    kind "rows": a table's row-level suites over chunks first .. first + count - 1; "integrity": its
    cross-row checks (with the mentions' evidence checks) over those chunks; "row_counts": the
    release's row counts against the baseline.
    """

    table: str
    kind: str
    first: int = 0
    count: int | None = None
    cost: float = 0.0  # estimated work, only to hand out the largest units first


@dataclass
class UnitResult:
    """What one unit found, in the order the serial gate would have found it."""

    failures: list[Failure] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    expectation_count: int = 0
    # The integrity checks could not run (a malformed table): the serial gate stops that table's
    # checks there, so the table's later units are left out of the merge.
    stopped: bool = False
    seconds: float = 0.0


def _ranges(chunks: int, per_unit: int) -> list[tuple[int, int]]:
    """(first, count) of consecutive chunk ranges, as even as possible, at most per_unit chunks each."""
    units = max(1, -(-chunks // per_unit))
    size, extra = divmod(chunks, units)
    ranges, first = [], 0
    for index in range(units):
        count = size + (1 if index < extra else 0)
        ranges.append((first, count))
        first += count
    return ranges


def missing_tables(folder: Path, catalog: Catalog) -> list[str]:
    """Declared tables without a Parquet file in folder."""
    return [s.name for s in catalog if not (folder / f"{s.name}.parquet").exists()]


def plan_units(folder: Path, catalog: Catalog, chunk_rows: int = CHUNK_ROWS,
               baseline: dict[str, int] | None = None) -> list[GateUnit]:
    """The gate's units in the serial gate's order: per table its row suites, then its integrity checks.

    Costs, measured on a 10,000-document release: a row suite takes ~5 us per row and column, the
    integrity checks ~25 us per row (the same for mentions, whose evidence checks read the texts).
    """
    units = []
    for spec in catalog:
        path = folder / f"{spec.name}.parquet"
        rows = pq.ParquetFile(path).metadata.num_rows
        rows_per_chunk = chunk_rows_for(path, chunk_rows)
        chunks = max(1, -(-rows // rows_per_chunk))
        for first, count in _ranges(chunks, ROW_CHUNKS_PER_UNIT):
            units.append(GateUnit(spec.name, "rows", first, count,
                                  cost=len(spec.fields) * rows * count / chunks))
        chunks = max(1, -(-rows // chunk_rows))
        for first, count in _ranges(chunks, INTEGRITY_CHUNKS_PER_UNIT):
            units.append(GateUnit(spec.name, "integrity", first, count, cost=5 * rows * count / chunks))
    if baseline:
        units.append(GateUnit("release", "row_counts"))
    return units


def row_counts_of(folder: Path, catalog: Catalog) -> dict[str, int]:
    """Rows of every declared table, from the Parquet footers."""
    return {spec.name: pq.ParquetFile(folder / f"{spec.name}.parquet").metadata.num_rows for spec in catalog}


def merge_units(units: list[GateUnit], results: list[UnitResult], row_counts: dict[str, int],
                started: float) -> GateReport:
    """The gate's report from its units' results, taken in the units' (the serial gate's) order."""
    failures: list[Failure] = []
    suites: list[dict[str, Any]] = []
    count = 0
    stopped: set[tuple[str, str]] = set()
    for unit, result in zip(units, results, strict=True):
        if (unit.table, unit.kind) in stopped:
            continue
        failures += result.failures
        suites += result.results
        count += result.expectation_count
        if result.stopped:
            stopped.add((unit.table, unit.kind))
    return GateReport(success=not failures, failures=merge_failures(failures), results=suites,
                      expectation_count=count, row_counts=row_counts, seconds=time.perf_counter() - started)


def missing_report(missing: list[str], started: float) -> GateReport:
    """The report when tables are missing: nothing else is checked."""
    failure = Failure("release", "all_tables_present", None, None, detail=f"missing {missing}")
    return GateReport(False, [failure], [], 0, {}, time.perf_counter() - started)


# ---- on worker processes ---------------------------------------------------------------------------

Submit = Callable[..., Future]


def run_unit_in_worker(folder: Path, unit: GateUnit, topic: Topic, catalog: Catalog, chunk_rows: int,
                       row_counts: dict[str, int], baseline: dict[str, int] | None,
                       docs_dir: Path | None, docs_index: bool = True) -> UnitResult:
    """Run one unit (in a worker process: this is where Great Expectations is imported)."""
    from policytrace.validate import run_unit

    # Again here: the pool may hand both warm-ups to the worker that finished its batches first.
    _drop_language_model()
    return run_unit(folder, unit, topic, catalog, chunk_rows, row_counts, baseline, docs_dir, docs_index)


def _drop_language_model() -> None:
    """Let go of the language model (~96 MB), which only reading documents needs: its tables count
    in a forked worker's RSS from the fork on, and the gate's largest units peak on top of them.
    A batch retried afterwards loads it again (~0.8 s)."""
    from policytrace.ingest.language import language_scorer

    language_scorer.cache_clear()


def warm_worker() -> None:
    """Import the gate's code in a worker before its first unit arrives (Great Expectations: ~2 s),
    and let go of the language model, which only reading documents needs."""
    import policytrace.validate  # noqa: F401
    from policytrace.settings import freeze_loaded

    _drop_language_model()
    # The imported modules, and the caches the batches filled, live as long as the worker.
    freeze_loaded()


def validate_in_workers(submit: Submit, folder: Path, topic: Topic, catalog: Catalog,
                        baseline: dict[str, int] | None = None, docs_dir: Path | None = None,
                        chunk_rows: int = CHUNK_ROWS) -> GateReport:
    """Validate a release folder with its units run by `submit` (e.g. a process pool's submit).

    Units are handed out largest first, so that the last one to finish is a small one; results
    are merged in the serial gate's order. Data Docs: each unit builds the pages of its own
    suites in a folder of its own, and the pages are put together into docs_dir at the end.
    """
    started = time.perf_counter()
    if missing := missing_tables(folder, catalog):
        return missing_report(missing, started)
    units = plan_units(folder, catalog, chunk_rows, baseline)
    row_counts = row_counts_of(folder, catalog)
    parts = docs_dir.parent / f".{docs_dir.name}-units" if docs_dir is not None else None
    futures: dict[int, Future] = {}
    try:
        for index in sorted(range(len(units)), key=lambda i: -units[i].cost):
            unit_docs = parts / f"{index:04d}" if parts is not None else None
            # Only one unit renders GX's index page (~0.1 s a unit): the merged site's index lists
            # every unit's pages.
            futures[index] = submit(run_unit_in_worker, folder, units[index], topic, catalog, chunk_rows,
                                    row_counts, baseline, unit_docs, index == 0)
        # Every unit, even after one failed: none may still be writing once this returns.
        wait(futures.values())
        results = [futures[index].result() for index in range(len(units))]
        if parts is not None and docs_dir is not None:
            merge_docs([parts / f"{index:04d}" for index in range(len(units))], docs_dir)
    finally:
        if parts is not None:
            shutil.rmtree(parts, ignore_errors=True)
    return merge_units(units, results, row_counts, started)


def merge_docs(sites: list[Path], docs_dir: Path) -> None:
    """Put the units' Data Docs sites together into one offline site.

    Every unit's pages (its suites and validation results) have paths of their own; the static
    files are the same in every site, and one site has an index page. The offline index lists the
    pages found on disk.
    """
    from policytrace.datadocs import make_docs_offline

    docs_dir.mkdir(parents=True, exist_ok=True)
    static_copied = False
    for site in sites:
        if not site.is_dir():
            continue
        for item in sorted(site.iterdir()):
            if item.is_dir():
                if item.name == "static" and static_copied:
                    continue  # the same in every site (fonts and images, 5 MB, dropped offline anyway)
                static_copied |= item.name == "static"
                shutil.copytree(item, docs_dir / item.name, dirs_exist_ok=True)
            else:
                shutil.copy2(item, docs_dir / item.name)
    make_docs_offline(docs_dir)
