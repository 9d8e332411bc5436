"""The validation gate: Great Expectations suites derived from the declarations, plus cross-table checks.

Row-level checks (types, nulls, patterns, vocabularies, ranges) run as GX suites over each table in
chunks, so memory stays bounded. Checks that need more than one row or table (unique keys, foreign
keys, evidence equal to the document text, dates against publication) are computed with polars as
one boolean column per check, and those columns are validated by GX too: every failure is a named
GX expectation with example rows given by primary key.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from policytrace.datadocs import add_docs_site, make_docs_offline
from policytrace.schema import Catalog, TableSpec, load_catalog
from policytrace.topic import Topic

# GX must stay offline and quiet: no usage statistics, no progress bars in logs.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402

# Declared type -> what GX sees in the pandas frame made by `to_pandas_for_gx`.
_GX_TYPES: dict[str, tuple[str, Any]] = {
    "string": ("of_type", "str"),
    "category": ("of_type", "str"),
    "integer": ("in_list", ["Int64Dtype", "int64"]),
    "number": ("in_list", ["float64", "Float64Dtype"]),
    "boolean": ("in_list", ["bool", "BooleanDtype"]),
    "date": ("of_type", "datetime64"),
    "datetime": ("of_type", "Timestamp"),
}
EXAMPLES_SHOWN = 5
CHUNK_ROWS = 250_000


def _quiet_gx() -> None:
    """GX announces its temporary docs folder at INFO and warns about regex groups on every run."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # This module sets its own logger to INFO, so the parent's level does not reach it.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")


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


def _named(expectation: gxe.Expectation, check: str) -> gxe.Expectation:
    expectation.meta = {"check": check}
    return expectation


def table_expectations(spec: TableSpec, topic: Topic) -> list[gxe.Expectation]:
    """Row-level expectations for one table, derived from its declaration."""
    expectations: list[gxe.Expectation] = [
        _named(gxe.ExpectTableColumnsToMatchOrderedList(column_list=spec.column_names),
               "columns_match_declaration"),
    ]
    for f in spec.fields:
        kind, expected = _GX_TYPES[f.type]
        expectations.append(_named(
            gxe.ExpectColumnValuesToBeOfType(column=f.name, type_=expected) if kind == "of_type"
            else gxe.ExpectColumnValuesToBeInTypeList(column=f.name, type_list=expected),
            f"type_is_{f.type}"))
        c = f.constraints
        if c.get("required"):
            expectations.append(_named(gxe.ExpectColumnValuesToNotBeNull(column=f.name), "not_null"))
        if "pattern" in c:
            expectations.append(_named(
                gxe.ExpectColumnValuesToMatchRegex(column=f.name, regex=c["pattern"]), "id_or_code_format"))
        allowed = list(c["enum"]) if "enum" in c else (
            topic.vocabulary(c["vocabulary"]) if "vocabulary" in c else None)
        if allowed is not None:
            expectations.append(_named(
                gxe.ExpectColumnValuesToBeInSet(column=f.name, value_set=allowed), "in_vocabulary"))
        if "minimum" in c:
            expectations.append(_named(
                gxe.ExpectColumnValuesToBeBetween(column=f.name, min_value=c["minimum"]),
                f"at_least_{c['minimum']}"))
        if "min_date" in c:
            expectations.append(_named(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f.name, min_value=datetime.fromisoformat(str(c["min_date"]))),
                f"not_before_{c['min_date']}"))
    for low, high in spec.ordered_columns:
        expectations.append(_named(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=high, column_B=low, or_equal=True, ignore_row_if="either_value_is_missing"),
            f"{low}_not_after_{high}"))
    return expectations


# ---- cross-row and cross-table checks, computed with polars -------------------------------------

def _scan(folder: Path, table: str) -> pl.LazyFrame:
    return pl.scan_parquet(folder / f"{table}.parquet")


def _hashes(frame: pl.LazyFrame, *columns: str) -> pl.Series:
    """Distinct 64-bit hashes of a column (or of columns joined): compact sets for membership checks.

    Hashing keeps the gate's memory small on large tables; a false match needs a 64-bit collision.
    """
    values = pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator="\x1f") \
        if len(columns) > 1 else pl.col(columns[0]).cast(pl.String)
    return frame.select(values.hash().alias("h")).unique().collect(engine="streaming").get_column("h")


def _in(hashes: pl.Series, *columns: str) -> pl.Expr:
    values = pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator="\x1f") \
        if len(columns) > 1 else pl.col(columns[0]).cast(pl.String)
    return values.hash().is_in(hashes.implode())


