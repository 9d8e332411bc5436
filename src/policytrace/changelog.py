"""Differences between two releases: rows added, removed and changed per table (by id), and schema changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

EXAMPLE_IDS = 10
# Changed rows whose columns are compared to say which columns changed (a bound on the work: an
# extractor upgrade can change every one of millions of mentions).
COLUMN_SAMPLE_ROWS = 10_000


@dataclass
class TableDiff:
    """Row-level differences of one table, by primary key: counts, and the first ids in sort order.

    Only the first EXAMPLE_IDS ids of each kind are kept (a first release adds every row; at
    100,000 documents that is millions of ids).
    """

    table: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    added_count: int = 0
    removed_count: int = 0
    changed_count: int = 0
    # Which columns differ in the changed rows (in the first COLUMN_SAMPLE_ROWS of them, by key hash).
    changed_columns: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added_count or self.removed_count or self.changed_count)


@dataclass
class ReleaseDiff:
    """All differences between an old and a new release."""

    old_version: str | None
    new_version: str
    tables: list[TableDiff]
    schema_changes: list[str]

    def render_markdown(self) -> str:
        lines = [f"# Changes in {self.new_version}", ""]
        if self.old_version is None:
            lines += ["First release: every row is new.", ""]
        else:
            lines += [f"Compared with release `{self.old_version}`.", ""]
        lines += ["## Schema changes", ""]
        lines += [f"- {change}" for change in self.schema_changes] or ["None."]
        lines += ["", "## Data changes", "", "| table | added | removed | changed |",
                  "| --- | ---: | ---: | ---: |"]
        for diff in self.tables:
            lines.append(f"| {diff.table} | {diff.added_count} | {diff.removed_count} | {diff.changed_count} |")
        for diff in self.tables:
            if diff.unchanged or self.old_version is None:
                continue
            lines += ["", f"### {diff.table}", ""]
            for label, ids, count in (("added", diff.added, diff.added_count),
                                      ("removed", diff.removed, diff.removed_count),
                                      ("changed", diff.changed, diff.changed_count)):
                if count:
                    shown = ", ".join(f"`{i}`" for i in ids[:EXAMPLE_IDS])
                    more = f" and {count - EXAMPLE_IDS} more" if count > EXAMPLE_IDS else ""
                    lines.append(f"- {label}: {shown}{more}")
            if diff.changed_columns:
                sampled = (f" (compared in {COLUMN_SAMPLE_ROWS:,} of the {diff.changed_count:,} changed rows)"
                           if diff.changed_count > COLUMN_SAMPLE_ROWS else "")
                columns = ", ".join(f"`{c}`" for c in diff.changed_columns)
                lines.append(f"- columns that changed: {columns}{sampled}")
        return "\n".join(lines) + "\n"


def _key(key: list[str]) -> pl.Expr:
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="/")


def _keyed_hashes(frame: pl.LazyFrame, key: list[str], columns: list[str]) -> pl.DataFrame:
    """Each row's key and values as two 64-bit hashes: all a diff needs, without holding whole tables."""
    return frame.select(
        _key(key).hash().alias("_k"),
        pl.struct([pl.col(c).cast(pl.String) for c in columns]).hash().alias("_h"),
    ).collect(engine="streaming")


def _first_keys(frame: pl.LazyFrame, key: list[str], hashes: pl.Series | None = None) -> list[str]:
    """The first EXAMPLE_IDS keys in sort order (of the rows whose key hash is in hashes, if given)."""
    keys = frame.select(_key(key).alias("_key"))
    if hashes is not None:
        keys = keys.filter(pl.col("_key").hash().is_in(hashes.implode()))
    return keys.sort("_key").head(EXAMPLE_IDS).collect(engine="streaming").get_column("_key").to_list()


