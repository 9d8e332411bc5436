"""The declarations in schemas/ and the topic's vocabularies are consistent, and the docs derive from them."""

from __future__ import annotations

from policytrace.metadata import render_data_dictionary
from policytrace.schema import load_catalog
from policytrace.topic import load_topic
from tests.conftest import ROOT


def test_every_declaration_is_complete_and_consistent():
    catalog = load_catalog()
    topic = load_topic()
    for spec in catalog:
        names = spec.column_names
        assert len(names) == len(set(names)), spec.name
        assert set(spec.primary_key) <= set(names)
        assert set(spec.sort_by) <= set(names)
        for fk in spec.foreign_keys:
            assert set(fk.fields) <= set(names)
            assert set(fk.reference_fields) <= set(catalog[fk.resource].column_names)
        for low, high in spec.ordered_columns:
            assert {low, high} <= set(names)
        for field in spec.fields:
            assert field.description, f"{spec.name}.{field.name} needs a description"
            if "vocabulary" in field.constraints:
                assert topic.vocabulary(field.constraints["vocabulary"]), field.name
        for key in spec.primary_key:
            assert spec.field(key).required, f"{spec.name}.{key} is a key and must be required"


def test_docs_data_dictionary_is_generated_from_the_declarations():
    committed = (ROOT / "docs" / "DATA_DICTIONARY.md").read_text(encoding="utf-8")
    assert committed == render_data_dictionary(load_catalog(), load_topic()), (
        "docs/DATA_DICTIONARY.md is stale: run `policytrace dictionary`")
