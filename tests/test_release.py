"""Releases analysts can trust: reproducible, stable ids, atomic, spreadsheet-safe, well described."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from frictionless import validate as frictionless_validate
from typer.testing import CliRunner

from policytrace.cli import app
from policytrace.pipeline import run_in_process
from policytrace.publish import read_tables
from policytrace.schema import load_catalog
from policytrace.writers import read_csv, read_parquet
from tests.conftest import FIXTURES, ROOT, SEEDS

ID_COLUMNS = {"sources": "source_id", "actors": "actor_id", "events": "event_id",
              "policy_conditions": "condition_id", "quantities": "quantity_id", "mentions": "mention_id"}


def build(inputs: Path, output: Path):
    summary = run_in_process(inputs, output)
    assert summary.published, summary.failures
    return output / "latest"


def inputs_with(tmp_path: Path, *extra: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir(exist_ok=True)
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", folder)
    for path in extra:
        shutil.copy(path, folder)
    return folder


def test_two_builds_are_byte_identical(seed_release: Path, tmp_path: Path):
    again = build(SEEDS, tmp_path / "out")
    assert again.resolve().name == seed_release.resolve().name  # same content, same version
    for spec in load_catalog():
        assert (again / f"{spec.name}.csv").read_bytes() == (seed_release / f"{spec.name}.csv").read_bytes()
        assert pq.read_table(again / f"{spec.name}.parquet").equals(
            pq.read_table(seed_release / f"{spec.name}.parquet"))
    for name in ("datapackage.json", "croissant.json", "DATA_DICTIONARY.md", "CHANGELOG.md",
                 "figures/events_by_month.svg"):
        assert (again / name).read_bytes() == (seed_release / name).read_bytes(), name


def test_parquet_uses_logical_types(seed_release: Path):
    schema = pq.read_schema(seed_release / "sources.parquet")
    assert str(schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("text_length").type) == "int64"
    assert str(schema.field("source_type").type).startswith("dictionary<values=string")
    assert str(pq.read_schema(seed_release / "events.parquet").field("event_date").type) == "date32[day]"
    metadata = pq.ParquetFile(seed_release / "mentions.parquet").metadata
    column = metadata.row_group(0).column(0)
    assert column.compression == "ZSTD" and column.statistics is not None


def test_every_table_loads_the_same_from_both_formats_in_polars_pandas_and_duckdb(seed_release: Path):
    connection = duckdb.connect()
    for spec in load_catalog():
        parquet_path, csv_path = seed_release / f"{spec.name}.parquet", seed_release / f"{spec.name}.csv"
        from_parquet = read_parquet(spec, parquet_path)
        assert read_csv(spec, csv_path).equals(from_parquet), spec.name
        key = spec.primary_key[0]
        expected_keys = sorted(from_parquet.get_column(key).to_list())
        pandas_parquet = pd.read_parquet(parquet_path)
        pandas_csv = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        assert list(pandas_parquet.columns) == list(pandas_csv.columns) == spec.column_names
        assert sorted(pandas_csv[key]) == sorted(pandas_parquet[key]) == expected_keys
        for source in (f"read_parquet('{parquet_path}')", f"read_csv('{csv_path}', all_varchar=true)"):
            rows = connection.execute(f"SELECT {key} FROM {source} ORDER BY {key}").fetchall()
            assert [r[0] for r in rows] == expected_keys, (spec.name, source)


def test_csv_is_rfc4180_utf8_with_lf_and_header(seed_release: Path):
    for spec in load_catalog():
        data = (seed_release / f"{spec.name}.csv").read_bytes()
        assert b"\r\n" not in data and data.endswith(b"\n")
        header = data.decode("utf-8").split("\n", 1)[0]
        assert header == ",".join(spec.column_names)


def test_datapackage_validates_with_frictionless(seed_release: Path):
    report = frictionless_validate(seed_release / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads((seed_release / "datapackage.json").read_text())
    assert package["version"] == seed_release.resolve().name
    assert package["licenses"] and package["contributors"] and package["sources"]
    events = next(r for r in package["resources"] if r["name"] == "events")
    assert events["schema"]["primaryKey"] == ["event_id"]
    assert {"fields": ["source_id"], "reference": {"resource": "sources", "fields": ["source_id"]}} in \
        events["schema"]["foreignKeys"]
    assert events["hash"].startswith("sha256:") and events["bytes"] > 0


def test_frictionless_catches_a_tampered_file(seed_release: Path, tmp_path: Path):
    copy = tmp_path / "copy"
    shutil.copytree(seed_release.resolve(), copy)
    with open(copy / "actors.csv", "a", encoding="utf-8") as handle:
        handle.write("act_zzz,Nobody,robot,,,,true,1,1\n")
    assert not frictionless_validate(copy / "datapackage.json").valid


def test_croissant_describes_every_file_and_field(seed_release: Path):
    croissant = json.loads((seed_release / "croissant.json").read_text())
    assert croissant["@type"] == "sc:Dataset" and croissant["conformsTo"].startswith("http://mlcommons.org/croissant/1.")
    files = {d["contentUrl"]: d for d in croissant["distribution"]}
    sums = dict(reversed(line.split("  ")) for line in (seed_release / "SHA256SUMS").read_text().splitlines())
    for spec in load_catalog():
        for suffix in ("csv", "parquet"):
            assert files[f"{spec.name}.{suffix}"]["sha256"] == sums[f"{spec.name}.{suffix}"]
        record_set = next(r for r in croissant["recordSet"] if r["name"] == spec.name)
        assert [f["name"] for f in record_set["field"]] == spec.column_names


def _croissant_value(value, expected):
    """A value yielded by mlcroissant as Polars gives it from the Parquet file."""
    if value is None or (not isinstance(value, bytes) and pd.isna(value)):
        return None
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime() if isinstance(expected, datetime) else value.date()
    return value


def test_croissant_reads_every_record_set_with_mlcroissant(seed_release: Path):
    """One mlcroissant Dataset reads every table, as a user would: the rows of the Parquet file,
    in its order, with its values in every column, keys included (no cycle, no join adding rows)."""
    import mlcroissant

    dataset = mlcroissant.Dataset(jsonld=seed_release / "croissant.json")
    for spec in load_catalog():
        records = list(dataset.records(spec.name))
        expected = pl.read_parquet(seed_release / f"{spec.name}.parquet")
        assert len(records) == expected.height, spec.name
        for column in expected.columns:
            wanted = expected[column].to_list()
            got = [_croissant_value(row[f"{spec.name}/{column}"], value)
                   for row, value in zip(records, wanted, strict=True)]
            assert got == wanted, (spec.name, column)


def test_an_event_told_again_later_has_that_sentence_as_evidence_too(seed_release: Path):
    # The headline's "Russia Ends Amnesty Program ..." is told again as "this special rule has now
    # been discontinued, as reported by the BBC": one events row, whose date and attribution come
    # from the later sentence, which must be among the row's mentions.
    events = pl.read_parquet(seed_release / "events.parquet")
    headline = events.filter(pl.col("char_start") == 0).row(0, named=True)
    assert (headline["date_text"], headline["attribution"]) == ("now", "as reported by")
    evidence = pl.read_parquet(seed_release / "mentions.parquet").filter(
        pl.col("row_id") == headline["event_id"])["evidence"].to_list()
    assert any("now" in sentence and "as reported by" in sentence for sentence in evidence), evidence


def test_conditions_stated_in_one_sentence_are_told_apart_by_their_words(seed_release: Path):
    # "... only return from the front if they are severely wounded, receive high honors, reach the
    # maximum age or the war ends": four exit conditions, one sentence, one description.
    conditions = pl.read_parquet(seed_release / "policy_conditions.parquet")
    exits = conditions.filter(pl.col("condition_type") == "exit")
    assert exits["description"].n_unique() == 1 and exits.height == 4
    assert sorted(exits["condition_text"]) == ["high honors", "maximum age", "severely wounded", "war ends"]
    spans = pl.read_parquet(seed_release / "mentions.parquet").select(
        pl.col("row_id").alias("condition_id"), "span_text")
    joined = conditions.join(spans, on="condition_id")
    assert joined.height == conditions.height and (joined["condition_text"] == joined["span_text"]).all()


def test_checksums_cover_every_file(seed_release: Path):
    listed = {line.split("  ")[1] for line in (seed_release / "SHA256SUMS").read_text().splitlines()}
    present = {p.relative_to(seed_release.resolve()).as_posix()
               for p in seed_release.resolve().rglob("*") if p.is_file() and p.name != "SHA256SUMS"}
    assert listed == present


def test_adding_an_unrelated_document_changes_no_existing_id(seed_release: Path, tmp_path: Path):
    bigger = build(inputs_with(tmp_path, FIXTURES / "release" / "unrelated_tram.json"), tmp_path / "out")
    for table, column in ID_COLUMNS.items():
        before = set(pl.read_parquet(seed_release / f"{table}.parquet").get_column(column))
        after = set(pl.read_parquet(bigger / f"{table}.parquet").get_column(column))
        assert before <= after, table
    changelog = (bigger / "CHANGELOG.md").read_text()
    assert "First release" in changelog


def test_changed_document_is_a_changed_row_with_the_same_id(tmp_path: Path):
    article = json.loads((FIXTURES / "release" / "unrelated_tram.json").read_text())
    inputs = inputs_with(tmp_path)
    (inputs / "tram.json").write_text(json.dumps(article))
    first = build(inputs, tmp_path / "out").resolve()
    article["text"] = article["text"].replace("six weeks", "eight weeks")
    (inputs / "tram.json").write_text(json.dumps(article))
    second = build(inputs, tmp_path / "out").resolve()
    assert first != second and first.exists()  # the old release stays as it was
    source_id = pl.read_parquet(first / "sources.parquet").filter(
        pl.col("url") == article["url"]).get_column("source_id").item()
    changelog = (second / "CHANGELOG.md").read_text()
    assert f"Compared with release `{first.name}`" in changelog
    assert "### sources" in changelog and f"changed: `{source_id}`" in changelog
    # Which columns: the text's hashes and length, not its title or url.
    columns = next(line for line in changelog.split("### sources")[1].splitlines() if "columns that changed" in line)
    assert "`text_sha256`" in columns and "`text_length`" in columns and "`title`" not in columns
    result = CliRunner().invoke(app, ["diff", str(first), str(second)])
    assert result.exit_code == 0 and f"changed: `{source_id}`" in result.output


def test_formula_cells_are_neutralised_in_csv_only(tmp_path: Path):
    latest = build(inputs_with(tmp_path, FIXTURES / "release" / "formula_title.json"), tmp_path / "out")
    parquet = pl.read_parquet(latest / "sources.parquet").filter(pl.col("url").str.contains("cold-night"))
    assert parquet["title"].item().startswith("=HYPERLINK")
    assert parquet["author"].item() == "+Weather Desk"
    raw = pl.read_csv(latest / "sources.csv", infer_schema=False).filter(pl.col("url").str.contains("cold-night"))
    assert raw["title"].item().startswith("'=HYPERLINK") and raw["author"].item() == "'+Weather Desk"
    text = pl.read_csv(latest / "document_texts.csv", infer_schema=False)
    assert any(t.startswith("'-5 degrees") for t in text["text"])


def snapshot(latest: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in latest.iterdir() if p.is_file()}


# One kill point runs by default; the others take ~35 s each and run with `-m slow`.
@pytest.mark.parametrize("point", [pytest.param("after_tables", marks=pytest.mark.slow),
                                   pytest.param("before_release_rename", marks=pytest.mark.slow),
                                   pytest.param("after_release_rename", marks=pytest.mark.slow),
                                   "before_latest_swap"])
def test_kill_while_publishing_leaves_latest_on_previous_release(point: str, tmp_path: Path):
    output = tmp_path / "out"
    previous = build(SEEDS, output).resolve()
    before = snapshot(output / "latest")
    inputs = inputs_with(tmp_path, FIXTURES / "release" / "unrelated_tram.json")
    code = (f"from pathlib import Path; from policytrace.pipeline import run_in_process; "
            f"run_in_process(Path({str(inputs)!r}), Path({str(output)!r}))")
    process = subprocess.run([sys.executable, "-c", code], env={**os.environ, "POLICYTRACE_KILL_AT": point},
                             capture_output=True, timeout=300)
    assert process.returncode == -9, process.stderr.decode()[-2000:]
    assert (output / "latest").resolve() == previous
    assert snapshot(output / "latest") == before
    assert read_tables(output / "latest")["sources"].height >= 1
    # The next run cleans up and publishes normally.
    assert build(inputs, output).resolve() != previous
    assert not list(output.glob(".staging-*")) and not list(output.glob(".latest-*"))


def test_a_write_error_met_while_the_gate_runs_publishes_nothing(tmp_path: Path, monkeypatch):
    # The tables are written to disk on a thread while the gate runs. Linux reports a failed
    # write-back once, to the first fsync that asks: that fsync's error must stop the release,
    # even though the fsync before the rename (asking again) would find nothing wrong.
    import errno

    import policytrace.publish as publish_module

    output = tmp_path / "out"
    previous = build(SEEDS, output).resolve()
    before = snapshot(output / "latest")
    fsync_files = publish_module._fsync_files
    reported: list[list[Path]] = []

    def fsync_failing_once(paths: list[Path]) -> None:
        if not reported:
            reported.append(paths)
            raise OSError(errno.EIO, "Input/output error", str(paths[0]))
        fsync_files(paths)

    monkeypatch.setattr(publish_module, "_fsync_files", fsync_failing_once)
    with pytest.raises(OSError, match="Input/output error"):
        run_in_process(inputs_with(tmp_path, FIXTURES / "release" / "unrelated_tram.json"), output)
    assert reported and reported[0][0].suffix in (".parquet", ".csv")  # a table, by the thread
    assert (output / "latest").resolve() == previous
    assert snapshot(output / "latest") == before
    assert len(list((output / "releases").iterdir())) == 1


def test_shipped_dataset_matches_a_rebuild_from_seeds(seed_release: Path):
    shipped = ROOT / "output" / "latest"
    assert shipped.exists(), "output/latest is missing: run `policytrace run` and commit output/"
    for spec in load_catalog():
        rebuilt = pl.read_parquet(seed_release / f"{spec.name}.parquet")
        committed = pl.read_parquet(shipped / f"{spec.name}.parquet")
        assert committed.equals(rebuilt), (
            f"{spec.name} in output/ is stale: rebuild with `policytrace run` and commit output/")


def test_latest_is_a_copy_where_symlinks_are_not_allowed(tmp_path: Path, monkeypatch):
    def no_symlinks(*args, **kwargs):
        raise OSError("symbolic links are not allowed here")

    monkeypatch.setattr("policytrace.publish.os.symlink", no_symlinks)
    first = build(SEEDS, tmp_path / "out")
    assert first.is_dir() and not first.is_symlink()
    version = json.loads((first / "datapackage.json").read_text())["version"]
    assert (tmp_path / "out" / "releases" / version / "SHA256SUMS").read_bytes() == \
        (first / "SHA256SUMS").read_bytes()
    second = build(inputs_with(tmp_path, FIXTURES / "release" / "unrelated_tram.json"), tmp_path / "out")
    assert json.loads((second / "datapackage.json").read_text())["version"] != version
    assert not list((tmp_path / "out").glob(".latest-*"))


def test_parquet_layout_does_not_depend_on_how_rows_arrive(tmp_path: Path):
    # Row groups start at multiples of row_group_rows whatever the fragments' sizes (batch size,
    # task runner), and each is written from one contiguous chunk: the files are byte-identical.
    from policytrace.writers import TableFileWriter

    spec = load_catalog()["document_texts"]
    frame = pl.DataFrame({"source_id": [f"src_{i:016x}" for i in range(1000)],
                          "text": [f"text number {i} " * (1 + i % 7) for i in range(1000)]})
    files = []
    for number, sizes in enumerate(([1000], [37] * 27 + [1], [500, 499, 1], [3, 997])):
        folder = tmp_path / str(number)
        folder.mkdir()
        writer = TableFileWriter(spec, folder, row_group_rows=100)
        start = 0
        for size in sizes:
            writer.write(frame.slice(start, size))
            start += size
        assert writer.close() == 1000
        files.append(((folder / "document_texts.parquet").read_bytes(), (folder / "document_texts.csv").read_bytes()))
        assert pq.ParquetFile(folder / "document_texts.parquet").metadata.num_row_groups == 10
    assert all(f == files[0] for f in files)


def test_a_table_of_long_texts_is_written_in_smaller_row_groups(tmp_path: Path):
    # document_texts declares row groups of at most 10,000 rows (schemas/document_texts.yaml): a
    # row group is built in memory, and 100,000 texts took ~0.5 GB. Other tables keep the default.
    from policytrace.writers import TableFileWriter

    catalog = load_catalog()
    assert catalog["document_texts"].row_group_rows == 10_000 and catalog["sources"].row_group_rows is None
    rows = 25_000
    texts = pl.DataFrame({"source_id": [f"src_{i:016x}" for i in range(rows)], "text": ["A text."] * rows})
    writer = TableFileWriter(catalog["document_texts"], tmp_path)
    for start in range(0, rows, 200):
        writer.write(texts.slice(start, 200))
    assert writer.close() == rows
    metadata = pq.ParquetFile(tmp_path / "document_texts.parquet").metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [10_000, 10_000, 5_000]
    assert pl.read_csv(tmp_path / "document_texts.csv").height == rows
    event_actors = catalog["event_actors"]
    frame = pl.DataFrame({"event_id": [f"evt_{i:016x}" for i in range(rows)],
                          "actor_id": ["act_0000000000000000"] * rows, "role": ["agent"] * rows})
    writer = TableFileWriter(event_actors, tmp_path)
    writer.write(event_actors.conform(frame))
    writer.close()
    assert pq.ParquetFile(tmp_path / "event_actors.parquet").metadata.num_row_groups == 1


def test_row_ids_are_make_id_of_their_parts_and_occurrence():
    # Row ids join their text parts directly (the fast path) and must stay the ids make_id gives,
    # with a repeated key numbered by occurrence; a part that is not text is converted as make_id does.
    from policytrace.ids import make_id
    from policytrace.tables import _IdMaker

    new_id = _IdMaker()
    parts = ("src_0123456789abcdef", "pardons", "The ministry said pardons would end.")
    assert new_id("evt", *parts) == make_id("evt", *parts, 0)
    assert new_id("evt", *parts) == make_id("evt", *parts, 1)
    assert new_id("men", *parts) == make_id("men", *parts, 0)
    assert new_id("cnd", "src_0123456789abcdef", 2024, None, "a sentence") == \
        make_id("cnd", "src_0123456789abcdef", 2024, None, "a sentence", 0)