def diff_table(table: str, key: list[str], old: pl.LazyFrame | None, new: pl.LazyFrame) -> TableDiff:
    """Rows added, removed and changed between two versions of a table."""
    diff = TableDiff(table)
    new_columns = new.collect_schema().names()
    if old is None:
        diff.added_count = new.select(pl.len()).collect().item()
        diff.added = _first_keys(new, key)
        return diff
    # Compare the columns both versions have, as text, so a type change alone is a schema change.
    shared = [c for c in new_columns if c in old.collect_schema().names()]
    old_rows, new_rows = _keyed_hashes(old, key, shared), _keyed_hashes(new, key, shared)
    added = new_rows.join(old_rows, on="_k", how="anti").get_column("_k")
    removed = old_rows.join(new_rows, on="_k", how="anti").get_column("_k")
    joined = new_rows.join(old_rows, on="_k", suffix="_old")
    changed = joined.filter(pl.col("_h") != pl.col("_h_old")).get_column("_k")
    del old_rows, new_rows, joined
    diff.added_count, diff.removed_count, diff.changed_count = len(added), len(removed), len(changed)
    diff.added = _first_keys(new, key, added) if len(added) else []
    diff.removed = _first_keys(old, key, removed) if len(removed) else []
    diff.changed = _first_keys(new, key, changed) if len(changed) else []
    if len(changed):
        diff.changed_columns = _changed_columns(old, new, key, shared, changed)
    return diff


def _changed_columns(old: pl.LazyFrame, new: pl.LazyFrame, key: list[str], columns: list[str],
                     changed: pl.Series) -> list[str]:
    """The columns (in table order) that differ in the changed rows, or in a sample of them."""
    picked = changed.sort().head(COLUMN_SAMPLE_ROWS).implode()
    values = [c for c in columns if c not in key]

    def rows(frame: pl.LazyFrame) -> pl.LazyFrame:  # filtered first: only the picked rows are cast
        return frame.with_columns(_key(key).hash().alias("_k")).filter(pl.col("_k").is_in(picked)).select(
            "_k", *[pl.col(c).cast(pl.String) for c in values])

    differs = rows(new).join(rows(old), on="_k", suffix="_old").select(
        [pl.col(c).ne_missing(pl.col(f"{c}_old")).any().alias(c) for c in values]).collect(engine="streaming")
    return [c for c in values if differs.get_column(c).item()]


def _fields(release: Path, table: str) -> dict[str, str]:
    path = release / f"{table}.parquet"
    if not path.exists():
        return {}
    schema = pq.read_schema(path)
    return {name: str(schema.field(name).type) for name in schema.names}


def _version(release: Path) -> str:
    package = release / "datapackage.json"
    if package.exists():
        return json.loads(package.read_text(encoding="utf-8")).get("version", release.name)
    return release.resolve().name


def _primary_key(release: Path, table: str) -> list[str] | None:
    package = release / "datapackage.json"
    if not package.exists():
        return None
    for resource in json.loads(package.read_text(encoding="utf-8"))["resources"]:
        if resource["name"] == table:
            return list(resource["schema"]["primaryKey"])
    return None


def diff_releases(old: Path | None, new: Path, new_version: str | None = None) -> ReleaseDiff:
    """Compare two release folders (old may be None for a first release)."""
    new_package = json.loads((new / "datapackage.json").read_text(encoding="utf-8")) \
        if (new / "datapackage.json").exists() else None
    tables = [r["name"] for r in new_package["resources"]] if new_package else sorted(
        p.stem for p in new.glob("*.parquet"))
    schema_changes: list[str] = []
    diffs = []
    old_tables = sorted(p.stem for p in old.glob("*.parquet")) if old else []
    for table in old_tables:
        if table not in tables:
            schema_changes.append(f"table `{table}` removed")
    for table in tables:
        key = _primary_key(new, table) or [pl.read_parquet_schema(new / f"{table}.parquet").names()[0]]
        new_frame = pl.scan_parquet(new / f"{table}.parquet")
        old_frame = None
        if old is not None and (old / f"{table}.parquet").exists():
            old_frame = pl.scan_parquet(old / f"{table}.parquet")
            before, after = _fields(old, table), _fields(new, table)
            for name in before.keys() - after.keys():
                schema_changes.append(f"`{table}.{name}` removed")
            for name in after.keys() - before.keys():
                schema_changes.append(f"`{table}.{name}` added ({after[name]})")
            for name in before.keys() & after.keys():
                if before[name] != after[name]:
                    schema_changes.append(f"`{table}.{name}` type {before[name]} -> {after[name]}")
        elif old is not None:
            schema_changes.append(f"table `{table}` added")
        diffs.append(diff_table(table, key, old_frame, new_frame))
    return ReleaseDiff(
        old_version=_version(old) if old else None,
        new_version=new_version or _version(new),
        tables=diffs,
        schema_changes=sorted(schema_changes),
    )