def integrity_frame(spec: TableSpec, folder: Path) -> pl.DataFrame:
    """One boolean column per cross-row check (True = fine), keyed by the primary key."""
    key = list(spec.primary_key)
    frame = _scan(folder, spec.name)
    key_hash = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="\x1f").hash()
    checks: list[pl.Expr] = [(~key_hash.is_duplicated()).alias("primary_key_unique")]
    for f in spec.fields:
        if f.constraints.get("unique") and (f.name,) != spec.primary_key:
            checks.append((~pl.col(f.name).hash().is_duplicated() | pl.col(f.name).is_null())
                          .alias(f"{f.name}_unique"))
    for fk in spec.foreign_keys:
        column = fk.fields[0]
        parent = _hashes(_scan(folder, fk.resource), fk.reference_fields[0])
        checks.append((pl.col(column).is_null() | _in(parent, column))
                      .alias(f"references_{fk.resource}.{fk.reference_fields[0]}"))
    if spec.name in ("events", "policy_conditions", "quantities"):
        lengths = _scan(folder, "document_texts").select(
            "source_id", pl.col("text").str.len_chars().alias("_text_length"))
        frame = frame.join(lengths, on="source_id", how="left")
        checks.append((pl.col("char_end") <= pl.col("_text_length")).fill_null(False)
                      .alias("offsets_inside_document"))
    if spec.name in ("events", "policy_conditions", "quantities", "actors", "sources"):
        evidenced = _hashes(_scan(folder, "mentions"), "row_id")
        if spec.name == "sources":
            checks.append(((pl.col("source_type") != "cited") | _in(evidenced, "source_id"))
                          .alias("cited_source_has_evidence"))
        else:
            checks.append(_in(evidenced, key[0]).alias("has_evidence"))
    if spec.name == "events":
        # Relative dates are resolved against the local publication day ("on Friday" in an article
        # published at 00:20 CEST), which can be a day after the UTC date: allow the later one.
        published = _scan(folder, "sources").select(
            "source_id",
            pl.max_horizontal(
                pl.col("published_at").dt.date(),
                pl.col("published_local").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
            ).alias("_published"))
        frame = frame.join(published, on="source_id", how="left")
        for column in ("event_date", "date_start"):
            checks.append((pl.col(column).is_null() | pl.col("_published").is_null()
                           | (pl.col(column) <= pl.col("_published")))
                          .alias(f"{column}_not_after_publication"))
    if spec.name == "mentions":
        existing = pl.concat([
            _hashes(_scan(folder, table).select(pl.lit(table).alias("table_name"),
                                                pl.col(pk).alias("row_id")), "table_name", "row_id")
            for table, pk in (("actors", "actor_id"), ("events", "event_id"),
                              ("policy_conditions", "condition_id"), ("quantities", "quantity_id"),
                              ("sources", "source_id"))
        ])
        checks.append(_in(existing, "table_name", "row_id").alias("row_id_exists_in_table_name"))
    result = frame.select(*key, *checks).collect(engine="streaming")
    if spec.name == "mentions":
        evidence = evidence_checks(folder)
        result = result.join(evidence, on="mention_id", how="left", maintain_order="left").with_columns(
            pl.col(c).fill_null(False) for c in evidence.columns if c != "mention_id")
    return result


def evidence_checks(folder: Path, rows_per_read: int = 50_000) -> pl.DataFrame:
    """Whether each mention's offsets, evidence and span match its document's text.

    Mentions and texts are both in document order, so both files are read once, side by side,
    holding only the texts of the documents the current block of mentions refers to. Mentions
    out of that order (a damaged file) are checked afterwards against the texts they need.
    """
    texts = pq.ParquetFile(folder / "document_texts.parquet").iter_batches(
        batch_size=2_000, columns=["source_id", "text"])
    loaded: dict[str, str] = {}
    order: list[str] = []
    results, stragglers = [], []
    columns = ["mention_id", "source_id", "char_start", "char_end", "evidence", "span_start",
               "span_end", "span_text"]
    for batch in pq.ParquetFile(folder / "mentions.parquet").iter_batches(
            batch_size=rows_per_read, columns=columns):
        block = pl.from_arrow(batch)
        needed = set(block.get_column("source_id").unique().to_list())
        while not needed <= loaded.keys() and (chunk := next(texts, None)) is not None:
            for source_id, text in zip(chunk.column(0).to_pylist(), chunk.column(1).to_pylist(),
                                       strict=True):
                loaded[source_id] = text
                order.append(source_id)
        found = block.filter(pl.col("source_id").is_in(list(loaded)))
        stragglers.append(block.filter(~pl.col("source_id").is_in(list(loaded))))
        results.append(_compare_evidence(found, pl.DataFrame(
            {"source_id": list(loaded), "_text": list(loaded.values())},
            schema={"source_id": pl.String, "_text": pl.String})))
        # Documents before the last one of this block will not be needed again.
        last = block.get_column("source_id")[-1]
        if last in loaded:
            cut = order.index(last)
            for source_id in order[:cut]:
                loaded.pop(source_id, None)
            order = order[cut:]
    rest = pl.concat(stragglers) if stragglers else pl.DataFrame(schema={c: pl.String for c in columns})
    if rest.height:
        wanted = rest.get_column("source_id").unique().implode()
        lookup = (pl.scan_parquet(folder / "document_texts.parquet")
                  .filter(pl.col("source_id").is_in(wanted))
                  .select("source_id", pl.col("text").alias("_text")).collect())
        results.append(_compare_evidence(rest, lookup))
    return pl.concat(results) if results else _compare_evidence(rest, pl.DataFrame(
        schema={"source_id": pl.String, "_text": pl.String}))


