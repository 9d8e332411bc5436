"""The validation gate: Great Expectations suites derived from the declarations, plus cross-table checks."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from policytrace.schema import Catalog, TableSpec, load_catalog
from policytrace.datadocs import add_docs_site, make_docs_offline
from policytrace.topic import Topic

# GX must stay offline and quiet: no usage statistics, no progress bars in logs.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402



def _quiet_gx() -> None:
    """GX announces its temporary docs folder at INFO and warns about regex groups on every run."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")

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
    """Outcome of validating a set of tables."""

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


def table_expectations(spec: TableSpec, topic: Topic, parents: dict[str, pl.DataFrame],
                       min_rows: int | None = None) -> list[gxe.Expectation]:
    """Expectations for one table, derived from its declaration (and parents' ids for foreign keys)."""
    expectations: list[gxe.Expectation] = [
        _named(gxe.ExpectTableColumnsToMatchOrderedList(column_list=spec.column_names),
               "columns_match_declaration"),
    ]
    if min_rows:
        expectations.append(_named(gxe.ExpectTableRowCountToBeBetween(min_value=min_rows),
                                   f"at_least_{min_rows}_rows_as_in_baseline"))
    for f in spec.fields:
        kind, expected = _GX_TYPES[f.type]
        if kind == "of_type":
            expectations.append(_named(gxe.ExpectColumnValuesToBeOfType(column=f.name, type_=expected),
                                       f"type_is_{f.type}"))
        else:
            expectations.append(_named(
                gxe.ExpectColumnValuesToBeInTypeList(column=f.name, type_list=expected),
                f"type_is_{f.type}"))
        c = f.constraints
        if c.get("required"):
            expectations.append(_named(gxe.ExpectColumnValuesToNotBeNull(column=f.name), "not_null"))
        if c.get("unique") or spec.primary_key == (f.name,):
            expectations.append(_named(gxe.ExpectColumnValuesToBeUnique(column=f.name), "unique"))
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
    if len(spec.primary_key) > 1:
        expectations.append(_named(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=list(spec.primary_key)), "primary_key_unique"))
    for low, high in spec.ordered_columns:
        expectations.append(_named(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=high, column_B=low, or_equal=True, ignore_row_if="either_value_is_missing"),
            f"{low}_not_after_{high}"))
    for fk in spec.foreign_keys:
        if len(fk.fields) != 1:
            continue
        parent = parents.get(fk.resource)
        if parent is None:
            continue
        ids = parent.get_column(fk.reference_fields[0]).drop_nulls().unique().sort().to_list()
        expectations.append(_named(
            gxe.ExpectColumnValuesToBeInSet(column=fk.fields[0], value_set=ids),
            f"references_{fk.resource}.{fk.reference_fields[0]}"))
    return expectations


def integrity_frame(spec: TableSpec, tables: dict[str, pl.DataFrame]) -> pl.DataFrame | None:
    """Cross-table facts about each row as boolean columns (True = fine), keyed by primary key."""
    frame = tables[spec.name]
    key = list(spec.primary_key)
    texts = tables["document_texts"].select("source_id", pl.col("text").str.len_chars().alias("_len"),
                                            "text")
    evidenced = tables["mentions"].select(pl.col("row_id").unique())
    checks: list[pl.Expr] = []
    if spec.name == "mentions":
        existing = pl.concat([
            tables[name].select(pl.col(pk).alias("row_id"), pl.lit(name).alias("table_name"))
            for name, pk in (("actors", "actor_id"), ("events", "event_id"),
                             ("policy_conditions", "condition_id"), ("quantities", "quantity_id"),
                             ("sources", "source_id"))
        ]).with_columns(pl.lit(True).alias("_exists"))
        frame = (frame.join(texts, on="source_id", how="left")
                 .join(existing, on=["table_name", "row_id"], how="left"))
        checks = [
            (pl.col("char_end") <= pl.col("_len")).fill_null(False).alias("offsets_inside_document"),
            (pl.col("text").str.slice(pl.col("char_start"), pl.col("char_end") - pl.col("char_start"))
             == pl.col("evidence")).fill_null(False).alias("evidence_equals_document_text"),
            (pl.col("text").str.slice(pl.col("span_start"), pl.col("span_end") - pl.col("span_start"))
             == pl.col("span_text")).fill_null(False).alias("span_text_equals_document_text"),
            pl.col("_exists").fill_null(False).alias("row_id_exists_in_table_name"),
        ]
    elif spec.name in ("events", "policy_conditions", "quantities"):
        frame = frame.join(texts.select("source_id", "_len"), on="source_id", how="left")
        id_column = key[0]
        checks = [
            (pl.col("char_end") <= pl.col("_len")).fill_null(False).alias("offsets_inside_document"),
            pl.col(id_column).is_in(evidenced.get_column("row_id").implode()).alias("has_evidence"),
        ]
        if spec.name == "events":
            published = tables["sources"].select(
                "source_id", pl.col("published_at").dt.date().alias("_published"))
            frame = frame.join(published, on="source_id", how="left")
            for column in ("event_date", "date_start"):
                checks.append(
                    (pl.col(column).is_null() | pl.col("_published").is_null()
                     | (pl.col(column) <= pl.col("_published")))
                    .alias(f"{column}_not_after_publication"))
    elif spec.name == "actors":
        checks = [pl.col("actor_id").is_in(evidenced.get_column("row_id").implode()).alias("has_evidence")]
    elif spec.name == "sources":
        checks = [((pl.col("source_type") != "cited")
                   | pl.col("source_id").is_in(evidenced.get_column("row_id").implode()))
                  .alias("cited_source_has_evidence")]
    if not checks:
        return None
    return frame.select(*key, *checks)


