"""The table declarations in schemas/, and everything derived from them (Arrow schemas, casting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from policytrace.paths import SCHEMAS_DIR, load_yaml

# Declared type -> (Arrow type, polars type, Frictionless type). One place for the mapping.
_TYPES: dict[str, tuple[pa.DataType, Any, str]] = {
    "string": (pa.string(), pl.String, "string"),
    # Vocabulary columns stay plain strings in polars and are dictionary-encoded on the way to Arrow.
    "category": (pa.dictionary(pa.int32(), pa.string()), pl.String, "string"),
    "integer": (pa.int64(), pl.Int64, "integer"),
    "number": (pa.float64(), pl.Float64, "number"),
    "boolean": (pa.bool_(), pl.Boolean, "boolean"),
    "date": (pa.date32(), pl.Date, "date"),
    "datetime": (pa.timestamp("us", tz="UTC"), pl.Datetime("us", "UTC"), "datetime"),
}


class SchemaError(ValueError):
    """A table does not match its declaration, or a declaration is malformed."""


@dataclass(frozen=True)
class FieldSpec:
    """One declared column."""

    name: str
    type: str
    description: str
    constraints: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    @property
    def arrow_type(self) -> pa.DataType:
        return _TYPES[self.type][0]

    @property
    def polars_type(self) -> Any:
        return _TYPES[self.type][1]

    @property
    def frictionless_type(self) -> str:
        return _TYPES[self.type][2]


@dataclass(frozen=True)
class ForeignKey:
    """Columns of this table that reference columns of another (or the same) table."""

    fields: tuple[str, ...]
    resource: str
    reference_fields: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    """One declared table: its columns, keys and row order."""

    name: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    sort_by: tuple[str, ...]
    row_order: str = "key"  # "document": input order of documents first, then sort_by
    ordered_columns: tuple[tuple[str, str], ...] = ()
    # At most this many rows per Parquet row group (the writers' default otherwise): a table of
    # long texts would hold ~0.5 GB per 100,000 rows while a row group is built.
    row_group_rows: int | None = None

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema with column descriptions as field metadata.

        Fields stay nullable in the files: required columns are enforced by the validation gate,
        which names the offending rows, rather than by a writer error.
        """
        return pa.schema(
            [
                pa.field(f.name, f.arrow_type, nullable=True,
                         metadata={"description": f.description, "required": str(f.required).lower()})
                for f in self.fields
            ],
            metadata={"table": self.name, "description": self.description},
        )

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema={f.name: f.polars_type for f in self.fields})

    def conform(self, frame: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
        """Cast a frame to the declaration: exact columns in declared order, declared types.

        Columns named in `keep` (internal helpers such as the document position) are kept at the end.
        """
        missing = [c for c in self.column_names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in self.column_names and c not in keep]
        if missing or extra:
            raise SchemaError(f"table {self.name}: missing columns {missing}, unexpected columns {extra}")
        return frame.select(*(pl.col(f.name).cast(f.polars_type) for f in self.fields),
                            *(c for c in keep if c in frame.columns))

    def order_rows(self, frame: pl.DataFrame, position: str = "_doc") -> pl.DataFrame:
        """Sort rows into the declared order (document position first for document-ordered tables)."""
        keys = ([position] if self.row_order == "document" and position in frame.columns else [])
        keys += list(self.sort_by)
        if not keys or not frame.height:
            return frame
        return frame.sort(keys, nulls_last=True, maintain_order=True)

    def to_arrow(self, frame: pl.DataFrame) -> pa.Table:
        """Arrow table with the declared schema (vocabularies dictionary-encoded)."""
        table = self.conform(frame).to_arrow()
        columns = []
        for spec in self.fields:
            column = table.column(spec.name)
            if spec.type == "category":
                column = column.cast(pa.string()).dictionary_encode()
            columns.append(column.cast(spec.arrow_type))
        return pa.Table.from_arrays(columns, schema=self.arrow_schema())


def _parse_table(raw: dict[str, Any]) -> TableSpec:
    fields = tuple(
        FieldSpec(
            name=f["name"],
            type=f["type"],
            description=f.get("description", ""),
            constraints=dict(f.get("constraints") or {}),
        )
        for f in raw["fields"]
    )
    for spec in fields:
        if spec.type not in _TYPES:
            raise SchemaError(f"{raw['name']}.{spec.name}: unknown type {spec.type!r}")
    foreign_keys = tuple(
        ForeignKey(
            fields=tuple(fk["fields"]),
            resource=fk["reference"]["resource"],
            reference_fields=tuple(fk["reference"]["fields"]),
        )
        for fk in raw.get("foreign_keys") or []
    )
    return TableSpec(
        name=raw["name"],
        title=raw.get("title", raw["name"]),
        description=raw.get("description", "").strip(),
        fields=fields,
        primary_key=tuple(raw["primary_key"]),
        foreign_keys=foreign_keys,
        sort_by=tuple(raw["sort_by"] if "sort_by" in raw else raw["primary_key"]),
        row_order=raw.get("row_order", "key"),
        ordered_columns=tuple(tuple(pair) for pair in raw.get("ordered_columns") or []),
        row_group_rows=int(raw["row_group_rows"]) if raw.get("row_group_rows") else None,
    )


@dataclass(frozen=True)
class Catalog:
    """All table declarations plus the dataset-level metadata, in publishing order."""

    dataset: dict[str, Any]
    tables: dict[str, TableSpec]

    def __iter__(self):
        return iter(self.tables.values())

    def __getitem__(self, name: str) -> TableSpec:
        return self.tables[name]


@cache
def load_catalog(schemas_dir: Path = SCHEMAS_DIR) -> Catalog:
    """Read schemas/dataset.yaml and one YAML file per table."""
    dataset = load_yaml((schemas_dir / "dataset.yaml").read_text(encoding="utf-8"))
    tables = {}
    for name in dataset["tables"]:
        raw = load_yaml((schemas_dir / f"{name}.yaml").read_text(encoding="utf-8"))
        if raw["name"] != name:
            raise SchemaError(f"{name}.yaml declares table {raw['name']!r}")
        tables[name] = _parse_table(raw)
    return Catalog(dataset=dataset, tables=tables)
