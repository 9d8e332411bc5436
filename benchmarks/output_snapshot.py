"""Record, then compare, the whole output of ingest + extraction + TableBuilder on a corpus, so a
change meant only to make them faster can be shown to change nothing.

    python benchmarks/output_snapshot.py record /tmp/snap-dev.pkl tests/devset
    python benchmarks/output_snapshot.py record /tmp/snap-syn.pkl /tmp/spd-corpus --max-docs 1500
    ... change the code ...
    python benchmarks/output_snapshot.py compare /tmp/snap-syn.pkl /tmp/spd-corpus --max-docs 1500

The snapshot holds every field of every ingested Document (and its source_id / text_sha256), every
field of every `extract_document` result, and every row of the TableBuilder's fragments (the tables
a batch writes, actors per document) and of its merged actors table.
`compare` exits 1 and prints the first differences when anything differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


# 2: tables as the fragments' rows plus the merged actors table (1 held the builder's own rows).
SNAPSHOT_FORMAT = 2


def snapshot(folder: Path, max_docs: int | None) -> dict:
    """Everything the pipeline derives from the documents of a folder, as plain values."""
    from extract_speed import read_documents

    from policytrace.extract import extract_document
    from policytrace.paths import DEFAULT_TOPIC
    from policytrace.tables import TableBuilder
    from policytrace.topic import load_topic

    topic = load_topic(DEFAULT_TOPIC)
    builder = TableBuilder()
    documents, extractions = [], []
    for position, document in enumerate(read_documents([folder], max_docs)):
        documents.append((dataclasses.asdict(document), document.source_id, document.text_sha256))
        extraction = extract_document(document, topic)
        extractions.append(dataclasses.asdict(extraction))
        builder.add(document, extraction, position)
    return {
        "format": SNAPSHOT_FORMAT,
        "documents": documents,
        "extractions": extractions,
        "rows": {name: frame.to_dicts() for name, frame in builder.fragments().items()}
        | {"actors (merged)": builder.frames()["actors"].to_dicts()},
    }


def compare(expected: dict, got: dict) -> int:
    """The number of differing items (documents, extractions, fragment rows, tables)."""
    differences = 0
    for key in ("documents", "extractions"):
        if len(expected[key]) != len(got[key]):
            differences += 1
            print(f"DIFF {key}: {len(expected[key])} expected, {len(got[key])} got")
        for index, (left, right) in enumerate(zip(expected[key], got[key], strict=False)):
            if left != right:
                differences += 1
                if differences <= 5:
                    print(f"DIFF {key} #{index}\n  expected {str(left)[:400]}\n  got      {str(right)[:400]}")
    for table in sorted(set(expected["rows"]) | set(got["rows"])):
        if expected["rows"].get(table) != got["rows"].get(table):
            differences += 1
            print(f"DIFF table {table}")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("mode", choices=["record", "compare"])
    parser.add_argument("snapshot", type=Path, help="the snapshot file (pickle)")
    parser.add_argument("corpus", type=Path, help="corpus folder, e.g. tests/devset")
    parser.add_argument("--max-docs", type=int, default=None, help="read at most this many documents")
    options = parser.parse_args()
    result = snapshot(options.corpus, options.max_docs)
    rows = sum(len(rows) for rows in result["rows"].values())
    summary = f"{len(result['documents'])} documents, {rows} table rows"
    if options.mode == "record":
        options.snapshot.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        print(f"recorded {summary} to {options.snapshot}")
        return 0
    expected = pickle.loads(options.snapshot.read_bytes())
    if expected.get("format") != SNAPSHOT_FORMAT:
        print(f"{options.snapshot} was recorded in another format: record it again with the code to compare against")
        return 2
    differences = compare(expected, result)
    print(f"compared {summary}: {'identical' if not differences else f'{differences} differences'}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