def to_pandas_for_gx(spec: TableSpec | None, frame: pl.DataFrame) -> pd.DataFrame:
    """A pandas frame GX can check: nullable integers and booleans keep their kind."""
    data = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.Int64:
            data[name] = data[name].astype("Int64")
        elif dtype == pl.Boolean:
            data[name] = data[name].astype("boolean")
    return data


def _compact_result(suite_name: str, result: Any) -> dict[str, Any]:
    """The parts of a GX suite result people read: no value sets, at most a few example rows."""
    items = []
    for item in result.results:
        config = item.expectation_config
        res = item.result or {}
        kwargs = {k: v for k, v in config.kwargs.items() if k not in ("value_set", "batch_id")}
        if "value_set" in config.kwargs:
            kwargs["value_set_size"] = len(config.kwargs["value_set"])
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


class Gate:
    """Runs the suites of a catalog on a set of tables; each call gets its own ephemeral GX context."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or load_catalog()
        _quiet_gx()

    def _suites(self, tables: dict[str, pl.DataFrame], topic: Topic, baseline: dict[str, int] | None):
        """(suite name, expectations, pandas frame, key) for every table and its integrity checks."""
        for spec in self.catalog:
            key = list(spec.primary_key)
            yield (spec.name, table_expectations(spec, topic, tables, (baseline or {}).get(spec.name)),
                   to_pandas_for_gx(spec, tables[spec.name]), key, None)
            try:
                checks = integrity_frame(spec, tables)
            except pl.exceptions.PolarsError as exc:
                # Malformed tables (a missing column, a wrong type) already fail the table suite.
                yield f"{spec.name}.integrity", [], None, key, str(exc).splitlines()[0]
                continue
            if checks is not None:
                integrity = [
                    _named(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=[True]), name)
                    for name in checks.columns if name not in key
                ]
                yield f"{spec.name}.integrity", integrity, to_pandas_for_gx(None, checks), key, None

    def validate(self, tables: dict[str, pl.DataFrame], topic: Topic,
                 baseline: dict[str, int] | None = None, docs_dir: Path | None = None) -> GateReport:
        """Validate every table and the cross-table integrity; nothing is raised, all is reported."""
        started = time.perf_counter()
        missing = [name for name in self.catalog.tables if name not in tables]
        if missing:
            failure = Failure("release", "all_tables_present", None, None, detail=f"missing {missing}")
            return GateReport(False, [failure], [], 0, {}, time.perf_counter() - started)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        if docs_dir is not None:
            add_docs_site(context, docs_dir)
        source = context.data_sources.add_pandas("policytrace")
        failures: list[Failure] = []
        results: list[dict[str, Any]] = []
        count = 0
        for suite_name, expectations, data, key, error in self._suites(tables, topic, baseline):
            if error is not None:
                failures.append(Failure(suite_name, "integrity_checks_could_run", None, None, detail=error))
                continue
            count += len(expectations)
            batch = source.add_dataframe_asset(suite_name).add_batch_definition_whole_dataframe("all rows")
            suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=suite_name, validation_definitions=[definition], actions=[],
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": key,
                               "partial_unexpected_count": EXAMPLES_SHOWN,
                               "return_unexpected_index_query": False}))
            (result,) = checkpoint.run(batch_parameters={"dataframe": data}).run_results.values()
            failures += _failures(suite_name, result, key)
            results.append(_compact_result(suite_name, result))
        if docs_dir is not None:
            context.build_data_docs()
            make_docs_offline(docs_dir)
        return GateReport(
            success=not failures, failures=failures, results=results, expectation_count=count,
            row_counts={name: frame.height for name, frame in tables.items()},
            seconds=time.perf_counter() - started,
        )


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