def _compare_evidence(mentions: pl.DataFrame, texts: pl.DataFrame) -> pl.DataFrame:
    joined = mentions.join(texts, on="source_id", how="left", maintain_order="left")
    return joined.select(
        "mention_id",
        (pl.col("char_end") <= pl.col("_text").str.len_chars()).fill_null(False)
        .alias("offsets_inside_document"),
        (pl.col("_text").str.slice(pl.col("char_start"), pl.col("char_end") - pl.col("char_start"))
         == pl.col("evidence")).fill_null(False).alias("evidence_equals_document_text"),
        (pl.col("_text").str.slice(pl.col("span_start"), pl.col("span_end") - pl.col("span_start"))
         == pl.col("span_text")).fill_null(False).alias("span_text_equals_document_text"),
    )


# ---- running GX ---------------------------------------------------------------------------------

def to_pandas_for_gx(frame: pl.DataFrame) -> pd.DataFrame:
    """A pandas frame GX can check: nullable integers and booleans keep their kind."""
    data = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.Int64:
            data[name] = data[name].astype("Int64")
        elif dtype == pl.Boolean:
            data[name] = data[name].astype("boolean")
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            data[name] = data[name].astype("str").where(data[name].notna(), None)
    return data


CHUNK_BYTES = 64 << 20  # uncompressed bytes per GX chunk: long texts make for short chunks


def _chunks(path: Path, chunk_rows: int) -> Iterator[tuple[str, pl.DataFrame]]:
    """A table file in chunks of bounded rows and bytes, labelled with their row range."""
    parquet = pq.ParquetFile(path)
    metadata = parquet.metadata
    total = metadata.num_rows
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    rows = max(1_000, min(chunk_rows, int(CHUNK_BYTES / max(1, size / max(1, total)))))
    if total <= rows:
        yield "", pl.read_parquet(path)
        return
    start = 0
    for batch in parquet.iter_batches(batch_size=rows):
        yield f" rows {start}-{start + batch.num_rows - 1}", pl.from_arrow(batch)
        start += batch.num_rows


def _frame_chunks(frame: pl.DataFrame, chunk_rows: int) -> Iterator[tuple[str, pl.DataFrame]]:
    if frame.height <= chunk_rows:
        yield "", frame
        return
    for start in range(0, frame.height, chunk_rows):
        part = frame.slice(start, chunk_rows)
        yield f" rows {start}-{start + part.height - 1}", part


def _compact_result(suite_name: str, result: Any) -> dict[str, Any]:
    """The parts of a GX suite result people read: at most a few example rows per expectation."""
    items = []
    for item in result.results:
        config = item.expectation_config
        res = item.result or {}
        kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
        items.append({
            "expectation": config.type,
            "check": (config.meta or {}).get("check"),
            "kwargs": kwargs,
            "success": item.success,
            "element_count": res.get("element_count"),
            "unexpected_count": res.get("unexpected_count"),
            "unexpected_percent": res.get("unexpected_percent"),
            "observed_value": res.get("observed_value"),
            "examples": (res.get("unexpected_index_list") or [])[:20],
            "exception": (item.exception_info or {}).get("exception_message")
            if (item.exception_info or {}).get("raised_exception") else None,
        })
    return {"suite": suite_name, "success": result.success,
            "statistics": dict(result.statistics), "results": items}


def _failures(suite_name: str, result: Any, key: list[str]) -> list[Failure]:
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        res = item.result or {}
        examples = [
            "/".join(str(row.get(k)) for k in key)
            for row in (res.get("unexpected_index_list") or [])[:EXAMPLES_SHOWN]
            if isinstance(row, dict)
        ]
        detail = None
        if item.exception_info and item.exception_info.get("raised_exception"):
            detail = str(item.exception_info.get("exception_message"))
        elif res.get("observed_value") is not None and not examples:
            detail = f"observed {res['observed_value']!r}"
        failures.append(Failure(
            suite=suite_name, check=(config.meta or {}).get("check", config.type),
            column=config.kwargs.get("column"),
            unexpected_count=res.get("unexpected_count"), examples=examples, detail=detail))
    return failures


