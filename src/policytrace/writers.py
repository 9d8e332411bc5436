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


class TableFileWriter:
    """Streams one table into `<name>.parquet` and `<name>.csv`, in row groups of bounded size."""

    def __init__(self, spec: TableSpec, folder: Path, row_group_rows: int = 100_000) -> None:
        self.spec = spec
        self.row_group_rows = min(row_group_rows, spec.row_group_rows or row_group_rows)
        self.rows = 0
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self._parquet = pq.ParquetWriter(folder / f"{spec.name}.parquet", spec.arrow_schema(),
                                         compression="zstd", write_statistics=True, use_dictionary=True)
        self._csv = open(folder / f"{spec.name}.csv", "wb")  # noqa: SIM115 - closed in close()
        self._csv.write((",".join(spec.column_names) + "\n").encode("utf-8"))

    def write(self, frame: pl.DataFrame) -> None:
        """Add rows (already conformed and in order)."""
        if not frame.height:
            return
        self._pending.append(frame)
        self._pending_rows += frame.height
        if self._pending_rows >= self.row_group_rows:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        """Write whole row groups of `row_group_rows` rows (and, at the end, the rest).

        Row groups always start at multiples of `row_group_rows`, so the Parquet file is the same
        however the rows arrived (batch size, task runner).
        """
        if not self._pending:
            return
        chunk = pl.concat(self._pending, how="vertical", rechunk=False)
        whole = chunk.height if final else chunk.height - chunk.height % self.row_group_rows
        self._pending = [chunk.slice(whole)] if whole < chunk.height else []
        self._pending_rows = chunk.height - whole
        if not whole:
            return
        chunk = chunk.slice(0, whole).rechunk()
        self._parquet.write_table(self.spec.to_arrow(chunk), row_group_size=self.row_group_rows)
        csv_frame(self.spec, chunk).write_csv(
            self._csv, include_header=False, separator=",", line_terminator="\n",
            quote_style="necessary", null_value="", date_format="%Y-%m-%d",
            datetime_format=CSV_DATETIME_FORMAT)
        self.rows += chunk.height

    def close(self) -> int:
        """Finish both files; returns the number of rows written."""
        self._flush(final=True)
        self._parquet.close()
        self._csv.close()
        return self.rows


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
