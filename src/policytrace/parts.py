"""Batch-by-batch table fragments on disk, assembled into the release files without holding them all.

Each batch's fragments are written by whichever process built them (a worker, or the flow's own
process). Rows carry `_doc`, the document's position in its batch, so that documents found to be
duplicates of earlier batches can be left out when the fragments are assembled, in batch order.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from pathlib import Path

import polars as pl

from policytrace.schema import Catalog, load_catalog
from policytrace.writers import TableFileWriter

POSITION = "_doc"
ACTOR_ATTRIBUTES = ("name", "actor_type", "country", "wikidata_id", "is_registered")


class PartStore:
    """Table fragments of each batch, as `<work>/<table>/part-<batch>.parquet`."""

    def __init__(self, work_dir: Path, catalog: Catalog | None = None) -> None:
        self.work_dir = work_dir
        self.catalog = catalog or load_catalog()
        # batch index -> positions (within the batch) of documents left out of the release
        self.excluded: dict[int, set[int]] = {}
        work_dir.mkdir(parents=True, exist_ok=True)

    def write(self, batch_index: int, frames: dict[str, pl.DataFrame]) -> None:
        """Store one batch's fragments (rows carry their document's `_doc` position)."""
        for name, frame in frames.items():
            folder = self.work_dir / name
            folder.mkdir(exist_ok=True)
            # Written under a temporary name and renamed: a part is either complete or absent.
            final = folder / f"part-{batch_index:08d}.parquet"
            temporary = folder / f".part-{batch_index:08d}.parquet.tmp"
            frame.write_parquet(temporary, compression="lz4")
            temporary.replace(final)

    def exclude(self, batch_index: int, positions: Iterable[int]) -> None:
        """Leave these documents of a batch (positions within the batch) out of every table."""
        self.excluded.setdefault(batch_index, set()).update(positions)

    def _parts(self, table: str) -> list[Path]:
        return sorted((self.work_dir / table).glob("part-*.parquet"))

    def _read(self, part: Path) -> pl.DataFrame:
        """One part, without the rows of excluded documents."""
        frame = pl.read_parquet(part)
        left_out = self.excluded.get(int(part.stem.split("-")[1]))
        if left_out and POSITION in frame.columns:
            frame = frame.filter(~pl.col(POSITION).is_in(sorted(left_out)))
        return frame

    def actors(self) -> pl.DataFrame:
        """Actors merged across the documents kept: counts summed, names seen united as aliases."""
        spec = self.catalog["actors"]
        merged: pl.DataFrame | None = None
        for part in self._parts("actors"):
            frame = self._read(part)
            if POSITION not in frame.columns:
                raise ValueError(f"{part} is not an actor fragment (no {POSITION} column)")
            # One row per actor and document: each counts one document.
            frame = frame.select("actor_id", *ACTOR_ATTRIBUTES, "aliases",
                                 pl.lit(1, pl.Int64).alias("document_count"), "mention_count")
            # Merged part by part: memory holds the actors, not a row per actor and document.
            merged = _merge_actors(frame if merged is None else pl.concat([merged, frame], how="vertical_relaxed"))
        if merged is None or not merged.height:
            return spec.empty_frame()
        # The canonical name is the one seen first; every other name is an alias.
        aliases = (merged.select("actor_id", "name", "aliases").explode("aliases")
                   .filter(pl.col("aliases").is_not_null() & (pl.col("aliases") != "")
                           & pl.col("aliases").ne_missing(pl.col("name")))
                   .group_by("actor_id")
                   .agg(pl.col("aliases").unique().sort().str.join(" | ")))
        merged = merged.drop("aliases").join(aliases, on="actor_id", how="left")
        return spec.order_rows(spec.conform(merged))

    def assemble(self, folder: Path, row_group_rows: int = 100_000, submit: Callable[..., Future] | None = None
                 ) -> dict[str, int]:
        """Write every table's Parquet and CSV into folder, streaming parts in batch order.

        submit (a process pool's): the tables are written in its workers, the largest first.
        """
        folder.mkdir(parents=True, exist_ok=True)
        if submit is None:
            return {spec.name: self.assemble_table(spec.name, folder, row_group_rows) for spec in self.catalog}
        sizes = {spec.name: sum(p.stat().st_size for p in self._parts(spec.name)) for spec in self.catalog}
        futures = {name: submit(self.assemble_table, name, folder, row_group_rows)
                   for name in sorted(sizes, key=lambda name: -sizes[name])}
        wait(futures.values())  # all of them, even if one failed: none may write after we return
        return {spec.name: futures[spec.name].result() for spec in self.catalog}

    def assemble_table(self, name: str, folder: Path, row_group_rows: int = 100_000) -> int:
        """Write one table's Parquet and CSV into folder; returns its rows."""
        spec = self.catalog[name]
        writer = TableFileWriter(spec, folder, row_group_rows)
        if spec.name == "actors":
            writer.write(self.actors())
        else:
            # Parts are in input order, and a document's rows are all in one part, already sorted.
            for part in self._parts(spec.name):
                writer.write(spec.conform(self._read(part).drop(POSITION, strict=False)))
        return writer.close()

    def remove(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


def _merge_actors(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per actor, in order of first appearance: first attributes, names united, counts summed."""
    return frame.group_by("actor_id", maintain_order=True).agg(
        pl.col(*ACTOR_ATTRIBUTES).first(),
        pl.col("aliases").explode().drop_nulls().unique(),
        pl.col("document_count").sum(),
        pl.col("mention_count").sum(),
    )
