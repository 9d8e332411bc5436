"""Table writers: Parquet (exact values, Arrow types) and spreadsheet-safe CSV, both from the declaration."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from policytrace.schema import TableSpec

# A CSV cell starting with one of these runs as a formula in spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def neutralise_formula(value: str | None) -> str | None:
    """Prefix a text cell that a spreadsheet would evaluate with an apostrophe (OWASP advice)."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def restore_formula(value: str | None) -> str | None:
    """Undo `neutralise_formula` (for readers that want the exact value from the CSV)."""
    if value and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def write_parquet(spec: TableSpec, frame: pl.DataFrame, path: Path) -> None:
    """Parquet with zstd, statistics, dictionary-encoded vocabularies and the declared types."""
    pq.write_table(
        spec.to_arrow(frame),
        path,
        compression="zstd",
        write_statistics=True,
        use_dictionary=True,
        row_group_size=100_000,
    )


def csv_frame(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as it goes into the CSV: conformed, text cells neutralised against formulas."""
    frame = spec.conform(frame)
    text_columns = [f.name for f in spec.fields if f.type in ("string", "category")]

    def is_formula(name: str) -> pl.Expr:
        return pl.any_horizontal(pl.col(name).str.starts_with(p) for p in FORMULA_PREFIXES)

    return frame.with_columns(
        pl.when(is_formula(name))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def write_csv(spec: TableSpec, frame: pl.DataFrame, path: Path) -> None:
    """RFC 4180 CSV: UTF-8, comma, header, ISO 8601 dates, empty field for null, LF line ends."""
    csv_frame(spec, frame).write_csv(
        path,
        include_header=True,
        separator=",",
        line_terminator="\n",
        quote_style="necessary",
        null_value="",
        date_format="%Y-%m-%d",
        datetime_format=CSV_DATETIME_FORMAT,
    )


def read_parquet(spec: TableSpec, path: Path) -> pl.DataFrame:
    """Read a published Parquet table back into the declared polars types."""
    return spec.conform(pl.read_parquet(path))


def read_csv(spec: TableSpec, path: Path) -> pl.DataFrame:
    """Read a published CSV back into the declared types, undoing the formula neutralisation."""
    frame = pl.read_csv(path, infer_schema=False, null_values=[""])
    columns = []
    for f in spec.fields:
        column = pl.col(f.name)
        if f.type in ("string", "category"):
            column = column.map_elements(restore_formula, return_dtype=pl.String)
        elif f.type == "date":
            column = column.str.to_date("%Y-%m-%d")
        elif f.type == "datetime":
            column = column.str.to_datetime(CSV_DATETIME_FORMAT, time_unit="us", time_zone="UTC")
        elif f.type == "boolean":
            column = column.replace_strict({"true": True, "false": False}, default=None,
                                           return_dtype=pl.Boolean)
        else:
            column = column.cast(f.polars_type)
        columns.append(column.alias(f.name))
    return frame.select(columns)
