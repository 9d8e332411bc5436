"""The validation gate: Great Expectations suites derived from the declarations, plus cross-table checks.

Row-level checks (types, nulls, patterns, vocabularies, ranges) run as GX suites over each table in
chunks, so memory stays bounded. Checks that need more than one row or table (unique keys, foreign
keys, evidence equal to the document text, dates against publication) are computed with polars as
one boolean column per check, and those columns are validated by GX too: every failure is a named
GX expectation with example rows given by primary key.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from policytrace import gate_units
from policytrace.datadocs import add_docs_site, make_docs_offline, reuse_compiled_templates
from policytrace.gate_units import (  # noqa: F401 - Failure, GateReport and write_gate_report: re-exported
    CHUNK_BYTES,
    CHUNK_ROWS,
    EXAMPLES_SHOWN,
    Failure,
    GateReport,
    GateUnit,
    UnitResult,
    chunk_rows_for,
    merge_failures,
    missing_report,
    missing_tables,
    plan_units,
    row_chunks,
    row_counts_of,
    write_gate_report,
)
from policytrace.schema import Catalog, TableSpec, load_catalog
from policytrace.topic import Topic

# GX must stay offline and quiet: no usage statistics, no progress bars in logs.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402

reuse_compiled_templates()


def _trim_gx_overheads() -> None:
    """Work GX does on every validation run that the gate has no use for, or does again and again.

    - GX fingerprints every pandas batch (an MD5 over pandas' hash of every value, index
      included) only to record it among the batch's markers, which nothing here reads; it cost
      ~90 ms per run on a 79,000-row chunk. GX skips it for frames of HASH_THRESHOLD bytes or
      more, so a threshold of 0 turns it off.
    - `Expectation.configuration` turns the class name into the expectation type with two regex
      substitutions, and GX reads that property ~100 times per expectation and run: the pure
      name conversion is cached (a fifth of a suite's run time on a small chunk), and while a
      suite runs the whole configuration is built once per object (`_CachedConfiguration`).
    - Metric keywords that are plain JSON skip GX's conversion before they are hashed into ids
      (`_plain_or_converted`).
    """
    from great_expectations.core import id_dict
    from great_expectations.execution_engine import pandas_execution_engine
    from great_expectations.expectations import expectation

    pandas_execution_engine.HASH_THRESHOLD = 0
    if not hasattr(expectation.camel_to_snake, "cache_info"):
        expectation.camel_to_snake = functools.lru_cache(maxsize=None)(expectation.camel_to_snake)
    configuration = expectation.Expectation.__dict__["configuration"]
    if not isinstance(configuration, _CachedConfiguration):
        setattr(expectation.Expectation, "configuration", _CachedConfiguration(configuration))  # noqa: B010
    global _gx_to_json
    if id_dict.convert_to_json_serializable is not _plain_or_converted:
        _gx_to_json = id_dict.convert_to_json_serializable
        id_dict.convert_to_json_serializable = _plain_or_converted


# GX's own conversion, which `_plain_or_converted` stands in front of.
_gx_to_json: Any = None


def _is_plain_json(value: Any) -> bool:
    """Whether json.dumps writes value as GX's `convert_to_json_serializable` would return it."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == value  # NaN becomes None in GX's conversion
    if kind is list or kind is tuple:
        return all(_is_plain_json(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _is_plain_json(item) for key, item in value.items())
    return False


def _plain_or_converted(data: Any) -> Any:
    """GX's conversion for the metric ids (`IDDict.to_id`), skipped where it would change nothing.

    GX builds an id (JSON, then MD5) for the domain and value keywords of every metric it plans,
    ~60 per expectation and run; the conversion's chain of isinstance checks was half of that.
    """
    return data if _is_plain_json(data) else _gx_to_json(data=data)


class _CachedConfiguration:
    """`Expectation.configuration`, built once per expectation object while a suite runs.

    The property builds a new `ExpectationConfiguration` from the pydantic model at every read,
    and GX reads it ~100 times per expectation and run (once per success and domain keyword of
    each metric it plans): ~17% of a suite's run. While `configurations_cached()` is active, the
    first read's result is kept (with the object, so that its id is not reused); readers that
    change a configuration deep-copy it first. Outside, every read builds a new one, as GX does.
    """

    def __init__(self, original: property) -> None:
        self.original = original

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        cache = _configurations.get()
        if cache is None:
            return self.original.__get__(instance, owner)
        hit = cache.get(id(instance))
        if hit is None:
            hit = cache[id(instance)] = (instance, self.original.__get__(instance, owner))
        return hit[1]


# Per thread (and task): a GX call elsewhere meanwhile builds its configurations as GX does.
_configurations: contextvars.ContextVar[dict[int, tuple[Any, Any]] | None] = contextvars.ContextVar(
    "policytrace_gx_configurations", default=None)


@contextlib.contextmanager
def configurations_cached() -> Iterator[None]:
    """Within: each expectation object's configuration is built once (see _CachedConfiguration)."""
    token = _configurations.set({})
    try:
        yield
    finally:
        _configurations.reset(token)


_trim_gx_overheads()

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
def _quiet_gx() -> None:
    """GX announces its temporary docs folder at INFO and warns about regex groups on every run."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # This module sets its own logger to INFO, so the parent's level does not reach it.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")


def _named(expectation: gxe.Expectation, check: str) -> gxe.Expectation:
    expectation.meta = {"check": check}
    return expectation


# Declared types whose column, stored in its declared Parquet type, reaches GX the same way in
# every chunk, nulls or not (`to_pandas_for_gx`): String (or a vocabulary's dictionary of strings,
# read as Categorical) as strings, Int64 as int64 or Int64, Float64 as float64, Boolean as
# boolean. A column stored in another type can differ between chunks (an Int32 column is float64
# in a chunk with a null, int32 without; a List column's values are checked one by one, nulls
# skipped), and so can dates and datetimes (one outside pandas' nanosecond range, 1677-2262,
# keeps its chunk's column from becoming datetime64[ns]): their type checks run on every chunk.
_TYPES_FIXED_BY_FILE = frozenset({"string", "category", "integer", "number", "boolean"})


def columns_typed_by_file(spec: TableSpec, path: Path) -> frozenset[str]:
    """Columns of a table file whose type check passes or fails alike in every chunk (see above)."""
    schema = pl.read_parquet_schema(path)
    fixed = set()
    for f in spec.fields:
        dtype = schema.get(f.name)
        if f.type in _TYPES_FIXED_BY_FILE and dtype is not None and (
                dtype == f.polars_type or f.type == "category" and isinstance(dtype, pl.Categorical | pl.Enum)):
            fixed.add(f.name)
    return frozenset(fixed)


def table_expectations(spec: TableSpec, topic: Topic, first_chunk: bool = True,
                       typed_by_file: frozenset[str] = frozenset()) -> list[gxe.Expectation]:
    """Row-level expectations for one table, derived from its declaration.

    first_chunk=False: for a table's later chunks, without the checks whose outcome the file's
    schema decides: the columns (every chunk of a Parquet file has the file's columns) and the
    types of the columns in typed_by_file (`columns_typed_by_file`), which pass or fail with the
    first chunk. GX's cost is per expectation and run, whatever the rows: for mentions this is
    14 of 39.
    """
    expectations: list[gxe.Expectation] = []
    if first_chunk:
        expectations.append(_named(gxe.ExpectTableColumnsToMatchOrderedList(column_list=spec.column_names),
                                   "columns_match_declaration"))
    for f in spec.fields:
        kind, expected = _GX_TYPES[f.type]
        if first_chunk or f.name not in typed_by_file:
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


def _hash_expr(*columns: str) -> pl.Expr:
    if len(columns) > 1:
        return pl.concat_str([pl.col(c).cast(pl.String) for c in columns], separator="\x1f").hash()
    return pl.col(columns[0]).cast(pl.String).hash()


class _HashSet:
    """A sorted array of distinct 64-bit hashes: membership by binary search, no hash table per chunk.

    Hashing keeps the gate's memory small on large tables; a false match needs a 64-bit collision.
    """

    def __init__(self, hashes: pl.Series) -> None:
        self.values = hashes.unique().sort().to_numpy()

    @classmethod
    def of(cls, frame: pl.LazyFrame, *columns: str) -> _HashSet:
        """The hashes of a column (or of columns joined) of a table."""
        return cls(frame.select(_hash_expr(*columns).alias("h")).unique().collect(engine="streaming")
                   .get_column("h"))

    @classmethod
    def duplicated(cls, frame: pl.LazyFrame, value: pl.Expr) -> _HashSet:
        """The hashes that occur more than once in a column: the values a uniqueness check flags."""
        hashes = frame.select(value.alias("h")).collect(engine="streaming").get_column("h").sort().to_numpy()
        return cls(pl.Series(hashes[1:][hashes[1:] == hashes[:-1]], dtype=pl.UInt64))

    def __add__(self, other: _HashSet) -> _HashSet:
        return _HashSet(pl.Series(np.concatenate([self.values, other.values]), dtype=pl.UInt64))

    def contains(self, hashes: pl.Series) -> pl.Series:
        values = hashes.to_numpy()
        if not len(self.values):
            return pl.Series(np.zeros(len(values), dtype=bool))
        found = np.searchsorted(self.values, values)
        found[found == len(self.values)] = 0
        return pl.Series(self.values[found] == values)


class _HashLookup:
    """Values by the 64-bit hash of a key (the first row of each key wins), looked up by binary search.

    Used instead of joining each chunk with a per-document frame, which builds a hash table of
    the frame's string keys for every chunk.
    """

    def __init__(self, frame: pl.DataFrame, value: str) -> None:
        frame = frame.unique("_key", keep="first", maintain_order=True).sort("_key")
        self.keys = frame.get_column("_key").to_numpy()
        self.values = frame.get_column(value)

    @classmethod
    def of(cls, frame: pl.LazyFrame, key: str, value: pl.Expr) -> _HashLookup:
        table = frame.select(_hash_expr(key).alias("_key"), value.alias("_value")).collect(engine="streaming")
        return cls(table, "_value")

    def get(self, hashes: pl.Series) -> pl.Series:
        """The value for each hash, null where the key is unknown."""
        wanted = hashes.to_numpy()
        if not len(self.keys):
            return pl.Series([None] * len(wanted), dtype=self.values.dtype)
        found = np.searchsorted(self.keys, wanted)
        found[found == len(self.keys)] = 0
        values = self.values.gather(found)
        return pl.select(pl.when(pl.Series(self.keys[found] == wanted)).then(values)).to_series()


class _IntegrityChecks:
    """The cross-row checks of one table, prepared once, then computed chunk by chunk.

    What the checks need of the whole table or of other tables is kept compact: sets of 64-bit
    hashes (parent keys, evidenced rows, duplicated keys), text lengths and publication days per
    document. Rows are read in chunks, so memory does not grow with the table.
    """

    def __init__(self, spec: TableSpec, folder: Path) -> None:
        self.spec, self.folder = spec, folder
        self.key = list(spec.primary_key)
        self.memberships: list[tuple[pl.Expr, _HashSet]] = []
        table = _scan(folder, spec.name)
        key_hash = _hash_expr(*self.key)
        checks: list[pl.Expr] = [
            (~self._member(key_hash, _HashSet.duplicated(table, key_hash))).alias("primary_key_unique")]
        for f in spec.fields:
            if f.constraints.get("unique") and (f.name,) != spec.primary_key:
                value = pl.col(f.name).hash()
                checks.append((~self._member(value, _HashSet.duplicated(table, value)) | pl.col(f.name).is_null())
                              .alias(f"{f.name}_unique"))
        for fk in spec.foreign_keys:
            column = fk.fields[0]
            parent = _HashSet.of(_scan(folder, fk.resource), fk.reference_fields[0])
            checks.append((pl.col(column).is_null() | self._member(_hash_expr(column), parent))
                          .alias(f"references_{fk.resource}.{fk.reference_fields[0]}"))
        # Per-document values joined to each chunk (one row per source_id, so rows never multiply).
        self.joins: dict[str, _HashLookup] = {}
        if spec.name in ("events", "policy_conditions", "quantities"):
            self.joins["_text_length"] = _HashLookup.of(_scan(folder, "document_texts"), "source_id",
                                                        pl.col("text").str.len_chars())
            checks.append((pl.col("char_end") <= pl.col("_text_length")).fill_null(False)
                          .alias("offsets_inside_document"))
        if spec.name in ("events", "policy_conditions", "quantities", "actors", "sources"):
            evidenced = _HashSet.of(_scan(folder, "mentions"), "row_id")
            if spec.name == "sources":
                checks.append(((pl.col("source_type") != "cited") | self._member(_hash_expr("source_id"), evidenced))
                              .alias("cited_source_has_evidence"))
            else:
                checks.append(self._member(_hash_expr(self.key[0]), evidenced).alias("has_evidence"))
        if spec.name == "events":
            # Relative dates are resolved against the local publication day ("on Friday" in an article
            # published at 00:20 CEST), which can be a day after the UTC date: allow the later one.
            self.joins["_published"] = _HashLookup.of(_scan(folder, "sources"), "source_id", pl.max_horizontal(
                pl.col("published_at").dt.date(),
                pl.col("published_local").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
            ))
            for column in ("event_date", "date_start"):
                checks.append((pl.col(column).is_null() | pl.col("_published").is_null()
                               | (pl.col(column) <= pl.col("_published")))
                              .alias(f"{column}_not_after_publication"))
        if spec.name == "mentions":
            existing = None
            for table, pk in (("actors", "actor_id"), ("events", "event_id"),
                              ("policy_conditions", "condition_id"), ("quantities", "quantity_id"),
                              ("sources", "source_id")):
                rows = _HashSet.of(_scan(folder, table).select(pl.lit(table).alias("table_name"),
                                                               pl.col(pk).alias("row_id")), "table_name", "row_id")
                existing = rows if existing is None else existing + rows
            checks.append(self._member(_hash_expr("table_name", "row_id"), existing)
                          .alias("row_id_exists_in_table_name"))
        self.checks = checks
        self.evidence = _EvidenceReader(folder) if spec.name == "mentions" else None
        # Read only the columns the checks use (document_texts' texts are not needed, for one).
        used = set(self.key) | ({"source_id"} if self.joins else set())
        for expression in [*checks, *(value for value, _ in self.memberships)]:
            used.update(expression.meta.root_names())
        if self.evidence is not None:
            used.update(_EVIDENCE_COLUMNS)
        present = pq.read_schema(folder / f"{spec.name}.parquet").names
        # A missing column stays missing: the checks then fail to run, and that is reported.
        self.columns = [c for c in present if c in used]

    def _member(self, value: pl.Expr, hashes: _HashSet) -> pl.Expr:
        """A column that says whether value (a hash) is in hashes; computed per chunk by `chunk`."""
        self.memberships.append((value, hashes))
        return pl.col(f"_member_{len(self.memberships) - 1}")

    def chunk(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The check columns (True = fine) of some consecutive rows, keyed by the primary key."""
        if self.joins:
            source_hashes = frame.select(_hash_expr("source_id")).to_series()
            frame = frame.with_columns(lookup.get(source_hashes).alias(name) for name, lookup in self.joins.items())
        if self.memberships:
            values = frame.select(value.alias(f"_value_{i}") for i, (value, _) in enumerate(self.memberships))
            frame = frame.with_columns(hashes.contains(values.to_series(i)).alias(f"_member_{i}")
                                       for i, (_, hashes) in enumerate(self.memberships))
        result = frame.select(*self.key, *self.checks)
        if self.evidence is not None:
            result = pl.concat([result, self.evidence.check(frame).drop("mention_id")], how="horizontal")
        return result


def integrity_chunks(spec: TableSpec, folder: Path, chunk_rows: int = CHUNK_ROWS, first: int = 0,
                     count: int | None = None) -> Iterator[tuple[str, pl.DataFrame]]:
    """One boolean column per cross-row check (True = fine), keyed by the primary key, chunk by chunk.

    Chunks are labelled with their row range, as the table suites' chunks are. first, count: only
    those chunks (as `row_chunks`).
    """
    checks = _IntegrityChecks(spec, folder)
    rows = pq.ParquetFile(folder / f"{spec.name}.parquet").metadata.num_rows
    for start, frame in row_chunks(folder / f"{spec.name}.parquet", chunk_rows, checks.columns, first, count):
        label = "" if rows <= chunk_rows else f" rows {start}-{start + frame.height - 1}"
        yield label, checks.chunk(frame)


def integrity_frame(spec: TableSpec, folder: Path) -> pl.DataFrame:
    """All of a table's integrity checks in one frame (for small tables and tests)."""
    chunks = [chunk for _, chunk in integrity_chunks(spec, folder)]
    return pl.concat(chunks) if len(chunks) > 1 else chunks[0]


class _EvidenceReader:
    """Whether mentions' offsets, evidence and spans match their documents' texts, block by block.

    Mentions and texts are both in document order, so both files are read once, side by side,
    holding only the texts of the documents the current block of mentions refers to. Mentions
    out of that order (a damaged file) are looked up in the texts file directly.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / "document_texts.parquet"
        self.texts = pq.ParquetFile(self.path).iter_batches(batch_size=2_000, columns=["source_id", "text"])
        self.loaded: dict[str, str] = {}
        self.order: list[str] = []

    def check(self, block: pl.DataFrame, rows_per_step: int = 50_000) -> pl.DataFrame:
        """The evidence checks of consecutive mentions (any number), in their order."""
        if block.height > rows_per_step:
            return pl.concat([self._check(block.slice(start, rows_per_step))
                              for start in range(0, block.height, rows_per_step)])
        return self._check(block)

    def _check(self, block: pl.DataFrame) -> pl.DataFrame:
        needed = set(block.get_column("source_id").drop_nulls().unique().to_list())
        while not needed <= self.loaded.keys() and (chunk := next(self.texts, None)) is not None:
            for source_id, text in zip(chunk.column(0).to_pylist(), chunk.column(1).to_pylist(), strict=True):
                if not self.order and source_id not in needed:
                    continue  # before the first document wanted (a gate unit that starts mid-table)
                self.loaded[source_id] = text
                self.order.append(source_id)
        texts = pl.DataFrame({"source_id": list(self.loaded), "_text": list(self.loaded.values())},
                             schema={"source_id": pl.String, "_text": pl.String})
        missing = needed - self.loaded.keys()
        if missing:  # out of document order: read those texts from the file
            texts = pl.concat([texts, pl.scan_parquet(self.path)
                               .filter(pl.col("source_id").is_in(sorted(missing)))
                               .select("source_id", pl.col("text").alias("_text")).collect()])
            texts = texts.unique("source_id", keep="first", maintain_order=True)
        result = _compare_evidence(block, texts)
        # Documents before the last one of this block will not be needed again.
        last = block.get_column("source_id")[-1] if block.height else None
        if last in self.loaded:
            cut = self.order.index(last)
            for source_id in self.order[:cut]:
                self.loaded.pop(source_id, None)
            self.order = self.order[cut:]
        return result


_EVIDENCE_COLUMNS = ["mention_id", "source_id", "char_start", "char_end", "evidence", "span_start",
                     "span_end", "span_text"]


def evidence_checks(folder: Path, rows_per_read: int = 50_000) -> pl.DataFrame:
    """Whether each mention's offsets, evidence and span match its document's text (whole table)."""
    reader = _EvidenceReader(folder)
    columns = _EVIDENCE_COLUMNS
    results = [reader.check(pl.from_arrow(batch)) for batch in pq.ParquetFile(
        folder / "mentions.parquet").iter_batches(batch_size=rows_per_read, columns=columns)]
    return pl.concat(results) if results else _compare_evidence(
        pl.DataFrame(schema={c: pl.String for c in columns}),
        pl.DataFrame(schema={"source_id": pl.String, "_text": pl.String}))


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
    """A pandas frame GX can check: nullable integers and booleans keep their kind.

    Integers without nulls stay numpy int64 and dates become datetime64[ns]: GX's range check
    (`column_values.between`) is vectorised only for those, and calls a Python function per
    value for pandas' nullable Int64 and for datetime64[ms].
    """
    data = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.Int64:
            if frame[name].null_count():
                data[name] = data[name].astype("Int64")
        elif dtype == pl.Date:
            try:
                data[name] = data[name].astype("datetime64[ns]")
            except pd.errors.OutOfBoundsDatetime:
                pass  # a date outside 1677-2262 (a damaged table): GX checks it value by value
        elif dtype == pl.Boolean:
            data[name] = data[name].astype("boolean")
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            data[name] = data[name].astype("str").where(data[name].notna(), None)
    return data


def _chunks(path: Path, chunk_rows: int, first: int = 0,
            count: int | None = None) -> Iterator[tuple[int, str, pl.DataFrame]]:
    """A table file in chunks of bounded rows and bytes: (first row, label with the row range, frame)."""
    total = pq.ParquetFile(path).metadata.num_rows
    rows = chunk_rows_for(path, chunk_rows)
    for start, frame in row_chunks(path, rows, None, first, count):
        yield start, ("" if total <= rows else f" rows {start}-{start + frame.height - 1}"), frame


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


def _drop_cached_batches(source: Any) -> None:
    """Forget the data GX keeps after a run; it would otherwise hold every chunk it ever validated.

    The batches themselves, and the metrics computed on them: the execution engine's metric cache
    holds pandas Series per chunk (about 4 MB per run of a 100,000-row chunk of mentions).
    """
    engine = source.get_execution_engine()
    manager = engine.batch_manager
    manager.reset_batch_cache()
    getattr(manager, "_batch_data_cache", {}).clear()  # private in GX 1.24, hence the guards
    getattr(engine, "_metric_cache", {}).clear()
    _release_free_memory()


def _release_free_memory() -> None:
    """Give memory freed by pandas and Python back to the system (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class _SuiteRunner:
    """An ephemeral GX context that runs suites and keeps their results (and builds their Data Docs)."""

    def __init__(self, docs_dir: Path | None = None) -> None:
        _quiet_gx()  # again: a Prefect flow run reconfigures logging after the gate was made
        self.docs_dir = docs_dir
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        if docs_dir is not None:
            add_docs_site(self.context, docs_dir)
        self.source = self.context.data_sources.add_pandas("policytrace")
        self._batch_definitions: dict[str, Any] = {}
        self.result = UnitResult()

    def _batch_definition(self, asset_name: str) -> Any:
        """One dataframe asset per table (or integrity suite), shared by its chunks: adding an asset
        saves the context's whole configuration, which grows with every asset."""
        if asset_name not in self._batch_definitions:
            asset = self.source.add_dataframe_asset(asset_name)
            self._batch_definitions[asset_name] = asset.add_batch_definition_whole_dataframe("rows")
        return self._batch_definitions[asset_name]

    def run(self, suite_name: str, expectations: list[gxe.Expectation], data: pd.DataFrame,
            key: list[str]) -> None:
        context = self.context
        self.result.expectation_count += len(expectations)
        table_suite = suite_name.split(" rows ")[0]  # without a chunk's row range
        batch = self._batch_definition(table_suite)
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
        # The validation definition runs itself and stores its result (which Data Docs are built
        # from); a Checkpoint around it, with no actions to run, only repeated its freshness checks.
        with configurations_cached():
            result = definition.run(
                batch_parameters={"dataframe": data},
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": key,
                               "partial_unexpected_count": EXAMPLES_SHOWN,
                               "return_unexpected_index_query": False})
        _drop_cached_batches(self.source)
        self.result.failures.extend(_failures(table_suite, result, key))
        self.result.results.append(_compact_result(suite_name, result))

    def take(self) -> UnitResult:
        """What ran since the last take."""
        result, self.result = self.result, UnitResult()
        return result

    def build_docs(self, build_index: bool = True) -> None:
        if self.docs_dir is not None:
            self.context.build_data_docs(build_index=build_index)


def _run_unit(runner: _SuiteRunner, folder: Path, unit: GateUnit, topic: Topic, catalog: Catalog,
              chunk_rows: int, row_counts: dict[str, int], baseline: dict[str, int] | None) -> UnitResult:
    started = time.perf_counter()
    result = _run_unit_checks(runner, folder, unit, topic, catalog, chunk_rows, row_counts, baseline)
    result.seconds = time.perf_counter() - started
    return result


def _run_unit_checks(runner: _SuiteRunner, folder: Path, unit: GateUnit, topic: Topic, catalog: Catalog,
                     chunk_rows: int, row_counts: dict[str, int], baseline: dict[str, int] | None) -> UnitResult:
    if unit.kind == "row_counts":
        counts = pl.DataFrame({"table": list(baseline or {}), "minimum": list((baseline or {}).values()),
                               "row_count": [row_counts.get(t, 0) for t in baseline or {}]})
        runner.run("release.row_counts", [_named(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="row_count", column_B="minimum", or_equal=True), "row_count_at_least_baseline")],
            to_pandas_for_gx(counts), ["table"])
        result = runner.take()
        short = [f"{table} has {row_counts.get(table, 0)} rows, the baseline {minimum}"
                 for table, minimum in (baseline or {}).items() if row_counts.get(table, 0) < minimum]
        for failure in result.failures:  # say by how much, not only which tables
            failure.detail = "; ".join(short) or None
        return result
    spec = catalog[unit.table]
    key = list(spec.primary_key)
    if unit.kind == "rows":
        path = folder / f"{spec.name}.parquet"
        typed_by_file = columns_typed_by_file(spec, path)
        for start, label, chunk in _chunks(path, chunk_rows, unit.first, unit.count):
            # A GX expectation belongs to one suite: every chunk gets its own.
            runner.run(spec.name + label, table_expectations(spec, topic, start == 0, typed_by_file),
                       to_pandas_for_gx(chunk), key)
        return runner.take()
    stopped = False
    try:
        for label, checks in integrity_chunks(spec, folder, chunk_rows, unit.first, unit.count):
            names = [c for c in checks.columns if c not in key]
            runner.run(f"{spec.name}.integrity{label}",
                       [_named(gxe.ExpectColumnValuesToBeInSet(column=n, value_set=[True]), n) for n in names],
                       to_pandas_for_gx(checks), key)
    except pl.exceptions.PolarsError as exc:
        # Malformed tables (a missing column, a wrong type) already fail their table suite.
        runner.result.failures.append(Failure(f"{spec.name}.integrity", "integrity_checks_could_run", None,
                                              None, detail=str(exc).splitlines()[0]))
        stopped = True
    result = runner.take()
    result.stopped = stopped
    return result


def run_unit(folder: Path, unit: GateUnit, topic: Topic, catalog: Catalog, chunk_rows: int,
             row_counts: dict[str, int], baseline: dict[str, int] | None,
             docs_dir: Path | None = None, docs_index: bool = True) -> UnitResult:
    """One unit of the gate with a GX context of its own (in a worker process); docs into docs_dir.

    docs_index: whether this unit's docs get an index page too (one unit's is enough: the merged
    site's index lists the pages of all units, `gate_units.merge_docs`).
    """
    runner = _SuiteRunner(docs_dir)
    result = _run_unit(runner, folder, unit, topic, catalog, chunk_rows, row_counts, baseline)
    runner.build_docs(build_index=docs_index)
    return result


class Gate:
    """Validates release folders against the suites derived from the catalog.

    workers=0 runs every unit here, one after the other, in one GX context; a `submit` (a process
    pool's) runs the units in worker processes (`gate_units.validate_in_workers`). Both give the
    same report.
    """

    def __init__(self, catalog: Catalog | None = None, chunk_rows: int = CHUNK_ROWS) -> None:
        self.catalog = catalog or load_catalog()
        self.chunk_rows = chunk_rows
        _quiet_gx()

    def validate_release(self, folder: Path, topic: Topic, baseline: dict[str, int] | None = None,
                         docs_dir: Path | None = None, submit: Any = None) -> GateReport:
        """Validate the Parquet tables in a release or staging folder; nothing raises, all is reported."""
        if submit is not None:
            return gate_units.validate_in_workers(submit, folder, topic, self.catalog, baseline, docs_dir,
                                                  self.chunk_rows)
        started = time.perf_counter()
        if missing := missing_tables(folder, self.catalog):
            return missing_report(missing, started)
        runner = _SuiteRunner(docs_dir)
        units = plan_units(folder, self.catalog, self.chunk_rows, baseline)
        row_counts = row_counts_of(folder, self.catalog)
        results: list[UnitResult] = []
        stopped: set[tuple[str, str]] = set()
        for unit in units:
            if (unit.table, unit.kind) in stopped:
                results.append(UnitResult())  # left out of the merge, as in the workers' case
                continue
            results.append(_run_unit(runner, folder, unit, topic, self.catalog, self.chunk_rows, row_counts,
                                     baseline))
            if results[-1].stopped:
                stopped.add((unit.table, unit.kind))
        if docs_dir is not None:
            runner.build_docs()
            make_docs_offline(docs_dir)
        return gate_units.merge_units(units, results, row_counts, started)

    def validate(self, tables: dict[str, pl.DataFrame], topic: Topic,
                 baseline: dict[str, int] | None = None, docs_dir: Path | None = None) -> GateReport:
        """Validate in-memory tables by writing them as a release would be written."""
        from policytrace.publish import write_tables

        with tempfile.TemporaryDirectory(prefix="policytrace-validate-") as folder:
            write_tables(tables, Path(folder), self.catalog)
            return self.validate_release(Path(folder), topic, baseline, docs_dir)
