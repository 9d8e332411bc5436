"""The gate on worker processes: the same report and failures as the serial gate, and a flow process without GX."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from policytrace import gate_units
from policytrace.publish import publish, read_tables, write_tables
from policytrace.schema import load_catalog
from policytrace.topic import load_topic
from policytrace.validate import Gate
from tests.conftest import ROOT, SEEDS
from tests.test_validation import evidence_mismatch, first_row_set


def comparable(report) -> str:
    """The report as validation.json holds it, less the time it took."""
    data = report.to_json()
    data.pop("seconds")
    return json.dumps(data, indent=2, sort_keys=True, default=gate_units._json_default)


def docs_pages(folder: Path) -> list[str]:
    """Data Docs pages, with the run time stamps (folders of validation pages) left out."""
    return sorted("/".join(p for p in page.relative_to(folder).parts if not p.endswith("Z"))
                  for page in folder.rglob("*.html"))


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


@pytest.fixture
def faulty_release(seed_release: Path, tmp_path: Path, monkeypatch) -> Path:
    """The seed release with two faults, cut into many small units (several per table)."""
    tables = read_tables(seed_release)
    evidence_mismatch(tables)
    tables["actors"] = first_row_set(tables["actors"], "actor_type", "robot")
    folder = tmp_path / "release"
    write_tables(tables, folder, load_catalog())
    monkeypatch.setattr(gate_units, "ROW_CHUNKS_PER_UNIT", 1)
    monkeypatch.setattr(gate_units, "INTEGRITY_CHUNKS_PER_UNIT", 1)
    return folder


def test_worker_gate_gives_the_serial_report_and_failures(faulty_release: Path, tmp_path: Path, pool):
    topic, baseline = load_topic(), {"actors": 1, "events": 10 ** 6}
    # 20-row chunks: every table's integrity checks come in several units.
    gate = Gate(chunk_rows=20)
    assert len(gate_units.plan_units(faulty_release, gate.catalog, 20, baseline)) > 2 * len(list(gate.catalog))
    serial = gate.validate_release(faulty_release, topic, baseline, tmp_path / "serial" / "data_docs")
    pooled = gate.validate_release(faulty_release, topic, baseline, tmp_path / "pooled" / "data_docs",
                                   submit=pool.submit)
    assert comparable(serial) == comparable(pooled)
    caught = {(f.suite, f.column, f.check) for f in pooled.failures}
    assert ("mentions.integrity", "evidence_equals_document_text", "evidence_equals_document_text") in caught
    assert ("actors", "actor_type", "in_vocabulary") in caught
    assert ("release.row_counts", None, "row_count_at_least_baseline") in caught
    assert docs_pages(tmp_path / "serial" / "data_docs") == docs_pages(tmp_path / "pooled" / "data_docs")
    assert not list(tmp_path.glob("*/.data_docs-units"))


def test_worker_gate_stops_a_table_whose_checks_cannot_run(seed_release: Path, tmp_path: Path, pool, monkeypatch):
    tables = read_tables(seed_release)
    tables["mentions"] = tables["mentions"].drop("source_id")  # malformed: integrity cannot run
    folder = tmp_path / "release"
    folder.mkdir()
    for spec in load_catalog():
        (tables[spec.name] if spec.name != "mentions" else tables["mentions"]).write_parquet(
            folder / f"{spec.name}.parquet")
    monkeypatch.setattr(gate_units, "INTEGRITY_CHUNKS_PER_UNIT", 1)
    gate = Gate(chunk_rows=20)
    serial = gate.validate_release(folder, load_topic())
    pooled = gate.validate_release(folder, load_topic(), submit=pool.submit)
    assert comparable(serial) == comparable(pooled)
    assert [f for f in pooled.failures if f.check == "integrity_checks_could_run"]


def test_failed_worker_gate_leaves_the_previous_release_untouched(seed_release: Path, tmp_path: Path, pool):
    output = tmp_path / "output"
    version = seed_release.resolve().name
    shutil.copytree(seed_release.resolve(), output / "releases" / version)
    (output / "latest").symlink_to(Path("releases") / version)
    before = sorted(p.relative_to(output).as_posix() for p in output.rglob("*"))
    tables = read_tables(output / "latest")
    evidence_mismatch(tables)
    result = publish(tables, output, load_topic(), tmp_path / "report", submit=pool.submit)
    assert not result.published
    assert any(f.check == "evidence_equals_document_text" for f in result.report.failures)
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*")) == before
    assert (tmp_path / "report" / "data_docs" / "index.html").exists()


FLOW_PROCESS_IMPORTS = """
import sys
from policytrace.pipeline import run_in_process

if __name__ == "__main__":
    summary = run_in_process(sys.argv[1], sys.argv[2], batch_size=8, workers=2)
    assert summary.published, summary.failures
    loaded = [m for m in ("great_expectations", "spacy", "pandas", "matplotlib") if m in sys.modules]
    print("LOADED", loaded)
"""


def test_flow_process_imports_neither_gx_nor_spacy_when_workers_validate(tmp_path: Path):
    script = tmp_path / "run.py"
    script.write_text(FLOW_PROCESS_IMPORTS)
    inputs = tmp_path / "in"
    shutil.copytree(ROOT / "tests" / "devset", inputs, ignore=shutil.ignore_patterns("*.facts.json", "README*"))
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", inputs / "seed_again.txt")
    finished = subprocess.run([sys.executable, str(script), str(inputs), str(tmp_path / "out")],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "LOADED []" in finished.stdout, finished.stdout
    latest = tmp_path / "out" / "latest"
    assert (latest / "figures" / "events_by_month.svg").exists()
    assert (latest / "validation" / "data_docs" / "index.html").exists()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the process's memory from /proc")
def test_the_gate_warm_up_gives_back_the_language_model(monkeypatch):
    # A worker's batches need the language model (~96 MB), its gate units do not: the warm-up
    # before the gate lets it go, so that the largest gate units peak without it.
    import os
    import weakref

    import policytrace.settings
    import policytrace.validate  # noqa: F401  (imported first: the warm-up's import must not count)
    from policytrace.ingest.common import detect_language
    from policytrace.ingest.language import language_scorer

    # Not in the test process: the warm-up also freezes the collector's objects for good.
    monkeypatch.setattr(policytrace.settings, "freeze_loaded", lambda: None)

    def resident_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    assert detect_language("The ministry said on Monday that the men were freed from the colony.") == "en"
    model = weakref.ref(language_scorer())
    with_model = resident_mb()
    gate_units.warm_worker()
    assert model() is None
    assert with_model - resident_mb() > 50
    # A batch retried after the warm-up loads the model again.
    assert detect_language("Das Gericht hat am Montag entschieden, dass die Männer frei sind.") == "de"
