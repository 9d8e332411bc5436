"""Build hook: compiles the extractor's modules with mypyc when a C compiler is at hand, else leaves them pure Python.

The compiled modules give the same results as the Python source (tests/test_compiled.py checks it on the
development set) and run ~1.5x faster. The source files stay in the package beside them:
`policytrace.extract` falls back to the source, with a warning, when it has changed since it was compiled
(an edited checkout), and `POLICYTRACE_PURE_PYTHON=1` runs the source on purpose (profilers see its frames).

`POLICYTRACE_COMPILE=0` skips the compilation. A failed compilation warns and installs the pure Python
package: the tool works either way, only slower.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# The modules where extraction spends its time; model.py stays Python (its classes are pickled).
COMPILED_MODULES = ("text", "lexicon", "dates", "numbers", "actors", "extractor")
PACKAGE = "policytrace/extract"
# Modules the compiled code was type-checked against (mypyc checks those types at run time), so a
# change to them also makes the compiled files stale. Paths under src/.
CHECKED_AGAINST = ("policytrace/extract/model.py", "policytrace/extract/resources.py", "policytrace/ids.py",
                   "policytrace/topic.py", "policytrace/documents.py")
GROUP = "policytrace_extract"  # mypyc's shared library: <GROUP>__mypyc.<suffix>, at the top level
RECORD = "_compiled.json"  # what was compiled, from which source: read by policytrace.extract

# Run in a subprocess so that a compiler crash cannot take the build down. `--no-site-packages`:
# third-party types (spaCy's) become Any; checking spaCy's own code took ~100 s of the build.
_COMPILE = f"""
import sys
from mypyc.build import mypycify
from setuptools import setup
target, lib, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
extensions = mypycify(
    ["--ignore-missing-imports", "--follow-imports=silent", "--no-site-packages",
     "--cache-dir", target + "/mypy-cache", *modules],
    opt_level="3", debug_level="0", group_name="{GROUP}", target_dir=target,
)
setup(name="policytrace-extract", ext_modules=extensions,
      script_args=["build_ext", "--build-lib", lib, "--build-temp", target + "/temp"])
"""


def source_digests(src: Path) -> dict[str, str]:
    """sha256 of the sources the compiled files were made from, by path under src/: the compiled
    files are only valid for these."""
    paths = [f"{PACKAGE}/{name}.py" for name in COMPILED_MODULES] + list(CHECKED_AGAINST)
    return {path: hashlib.sha256((src / path).read_bytes()).hexdigest() for path in paths}


def compiled_files(lib: Path) -> list[Path]:
    """The extension files a build produced: one per module, and the group's shared library."""
    return sorted(path for path in lib.rglob("*") if path.is_file() and path.suffix in (".so", ".pyd"))


class CompileExtractor(BuildHookInterface):
    """Compiles the extractor for wheels (into the wheel) and editable installs (beside the source)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        src = Path(self.root) / "src"
        if version == "editable":
            # Compiled files from an earlier editable install would shadow the source: start clean.
            self._remove_in_place(src)
        # Kept until finalize(): a wheel's forced inclusions are read when the archive is written.
        self._work = work = Path(tempfile.mkdtemp(prefix="policytrace-mypyc-"))
        if os.environ.get("POLICYTRACE_COMPILE", "1").strip() in ("0", "false", "no"):
            self.app.display_info("policytrace: POLICYTRACE_COMPILE=0, the extractor stays pure Python")
            self._record(version, build_data, src, {"compiled": False, "reason": "POLICYTRACE_COMPILE=0"})
            return
        # read before compiling: an edit saved while the compiler runs must make the result stale
        sources = source_digests(src)
        lib, failure = self._compile(src, work)
        if lib is None:
            self.app.display_warning(f"policytrace: the extractor stays pure Python ({failure})")
            self._record(version, build_data, src, {"compiled": False, "reason": failure})
            return
        for path in compiled_files(lib):
            if version == "editable":
                shutil.copy2(path, src / path.relative_to(lib))
            else:
                build_data["force_include"][str(path)] = path.relative_to(lib).as_posix()
        if version != "editable":
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
        self._record(version, build_data, src, {
            "compiled": True, "compiler": "mypyc", "python": sys.version.split()[0],
            "modules": list(COMPILED_MODULES), "sources": sources,
        })
        self.app.display_info(f"policytrace: compiled {', '.join(COMPILED_MODULES)} with mypyc")

    def _record(self, version: str, build_data: dict[str, Any], src: Path, record: dict[str, Any]) -> None:
        """What the build did, for policytrace.extract (which code to load) and the tests."""
        text = json.dumps(record, indent=1) + "\n"
        if version == "editable":
            (src / PACKAGE / RECORD).write_text(text, encoding="utf-8")
        else:
            record_file = self._work / RECORD
            record_file.write_text(text, encoding="utf-8")
            build_data["force_include"][str(record_file)] = f"{PACKAGE}/{RECORD}"

    def clean(self, versions: list[str]) -> None:
        self._remove_in_place(Path(self.root) / "src")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def _compile(self, src: Path, work: Path) -> tuple[Path | None, str]:
        """Build the extensions into work/lib: (lib, "") or (None, why not)."""
        modules = [f"{PACKAGE}/{name}.py" for name in COMPILED_MODULES]
        lib = work / "lib"
        try:
            done = subprocess.run(
                [sys.executable, "-c", _COMPILE, str(work / "c"), str(lib), *modules],
                cwd=src, capture_output=True, text=True, timeout=1800,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"mypyc did not run: {error}"
        built = compiled_files(lib) if lib.is_dir() else []
        if done.returncode != 0 or len(built) != len(COMPILED_MODULES) + 1:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            return None, f"mypyc failed, exit {done.returncode}:\n{tail}"
        return lib, ""

    @staticmethod
    def _remove_in_place(src: Path) -> None:
        for path in [*(src / PACKAGE).glob("*.so"), *(src / PACKAGE).glob("*.pyd"), *src.glob(f"{GROUP}__mypyc*")]:
            path.unlink()
        (src / PACKAGE / RECORD).unlink(missing_ok=True)
