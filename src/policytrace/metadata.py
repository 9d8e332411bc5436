"""Release metadata derived from the table declarations: datapackage.json, croissant.json, data dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from policytrace.schema import Catalog, FieldSpec, TableSpec
from policytrace.topic import Topic
from policytrace.writers import FORMULA_PREFIXES

_CROISSANT_TYPES = {
    "string": "sc:Text", "category": "sc:Text", "integer": "sc:Integer", "number": "sc:Float",
    "boolean": "sc:Boolean", "date": "sc:Date", "datetime": "sc:DateTime",
}


def field_constraints(spec: FieldSpec, topic: Topic) -> dict[str, Any]:
    """Frictionless constraints of a field (vocabulary names resolved to their values)."""
    constraints: dict[str, Any] = {}
    raw = spec.constraints
    for key in ("required", "unique", "pattern", "minimum", "maximum"):
        if key in raw:
            constraints[key] = raw[key]
    if "enum" in raw:
        constraints["enum"] = list(raw["enum"])
    if "vocabulary" in raw:
        constraints["enum"] = topic.vocabulary(raw["vocabulary"])
    if "min_date" in raw:
        constraints["minimum"] = raw["min_date"]
    return constraints


def allowed_values(spec: FieldSpec, topic: Topic) -> list[str] | None:
    """The values a vocabulary column may take, or None for a free column."""
    return field_constraints(spec, topic).get("enum")


def describe_constraints(spec: FieldSpec, topic: Topic) -> str:
    """A field's constraints in words, for the data dictionary."""
    constraints = field_constraints(spec, topic)
    if "enum" in constraints:
        return ", ".join(f"`{value}`" for value in constraints["enum"])
    words = []
    if "pattern" in constraints:
        words.append(f"pattern `{constraints['pattern']}`")
    if "minimum" in constraints:
        words.append(f"≥ {constraints['minimum']}")
    if spec.constraints.get("not_after_publication"):
        words.append("not after the document's publication")
    if constraints.get("unique"):
        words.append("unique")
    return "; ".join(words)


def table_schema(spec: TableSpec, topic: Topic) -> dict[str, Any]:
    """Frictionless Table Schema of a declared table."""
    schema: dict[str, Any] = {
        "fields": [
            {
                "name": f.name,
                "type": f.frictionless_type,
                **({"format": "%Y-%m-%dT%H:%M:%SZ"} if f.type == "datetime" else {}),
                "description": f.description,
                "constraints": field_constraints(f, topic),
            }
            for f in spec.fields
        ],
        "primaryKey": list(spec.primary_key),
        "missingValues": [""],
    }
    if spec.foreign_keys:
        schema["foreignKeys"] = [
            {"fields": list(fk.fields),
             "reference": {"resource": "" if fk.resource == spec.name else fk.resource,
                           "fields": list(fk.reference_fields)}}
            for fk in spec.foreign_keys
        ]
    return schema


def datapackage(catalog: Catalog, topic: Topic, version: str, files: dict[str, dict[str, Any]],
                sources: list[dict[str, str]]) -> dict[str, Any]:
    """A Frictionless Data Package describing the CSV resources (and the Parquet twins)."""
    meta = catalog.dataset
    resources = []
    for spec in catalog:
        csv_info = files[f"{spec.name}.csv"]
        resources.append({
            "profile": "tabular-data-resource",
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "path": f"{spec.name}.csv",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "bytes": csv_info["bytes"],
            "hash": f"sha256:{csv_info['sha256']}",
            "dialect": {"delimiter": ",", "lineTerminator": "\n", "header": True},
            "schema": table_schema(spec, topic),
            "rows": csv_info["rows"],
            # The same rows with exact values and Arrow types; not a separate resource so
            # validators check the data once.
            "parquet": {"path": f"{spec.name}.parquet",
                        "bytes": files[f"{spec.name}.parquet"]["bytes"],
                        "hash": f"sha256:{files[f'{spec.name}.parquet']['sha256']}"},
        })
    return {
        "profile": "tabular-data-package",
        "name": meta["name"],
        "title": meta["title"],
        "description": meta["description"].strip(),
        "version": version,
        "homepage": meta.get("homepage"),
        "licenses": meta["licenses"],
        "contributors": meta["contributors"],
        "keywords": [topic.name, "news", "events", "policy"],
        "sources": sources,
        "resources": resources,
    }


