"""Incremental runs: only new or changed documents are processed; removals show in the changelog."""

from __future__ import annotations

import shutil
from contextlib import closing
from pathlib import Path

import polars as pl
import yaml

from policytrace.paths import TOPICS_DIR
from policytrace.pipeline import run_in_process
from tests.conftest import FIXTURES, SEEDS


def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(FIXTURES / "formats", folder)
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", folder / "seed.txt")
    return folder


def test_rerun_reuses_unchanged_documents_and_redoes_changed_ones(tmp_path: Path):
    inputs, output = corpus(tmp_path), tmp_path / "out"
    first = run_in_process(inputs, output, batch_size=2)
    assert first.published and first.reused_extractions == 0
    unchanged = run_in_process(inputs, output, batch_size=2)
    assert unchanged.up_to_date and unchanged.version == first.version
    assert len(list((output / "releases").iterdir())) == 1

    text = (inputs / "wire_report.txt").read_text(encoding="utf-8")
    (inputs / "wire_report.txt").write_text(text.replace("two months after", "three months after"),
                                            encoding="utf-8")
    second = run_in_process(inputs, output, batch_size=2)
    assert second.published and second.version != first.version
    files = len(list(p for p in inputs.iterdir()))
    assert second.reused_files == files - 1  # every file but the edited one came from the store
    assert second.reused_extractions == first.documents - 1


def test_a_rerun_asking_for_more_than_the_latest_release_gives_builds_again(tmp_path: Path):
    inputs, output = corpus(tmp_path), tmp_path / "out"
    first = run_in_process(inputs, output, batch_size=2)
    assert first.published

    # A stricter baseline: the same tables are built and validated again, and fall short.
    stricter = run_in_process(inputs, output, batch_size=2,
                              baseline={"events": first.row_counts["events"] + 1})
    assert not stricter.up_to_date and not stricter.published
    assert any("row_count_at_least_baseline" in failure for failure in stricter.failures)
    # A baseline the release meets, the same inputs: nothing to do.
    assert run_in_process(inputs, output, baseline={"events": first.row_counts["events"]}).up_to_date

    # Another version name: the same tables published under it.
    named = run_in_process(inputs, output, batch_size=2, version="v-named")
    assert not named.up_to_date and named.published and named.version == "v-named"
    assert (output / "latest").resolve().name == "v-named"
    assert run_in_process(inputs, output, version="v-named").up_to_date

    # Without the stored results (--no-cache), everything is built again.
    rebuilt = run_in_process(inputs, output, batch_size=2, use_cache=False)
    assert not rebuilt.up_to_date and rebuilt.reused_files == rebuilt.reused_extractions == 0


def stored_results(output: Path) -> dict[str, int]:
    """Entries per kind in an output folder's result store."""
    import sqlite3

    with closing(sqlite3.connect(output / "cache" / "results.sqlite")) as store:
        return dict(store.execute("SELECT kind, count(*) FROM results GROUP BY kind").fetchall())


def age_stored_results(output: Path, days: float) -> None:
    """Make every entry of the result store look last used `days` earlier."""
    import sqlite3

    with closing(sqlite3.connect(output / "cache" / "results.sqlite")) as store, store:
        store.execute("UPDATE results SET used_at = used_at - ?", (days * 86400,))


def test_the_result_store_forgets_what_no_run_has_used_for_a_month(tmp_path: Path):
    inputs, output = corpus(tmp_path), tmp_path / "out"
    files = len(list(inputs.iterdir()))
    first = run_in_process(inputs, output, batch_size=2)
    assert stored_results(output) == {"ingest": files, "extract": first.documents}

    # A file removed, another edited: their old results stay for now (a run over part of the
    # input, or a feed that is down, must not cost the rest).
    (inputs / "explainer.md").unlink()
    text = (inputs / "wire_report.txt").read_text(encoding="utf-8")
    (inputs / "wire_report.txt").write_text(text.replace("two months after", "three months after"), encoding="utf-8")
    second = run_in_process(inputs, output, batch_size=2)
    assert second.published and stored_results(output) == {"ingest": files + 1, "extract": first.documents + 1}

    # A month later, the next published run keeps only what was used since.
    age_stored_results(output, 31)
    (inputs / "wire_report.txt").write_text(text.replace("two months after", "four months after"), encoding="utf-8")
    third = run_in_process(inputs, output, batch_size=2)
    assert third.published and third.reused_files == files - 2
    assert stored_results(output) == {"ingest": files - 1, "extract": third.documents}