def _merge_failures(failures: list[Failure]) -> list[Failure]:
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


def _drop_cached_batches(source: Any) -> None:
    """Forget the data GX keeps after a run; it would otherwise hold every chunk it ever validated."""
    manager = source.get_execution_engine().batch_manager
    manager.reset_batch_cache()
    getattr(manager, "_batch_data_cache", {}).clear()  # private in GX 1.24, hence the guard


class Gate:
    """Validates release folders against the suites derived from the catalog."""

    def __init__(self, catalog: Catalog | None = None, chunk_rows: int = CHUNK_ROWS) -> None:
        self.catalog = catalog or load_catalog()
        self.chunk_rows = chunk_rows
        _quiet_gx()

    def validate_release(self, folder: Path, topic: Topic, baseline: dict[str, int] | None = None,
                         docs_dir: Path | None = None) -> GateReport:
        """Validate the Parquet tables in a release or staging folder; nothing raises, all is reported."""
        started = time.perf_counter()
        missing = [s.name for s in self.catalog if not (folder / f"{s.name}.parquet").exists()]
        if missing:
            failure = Failure("release", "all_tables_present", None, None, detail=f"missing {missing}")
            return GateReport(False, [failure], [], 0, {}, time.perf_counter() - started)
        _quiet_gx()  # again: a Prefect flow run reconfigures logging after our constructor ran
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        if docs_dir is not None:
            add_docs_site(context, docs_dir)
        source = context.data_sources.add_pandas("policytrace")
        failures: list[Failure] = []
        results: list[dict[str, Any]] = []
        count = 0

        def run(suite_name: str, expectations: list[gxe.Expectation], data: pd.DataFrame,
                key: list[str]) -> None:
            nonlocal count
            count += len(expectations)
            batch = source.add_dataframe_asset(suite_name).add_batch_definition_whole_dataframe("rows")
            suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=suite_name, validation_definitions=[definition], actions=[],
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": key,
                               "partial_unexpected_count": EXAMPLES_SHOWN,
                               "return_unexpected_index_query": False}))
            (result,) = checkpoint.run(batch_parameters={"dataframe": data}).run_results.values()
            _drop_cached_batches(source)
            failures.extend(_failures(suite_name.split(" rows ")[0], result, key))
            results.append(_compact_result(suite_name, result))

        row_counts = {}
        for spec in self.catalog:
            key = list(spec.primary_key)
            path = folder / f"{spec.name}.parquet"
            row_counts[spec.name] = pq.ParquetFile(path).metadata.num_rows
            for label, chunk in _chunks(path, self.chunk_rows):
                # A GX expectation belongs to one suite: every chunk gets its own.
                run(spec.name + label, table_expectations(spec, topic), to_pandas_for_gx(chunk), key)
            try:
                checks = integrity_frame(spec, folder)
            except pl.exceptions.PolarsError as exc:
                # Malformed tables (a missing column, a wrong type) already fail their table suite.
                failures.append(Failure(f"{spec.name}.integrity", "integrity_checks_could_run", None,
                                        None, detail=str(exc).splitlines()[0]))
                continue
            names = [c for c in checks.columns if c not in key]
            for label, chunk in _frame_chunks(checks, self.chunk_rows):
                run(f"{spec.name}.integrity{label}",
                    [_named(gxe.ExpectColumnValuesToBeInSet(column=n, value_set=[True]), n) for n in names],
                    to_pandas_for_gx(chunk), key)
        if baseline:
            counts = pl.DataFrame({"table": list(baseline), "minimum": list(baseline.values()),
                                   "row_count": [row_counts.get(t, 0) for t in baseline]})
            run("release.row_counts", [_named(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="row_count", column_B="minimum", or_equal=True), "row_count_at_least_baseline")],
                to_pandas_for_gx(counts), ["table"])
        if docs_dir is not None:
            context.build_data_docs()
            make_docs_offline(docs_dir)
        return GateReport(
            success=not failures, failures=_merge_failures(failures), results=results,
            expectation_count=count, row_counts=row_counts, seconds=time.perf_counter() - started)

    def validate(self, tables: dict[str, pl.DataFrame], topic: Topic,
                 baseline: dict[str, int] | None = None, docs_dir: Path | None = None) -> GateReport:
        """Validate in-memory tables by writing them as a release would be written."""
        from policytrace.publish import write_tables

        with tempfile.TemporaryDirectory(prefix="policytrace-validate-") as folder:
            write_tables(tables, Path(folder), self.catalog)
            return self.validate_release(Path(folder), topic, baseline, docs_dir)


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
