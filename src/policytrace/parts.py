"""Batch-by-batch table fragments on disk, assembled into the release files without holding them all."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from policytrace.schema import Catalog, load_catalog
from policytrace.writers import TableFileWriter

POSITION = "_doc"


class PartStore:
    """Table fragments of each batch, as `<work>/<table>/part-<batch>.parquet`."""

    def __init__(self, work_dir: Path, catalog: Catalog | None = None) -> None:
        self.work_dir = work_dir
        self.catalog = catalog or load_catalog()
        work_dir.mkdir(parents=True, exist_ok=True)

    def write(self, batch_index: int, frames: dict[str, pl.DataFrame]) -> None:
        """Store one batch's frames (document-ordered tables carry their `_doc` position)."""
        for name, frame in frames.items():
            folder = self.work_dir / name
            folder.mkdir(exist_ok=True)
            frame.write_parquet(folder / f"part-{batch_index:08d}.parquet", compression="lz4")

    def _parts(self, table: str) -> list[Path]:
        return sorted((self.work_dir / table).glob("part-*.parquet"))

    def actors(self) -> pl.DataFrame:
        """Actors merged across batches: counts summed, aliases united."""
        spec = self.catalog["actors"]
        parts = self._parts("actors")
        if not parts:
            return spec.empty_frame()
        merged = (
            pl.concat([pl.read_parquet(p) for p in parts], how="vertical")
            .group_by("actor_id", maintain_order=True)
            .agg(
                pl.col("name", "actor_type", "country", "wikidata_id", "is_registered").first(),
                pl.col("aliases").str.split(" | ").list.explode(keep_nulls=False).drop_nulls().unique().sort()
                .alias("_aliases"),
                pl.col("document_count").sum(),
                pl.col("mention_count").sum(),
            )
            .with_columns(
                pl.when(pl.col("_aliases").list.len() > 0)
                .then(pl.col("_aliases").list.join(" | ")).alias("aliases"))
            .drop("_aliases")
        )
        return spec.order_rows(spec.conform(merged))

    def assemble(self, folder: Path, row_group_rows: int = 100_000) -> dict[str, int]:
        """Write every table's Parquet and CSV into folder, streaming parts in batch order."""
        folder.mkdir(parents=True, exist_ok=True)
        counts = {}
        for spec in self.catalog:
            writer = TableFileWriter(spec, folder, row_group_rows)
            if spec.name == "actors":
                writer.write(self.actors())
            else:
                # Parts are in input order, and a document's rows are all in one part, already sorted.
                for part in self._parts(spec.name):
                    writer.write(spec.conform(pl.read_parquet(part).drop(POSITION, strict=False)))
            counts[spec.name] = writer.close()
        return counts

    def remove(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
