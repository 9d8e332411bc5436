"""The validation gate: suites derived from the declarations catch each fault by name, and block publishing."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from policytrace.cli import app
from policytrace.datadocs import external_fetches
from policytrace.publish import publish, read_tables, write_tables
from policytrace.schema import load_catalog
from policytrace.topic import load_topic
from policytrace.validate import Gate, table_expectations


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file (and link target) below folder with its content hash."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            digest[relative] = "link:" + str(path.readlink())
        elif path.is_file():
            digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


@pytest.fixture(scope="module")
def published(tmp_path_factory, seed_release: Path) -> Path:
    """An output folder holding one good release (copied from the seed release)."""
    output = tmp_path_factory.mktemp("gate") / "output"
    version = seed_release.resolve().name
    shutil.copytree(seed_release.resolve(), output / "releases" / version)
    (output / "latest").symlink_to(Path("releases") / version)
    return output


def first_row_set(frame: pl.DataFrame, column: str, value) -> pl.DataFrame:
    index = pl.int_range(pl.len()) == 0
    return frame.with_columns(pl.when(index).then(pl.lit(value, dtype=frame.schema[column]))
                              .otherwise(pl.col(column)).alias(column))


def null_actor_id(t):
    t["actors"] = first_row_set(t["actors"], "actor_id", None)
    return "actors", "actor_id", "not_null"


def duplicate_mention(t):
    t["mentions"] = pl.concat([t["mentions"], t["mentions"].head(1)])
    return "mentions.integrity", "primary_key_unique", "primary_key_unique"


def dangling_source(t):
    t["mentions"] = first_row_set(t["mentions"], "source_id", "src_0000000000000000")
    return "mentions.integrity", "references_sources.source_id", "references_sources.source_id"


def unknown_actor_type(t):
    t["actors"] = first_row_set(t["actors"], "actor_type", "robot")
    return "actors", "actor_type", "in_vocabulary"


def evidence_mismatch(t):
    t["mentions"] = first_row_set(t["mentions"], "evidence", "A sentence the document never said.")
    return "mentions.integrity", "evidence_equals_document_text", "evidence_equals_document_text"


def event_after_article(t):
    assert t["events"].height, "the seed must yield events for this check"
    t["events"] = first_row_set(t["events"], "event_date", date(2031, 1, 1))
    t["events"] = first_row_set(t["events"], "date_start", date(2031, 1, 1))
    t["events"] = first_row_set(t["events"], "date_end", date(2031, 1, 31))
    return "events.integrity", "event_date_not_after_publication", "event_date_not_after_publication"


def event_before_floor(t):
    assert t["events"].height, "the seed must yield events for this check"
    t["events"] = first_row_set(t["events"], "event_date", date(1985, 6, 1))
    return "events", "event_date", "not_before_1990-01-01"


def event_date_out_of_range(t):
    # Beyond what pandas' nanosecond dates hold: the gate must still report, not crash.
    t["events"] = first_row_set(t["events"], "date_start", date(2500, 1, 1))
    return "events.integrity", "date_start_not_after_publication", "date_start_not_after_publication"


def negative_offset(t):
    t["mentions"] = first_row_set(t["mentions"], "span_start", -5)
    return "mentions", "span_start", "at_least_0"


def negative_count(t):
    t["actors"] = first_row_set(t["actors"], "mention_count", -3)
    return "actors", "mention_count", "at_least_1"


@pytest.mark.parametrize("fault", [null_actor_id, duplicate_mention, dangling_source, unknown_actor_type,
                                   evidence_mismatch, event_after_article, event_before_floor,
                                   event_date_out_of_range, negative_offset, negative_count])
def test_fault_is_caught_by_name_and_nothing_is_published(fault, published: Path, tmp_path: Path):
    before = tree_digest(published)
    tables = read_tables(published / "latest")
    suite, column, check = fault(tables)
    result = publish(tables, published, load_topic(), tmp_path / "report")
    assert not result.published
    caught = {(f.suite, f.column, f.check) for f in result.report.failures}
    assert (suite, column, check) in caught, caught
    failure = next(f for f in result.report.failures if f.check == check)
    assert failure.examples, "the failing row must be named by its primary key"
    assert tree_digest(published) == before
    saved = json.loads((tmp_path / "report" / "validation.json").read_text())
    assert saved["success"] is False and any(f["check"] == check for f in saved["failures"])
    assert (tmp_path / "report" / "data_docs" / "index.html").exists()


def test_row_count_baseline_is_enforced(published: Path, tmp_path: Path):
    tables = read_tables(published / "latest")
    baseline = {name: frame.height + 1 for name, frame in tables.items()}
    baseline["actors"] = tables["actors"].height  # exactly at the baseline is fine
    report = Gate().validate(tables, load_topic(), baseline)
    (failure,) = report.failures
    assert (failure.suite, failure.check) == ("release.row_counts", "row_count_at_least_baseline")
    assert failure.unexpected_count == len(baseline) - 1
    assert "actors" not in failure.examples and "events" in failure.examples
    events = tables["events"].height
    assert f"events has {events} rows, the baseline {events + 1}" in failure.describe()


def test_suites_are_derived_from_every_declared_column():
    topic = load_topic()
    for spec in load_catalog():
        expectations = table_expectations(spec, topic)
        checked = {e.column for e in expectations if hasattr(e, "column")}
        assert checked == set(spec.column_names), spec.name
        checks = {e.meta["check"] for e in expectations}
        assert "columns_match_declaration" in checks


def test_later_chunks_skip_only_the_checks_the_file_schema_decides(seed_release: Path, tmp_path: Path):
    tables = read_tables(seed_release)
    mentions = tables["mentions"]
    # 2,500 rows in 1,000-row chunks; a null in the third chunk must still be caught.
    mentions = pl.concat([mentions] * (2_500 // mentions.height + 1)).head(2_500)
    mentions = mentions.with_columns(pl.when(pl.int_range(pl.len()) == 2_200).then(None)
                                     .otherwise(pl.col("source_id")).alias("source_id"))
    tables["mentions"] = mentions
    folder = tmp_path / "release"
    write_tables(tables, folder, load_catalog())
    report = Gate(chunk_rows=500).validate_release(folder, load_topic())  # row suites: chunks of 1,000

    checks = {s["suite"]: {(r["check"], r["kwargs"].get("column")) for r in s["results"]}
              for s in report.results if s["suite"].startswith("mentions rows")}
    assert sorted(checks) == ["mentions rows 0-999", "mentions rows 1000-1999", "mentions rows 2000-2499"]
    first, later = checks["mentions rows 0-999"], checks["mentions rows 2000-2499"]
    assert ("columns_match_declaration", None) in first and ("type_is_string", "source_id") in first
    # what only the file's schema decides runs once; every value check runs on every chunk
    assert first - later == {c for c in first if c[0] == "columns_match_declaration"
                             or c[0] in {"type_is_string", "type_is_category", "type_is_integer",
                                         "type_is_number", "type_is_boolean"}}
    assert later < first
    failure = next(f for f in report.failures if f.suite == "mentions" and f.check == "not_null")
    assert failure.column == "source_id" and failure.unexpected_count == 1


def test_a_column_stored_in_another_type_is_type_checked_in_every_chunk(seed_release: Path, tmp_path: Path):
    tables = read_tables(seed_release)
    folder = tmp_path / "release"
    write_tables(tables, folder, load_catalog())
    quantities = pl.concat([tables["quantities"]] * (2_500 // tables["quantities"].height + 1)).head(2_500)
    # Int32 reaches GX as float64 in a chunk with a null (passing as a number), as int32 without.
    value = pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(7)
    quantities.with_columns(value.cast(pl.Int32).alias("value")).write_parquet(folder / "quantities.parquet")
    report = Gate(chunk_rows=500).validate_release(folder, load_topic())  # row suites: chunks of 1,000
    failure = next(f for f in report.failures if f.suite == "quantities" and f.check == "type_is_number")
    assert failure.column == "value"
    first = next(s for s in report.results if s["suite"] == "quantities rows 0-999")
    # the first chunk alone would have let it pass: the failure comes from the later chunks
    assert [r["success"] for r in first["results"]
            if r["check"] == "type_is_number" and r["kwargs"]["column"] == "value"] == [True]


def test_published_release_carries_offline_data_docs(seed_release: Path):
    docs = seed_release / "validation" / "data_docs"
    pages = list(docs.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        assert external_fetches(page.read_text(encoding="utf-8")) == [], page
    results = json.loads((seed_release / "validation" / "validation.json").read_text())
    assert results["success"] is True and results["expectation_count"] > 100


def test_the_gate_writes_data_docs_only_where_asked(published: Path, tmp_path: Path, monkeypatch):
    # GX's ephemeral context comes with a Data Docs site of its own in a new temporary folder;
    # building docs rendered it as well and left it there (4 MB per context, 18 contexts a run).
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    report = Gate().validate_release(published / "latest", load_topic(), docs_dir=tmp_path / "docs")
    assert report.success
    assert len(list((tmp_path / "docs").rglob("*.html"))) > 10
    assert list(temporary.iterdir()) == []


def test_validate_command_reports_failures(published: Path, tmp_path: Path):
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(published / "latest")])
    assert ok.exit_code == 0, ok.output
    broken = tmp_path / "broken"
    shutil.copytree(published / "latest", broken)
    actors = pl.read_parquet(broken / "actors.parquet")
    first_row_set(actors, "actor_type", "robot").write_parquet(broken / "actors.parquet")
    bad = runner.invoke(app, ["validate", str(broken), "--report-dir", str(tmp_path / "r")])
    assert bad.exit_code == 1
    assert "actors.actor_type: in_vocabulary" in bad.output
    assert (tmp_path / "r" / "validation.json").exists()
    assert (tmp_path / "r" / "data_docs" / "index.html").exists()

    events = pl.read_parquet(published / "latest" / "events.parquet").height
    (tmp_path / "high.json").write_text(json.dumps({"events": events + 5}), encoding="utf-8")
    short = runner.invoke(app, ["validate", str(published / "latest"), "--baseline", str(tmp_path / "high.json")])
    assert short.exit_code == 1
    assert f"events has {events} rows, the baseline {events + 5}" in short.output


def test_commands_given_something_that_is_not_a_release_say_so(published: Path, tmp_path: Path):
    runner = CliRunner()
    latest = str(published / "latest")
    for arguments, message in (
        (["validate", str(tmp_path / "missing")], "is not a folder"),
        (["validate", str(tmp_path)], "holds no release tables"),
        (["diff", latest, str(tmp_path / "missing")], "is not a folder"),
        (["baseline", str(tmp_path), "--file", str(tmp_path / "b.json")], "holds no release tables"),
        (["validate", latest, "--topic", "no_such_topic"], "no topic 'no_such_topic'"),
        (["run", "--input", latest, "--output", str(tmp_path / "o"), "--topic", "no_such_topic"], "no topic"),
        (["run", "--input", latest, "--output", str(tmp_path / "o"), "--task-runner", "bogus"], "unknown task runner"),
    ):
        result = runner.invoke(app, arguments)
        assert result.exit_code == 2 and message in result.output, (arguments, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
