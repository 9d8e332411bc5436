"""Locations of the declarations (schemas/, topics/) and the project's default folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_PACKAGE_DIR = Path(__file__).resolve().parent
# In a wheel, schemas/ and topics/ are copied into the package; in a checkout they sit at the root.
_BUNDLED = _PACKAGE_DIR / "_data"
PROJECT_ROOT = _PACKAGE_DIR.parent.parent


def _data_dir(name: str) -> Path:
    bundled = _BUNDLED / name
    if bundled.is_dir():
        return bundled
    return PROJECT_ROOT / name


SCHEMAS_DIR = _data_dir("schemas")
TOPICS_DIR = _data_dir("topics")
DEFAULT_TOPIC = "prison_recruitment"
DEFAULT_INPUT = Path("seeds")
DEFAULT_OUTPUT = Path("output")


# libyaml's parser (shipped in PyYAML's wheels) reads the same documents ~10x faster than the
# pure-Python one; every process reads the schemas and the topic at start.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse YAML as `yaml.safe_load` does, with libyaml where it is available."""
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
