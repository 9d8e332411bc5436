"""A topic's data files (vocabularies, actor registry, lexicons), loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from policytrace.ids import sha256_hex
from policytrace.paths import DEFAULT_TOPIC, TOPICS_DIR, load_yaml


@dataclass(frozen=True)
class Topic:
    """Everything topic-specific the pipeline knows, read from one folder of YAML files."""

    name: str
    path: Path
    meta: dict[str, Any]
    vocabularies: dict[str, dict[str, str]]
    files: dict[str, Any] = field(repr=False)
    fingerprint: str = ""

    def vocabulary(self, name: str) -> list[str]:
        """The allowed values of a vocabulary, in declared order."""
        return list(self.vocabularies[name])

    def data(self, name: str, default: Any = None) -> Any:
        """The parsed content of `<name>.yaml` in the topic folder."""
        return self.files.get(name, default)


def resolve_topic_path(topic: str | Path) -> Path:
    """A topic given by name (a folder under topics/) or by path."""
    path = Path(topic)
    if path.is_dir():
        return path
    candidate = TOPICS_DIR / str(topic)
    if candidate.is_dir():
        return candidate
    known = ", ".join(sorted(p.name for p in TOPICS_DIR.iterdir() if p.is_dir()))
    raise FileNotFoundError(f"no topic {topic!r} (a folder, or one of: {known})")


@cache
def load_topic(topic: str | Path = DEFAULT_TOPIC) -> Topic:
    """Read all YAML files of a topic; the fingerprint changes when any of them changes."""
    path = resolve_topic_path(topic)
    files: dict[str, Any] = {}
    digest_parts = []
    for file in sorted(path.glob("*.yaml")):
        content = file.read_text(encoding="utf-8")
        digest_parts.append(f"{file.name}\n{content}")
        files[file.stem] = load_yaml(content) or {}
    meta = files.get("topic", {})
    return Topic(
        name=meta.get("name", path.name),
        path=path,
        meta=meta,
        vocabularies=files.get("vocabularies", {}),
        files=files,
        fingerprint=sha256_hex("\n".join(digest_parts))[:16],
    )