def test_a_new_extractor_version_re_extracts_every_document_but_reads_no_file_again(tmp_path: Path, monkeypatch):
    from policytrace import pipeline

    inputs, output = corpus(tmp_path), tmp_path / "out"
    first = run_in_process(inputs, output)
    monkeypatch.setattr(pipeline, "EXTRACTOR_VERSION", f"{pipeline.EXTRACTOR_VERSION}+next")  # an upgrade
    upgraded = run_in_process(inputs, output)
    assert not upgraded.up_to_date and upgraded.published
    assert upgraded.reused_extractions == 0 and upgraded.reused_files == len(list(inputs.iterdir()))
    assert upgraded.documents == first.documents
    assert run_in_process(inputs, output).up_to_date


def test_topic_change_re_extracts(tmp_path: Path):
    inputs, output = corpus(tmp_path), tmp_path / "out"
    topic = tmp_path / "topic"
    shutil.copytree(TOPICS_DIR / "prison_recruitment", topic)
    assert run_in_process(inputs, output, topic_name=str(topic)).published
    registry = yaml.safe_load((topic / "actors.yaml").read_text(encoding="utf-8"))
    registry.append({"key": "northern_ledger", "name": "Northern Ledger", "type": "media_outlet"})
    (topic / "actors.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    from policytrace.topic import load_topic
    load_topic.cache_clear()
    second = run_in_process(inputs, output, topic_name=str(topic))
    assert not second.up_to_date and second.reused_extractions == 0
    assert second.reused_files == len(list(inputs.iterdir()))  # reading files needed no redoing
    actors = pl.read_parquet(output / "latest" / "actors.parquet")
    assert "Northern Ledger" in actors["name"].to_list()


def test_removed_document_disappears_and_changelog_says_so(tmp_path: Path):
    inputs, output = corpus(tmp_path), tmp_path / "out"
    run_in_process(inputs, output)
    before = pl.read_parquet(output / "latest" / "sources.parquet")
    removed_id = before.filter(pl.col("file_path") == "export.json")["source_id"].item()
    (inputs / "export.json").unlink()
    summary = run_in_process(inputs, output)
    assert summary.published
    after = pl.read_parquet(output / "latest" / "sources.parquet")
    assert removed_id not in after["source_id"].to_list()
    changelog = (output / "latest" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"removed: `{removed_id}`" in changelog


def test_output_to_an_fsspec_url_uploads_the_release_and_moves_the_pointer(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("POLICYTRACE_MIRROR_DIR", str(tmp_path / "mirrors"))
    inputs = corpus(tmp_path)
    bucket = tmp_path / "bucket"
    url = f"file://{bucket}"
    first = run_in_process(inputs, url)
    assert first.published
    assert (bucket / "LATEST").read_text().strip() == first.version
    uploaded = bucket / "releases" / first.version
    assert (uploaded / "SHA256SUMS").exists() and (bucket / "latest" / "sources.parquet").exists()
    sums = dict(reversed(line.split("  ")) for line in (uploaded / "SHA256SUMS").read_text().splitlines())
    import hashlib
    for name, digest in sums.items():
        assert hashlib.sha256((uploaded / name).read_bytes()).hexdigest() == digest, name
    # A second build from a fresh mirror starts from the remote's latest release.
    shutil.rmtree(tmp_path / "mirrors")
    (inputs / "export.json").unlink()
    second = run_in_process(inputs, url)
    assert (bucket / "LATEST").read_text().strip() == second.version != first.version
    changelog = (bucket / "latest" / "CHANGELOG.md").read_text()
    assert f"Compared with release `{first.version}`" in changelog


def test_a_release_rebuilt_from_changed_inputs_with_the_same_tables_is_then_up_to_date(tmp_path: Path):
    # A registry entry that no document mentions changes the topic (and so the inputs' fingerprint)
    # but not the tables: the run finds the release already published and points latest at it.
    # The release keeps its first ingest report, and the next run must still be a no-op.
    inputs, output = corpus(tmp_path), tmp_path / "out"
    topic = tmp_path / "topic"
    shutil.copytree(TOPICS_DIR / "prison_recruitment", topic)
    first = run_in_process(inputs, output, topic_name=str(topic))
    assert first.published
    registry = yaml.safe_load((topic / "actors.yaml").read_text(encoding="utf-8"))
    registry.append({"key": "nobody_here", "name": "Quillon Vantreese", "type": "person"})
    (topic / "actors.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    from policytrace.topic import load_topic
    load_topic.cache_clear()
    second = run_in_process(inputs, output, topic_name=str(topic))
    assert not second.up_to_date and second.published and second.version == first.version
    assert "already exists" in second.message
    third = run_in_process(inputs, output, topic_name=str(topic))
    assert third.up_to_date and third.version == first.version
    assert third.documents == second.documents and third.rejected == second.rejected
