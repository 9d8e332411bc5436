"""Extraction: a document's text to actors, events, conditions, quantities and citations."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import warnings
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policytrace.extract.version import EXTRACTOR_NAME, EXTRACTOR_VERSION

if TYPE_CHECKING:
    from policytrace.extract.extractor import extract_document

__all__ = ["EXTRACTOR_NAME", "EXTRACTOR_VERSION", "extract_document", "extractor_build"]

_HERE = Path(__file__).resolve().parent
# Written by the build (hatch_build.py) when it compiled the extractor's modules with mypyc.
_RECORD = _HERE / "_compiled.json"


# The modules the build may have compiled (hatch_build.COMPILED_MODULES; tests/test_compiled.py checks
# they agree); with anything but a valid, current record they load from source.
_COMPILABLE = ("text", "lexicon", "dates", "numbers", "actors", "extractor")
_SRC = _HERE.parent.parent  # src/ in a checkout, site-packages in an installation


class _SourceFinder(MetaPathFinder):
    """Loads the compilable modules from their .py source: Python prefers an extension module to a
    source file of the same name, and a mix of compiled and source modules must not happen (the
    compiled ones call each other directly)."""

    names = {f"{__name__}.{name}" for name in _COMPILABLE}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{fullname.rsplit('.', 1)[1]}.py")


def _changed_sources() -> list[str] | None:
    """The sources that changed since the build compiled them; None when nothing was compiled (no
    record, or one that cannot be read)."""
    try:
        sources: dict[str, str] = json.loads(_RECORD.read_text(encoding="utf-8"))["sources"]
        return [
            path for path, digest in sources.items()
            if hashlib.sha256((_SRC / path).read_bytes()).hexdigest() != digest
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _choose_build() -> str:
    """'compiled', 'source' (not compiled, or POLICYTRACE_PURE_PYTHON=1) or 'stale source' (a source
    changed since it was compiled); for the last two any compiled files are passed over."""
    changed = _changed_sources()
    if changed is None or os.environ.get("POLICYTRACE_PURE_PYTHON", "").strip() not in ("", "0"):
        build = "source"
    elif not changed:
        return "compiled"
    else:
        build = "stale source"
        warnings.warn(
            f"policytrace: {', '.join(Path(path).name for path in changed)} changed since the extractor was "
            "compiled: running the Python source (slower). Reinstall (pip install -e .) to compile it again.",
            stacklevel=2,
        )
    sys.meta_path.insert(0, _SourceFinder())
    return build


_BUILD = _choose_build()


def extractor_build() -> str:
    """How the extractor runs here: 'compiled' (mypyc), 'source', or 'stale source'."""
    if _BUILD == "compiled":
        # compiled for another Python: the import system takes the source
        spec = importlib.util.find_spec(f"{__name__}.extractor")
        if spec is None or str(spec.origin).endswith(".py"):
            return "source"
    return _BUILD


def __getattr__(name: str) -> Any:
    # The extractor loads spaCy (~90 MB): only on first use, so that reading the version does not.
    if name == "extract_document":
        from policytrace.extract.extractor import extract_document

        return extract_document
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
