"""The compiled extractor (mypyc, hatch_build.py): in use where it was built, same results as the source."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import policytrace
import policytrace.extract
from policytrace.extract import extractor_build

TESTS = Path(__file__).parent
DEVSET = TESTS / "devset"

# Extracts the development set and pickles the results; run in a subprocess with the source forced.
_EXTRACT = """
import pickle, sys
from pathlib import Path
from policytrace.extract import extract_document, extractor_build
from policytrace.ingest import ingest_folder
from policytrace.topic import load_topic
topic = load_topic("prison_recruitment")
results = [extract_document(document, topic) for document in ingest_folder(Path(sys.argv[1])).documents]
Path(sys.argv[2]).write_bytes(pickle.dumps((extractor_build(), results)))
"""

compiled_only = pytest.mark.skipif(
    extractor_build() != "compiled", reason="the extractor was not compiled in this installation"
)


def _extract_devset(tmp_path: Path, **env: str) -> tuple[str, list]:
    out = tmp_path / f"devset-{len(list(tmp_path.iterdir()))}.pkl"
    subprocess.run(
        [sys.executable, "-c", _EXTRACT, str(DEVSET), str(out)],
        check=True, env={**os.environ, **env}, timeout=600,
    )
    return pickle.loads(out.read_bytes())


def _build_record() -> dict:
    """What the install's build hook did (hatch_build.py writes it beside the extractor)."""
    path = policytrace.extract._RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def test_an_installation_with_a_c_compiler_runs_the_compiled_extractor():
    import policytrace.extract.extractor as module

    record = _build_record()
    if record.get("reason") == "POLICYTRACE_COMPILE=0":
        pytest.skip("installed with POLICYTRACE_COMPILE=0")
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler: the install keeps the extractor pure Python")
    if extractor_build() == "stale source":
        pytest.skip("the extractor's source was edited since the install compiled it: reinstall to compile")
    assert record.get("compiled"), f"the install did not compile the extractor: {record.get('reason', 'no build record')}"
    assert extractor_build() == "compiled"
    assert not module.__file__.endswith(".py")
    # hatch_build.py's list of compiled modules and the one the package falls back on must agree
    assert record["modules"] == list(policytrace.extract._COMPILABLE)


@compiled_only
def test_the_compiled_extractor_gives_what_the_source_gives_on_the_devset(tmp_path):
    compiled_build, compiled = _extract_devset(tmp_path)
    source_build, source = _extract_devset(tmp_path, POLICYTRACE_PURE_PYTHON="1")
    assert (compiled_build, source_build) == ("compiled", "source")
    assert len(compiled) == len(source) > 20
    assert sum(len(extraction.events) for extraction in compiled) > 50
    # repr, not ==: 20000 == 20000.0, but a cached record should not depend on the build
    for compiled_extraction, source_extraction in zip(compiled, source, strict=True):
        assert repr(compiled_extraction) == repr(source_extraction), compiled_extraction.source_id


@compiled_only
@pytest.mark.parametrize("edited", ["extract/text.py", "ids.py"])
def test_an_edited_source_is_run_instead_of_the_stale_compiled_module(tmp_path, edited):
    # a copy of the installed package, with its compiled files, and one source file edited: a
    # compiled module, or a module the compiled code was type-checked against
    package = Path(policytrace.__file__).parent
    copy = tmp_path / "site"
    shutil.copytree(package, copy / "policytrace", ignore=shutil.ignore_patterns("__pycache__"))
    for shared in package.parent.glob("policytrace_extract__mypyc*"):
        shutil.copy2(shared, copy / shared.name)
    source = copy / "policytrace" / edited
    source.write_text(source.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    probe = (
        "import sys, policytrace.extract as e, policytrace.extract.extractor as x, policytrace.extract.text as t;"
        "print(e.extractor_build(), x.__file__, t.__file__, 'policytrace_extract__mypyc' in sys.modules, sep='|')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(copy)},
    )
    build, extractor_file, text_file, shared_loaded = done.stdout.strip().split("|")
    assert build == "stale source"
    assert extractor_file.startswith(str(copy)) and extractor_file.endswith("extractor.py")
    assert text_file.endswith("text.py")
    assert shared_loaded == "False"  # no compiled code at all, not a mix
    assert f"{Path(edited).name} changed since the extractor was compiled" in done.stderr