def render_data_dictionary(catalog: Catalog, topic: Topic, version: str | None = None) -> str:
    """DATA_DICTIONARY.md from the declarations and the topic vocabularies."""
    environment = Environment(
        loader=PackageLoader("policytrace", "templates"), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    template = environment.get_template("DATA_DICTIONARY.md.j2")
    return template.render(
        catalog=catalog, topic=topic, version=version,
        constraints=lambda f: describe_constraints(f, topic),
        formula_prefixes=", ".join(f"`{p!r}`".replace("'", "") for p in FORMULA_PREFIXES),
    )


def write_data_dictionary(path: Path, catalog: Catalog, topic: Topic, version: str | None = None) -> None:
    """Write DATA_DICTIONARY.md to path."""
    path.write_text(render_data_dictionary(catalog, topic, version), encoding="utf-8", newline="\n")


CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def croissant(catalog: Catalog, version: str, files: dict[str, dict[str, Any]],
              published: str | None) -> dict[str, Any]:
    """MLCommons Croissant 1.0 JSON-LD: the CSV and Parquet files, one record set per table.

    Each record set reads its table's Parquet file. mlcroissant reads a CSV with pandas'
    defaults, which turn text cells such as "NA" or "null" into missing values, digit-only
    text into numbers ("007" -> 7) and keep the apostrophe that neutralises formulas in the
    CSV; the Parquet twin holds the same rows with the exact values and types.

    Fields carry no `references` (foreign keys): mlcroissant turns every field with both
    `source` and `references` into a join that reads and merges the referenced record set,
    whatever the form. A table referencing itself (sources/cited_by_source_id) makes the
    operation graph cyclic, so no record set depending on it loads ("Graph contains a
    cycle"), and the join's cached intermediate results break later reads from the same
    `mlcroissant.Dataset` (a referenced record set read after a referencing one yields its
    column names as records; a second join fails on a spent generator). The foreign keys
    are declared in datapackage.json.
    """
    meta = catalog.dataset
    distribution = []
    record_sets = []
    for spec in catalog:
        for suffix, media_type in (("csv", "text/csv"), ("parquet", "application/x-parquet")):
            name = f"{spec.name}.{suffix}"
            distribution.append({
                "@type": "cr:FileObject", "@id": name, "name": name, "contentUrl": name,
                "encodingFormat": media_type, "sha256": files[name]["sha256"],
                "contentSize": f"{files[name]['bytes']} B",
            })
        fields = [
            {
                "@type": "cr:Field", "@id": f"{spec.name}/{f.name}", "name": f.name,
                "description": f.description, "dataType": _CROISSANT_TYPES[f.type],
                "source": {"fileObject": {"@id": f"{spec.name}.parquet"}, "extract": {"column": f.name}},
            }
            for f in spec.fields
        ]
        record_sets.append({
            "@type": "cr:RecordSet", "@id": spec.name, "name": spec.name,
            "description": spec.description, "field": fields,
            "key": [{"@id": f"{spec.name}/{k}"} for k in spec.primary_key],
        })
    document: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": meta["name"],
        "description": meta["description"].strip(),
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "citeAs": f"{meta['title']}, release {version}.",
        "license": meta["licenses"][0]["path"],
        "url": meta.get("homepage"),
        "version": version,
        "creator": [{"@type": "sc:Organization", "name": c["title"]} for c in meta["contributors"]],
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if published:
        document["datePublished"] = published
    return document
