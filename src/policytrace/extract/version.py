"""The extractor's name and version, importable without loading the extractor (and spaCy)."""

EXTRACTOR_NAME = "policytrace.rules"
EXTRACTOR_VERSION = "1.8.0"
