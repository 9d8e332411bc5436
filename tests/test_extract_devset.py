"""The development set: scores must not drop below the recorded levels, evidence must be exact."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from policytrace.evaluate import KINDS, build_frames, evaluate
from policytrace.topic import load_topic

DEVSET = Path(__file__).parent / "devset"
RECORDED = DEVSET.parent / "devset_scores.json"
SEED = "000_f6ab4e6e68746e43"
# Scores are rounded to 4 decimals when recorded.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def report():
    return evaluate(DEVSET)


def test_overall_scores_do_not_drop_below_the_recorded_levels(report):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))["overall"]
    overall = report.overall
    drops = {
        kind: (round(overall[kind].f1, 4), recorded[kind]["f1"])
        for kind in KINDS
        if overall[kind].f1 < recorded[kind]["f1"] - TOLERANCE
    }
    assert not drops, f"F1 below the recorded level (now, recorded): {drops}"


def test_the_seed_scores_do_not_drop(report):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))["documents"][SEED]
    seed = next(d for d in report.documents if d.name == SEED)
    drops = {
        kind: (round(seed.kinds[kind].f1, 4), recorded[kind]["f1"])
        for kind in KINDS
        if seed.kinds[kind].f1 < recorded[kind]["f1"] - TOLERANCE
    }
    assert not drops, f"seed F1 below the recorded level (now, recorded): {drops}"


def test_every_facts_file_has_its_document(report):
    assert report.unmatched_facts == []


def test_the_seed_is_a_byte_copy_of_the_shipped_seed():
    shipped = Path(__file__).parent.parent / "seeds" / f"{SEED}.txt"
    assert (DEVSET / f"{SEED}.txt").read_bytes() == shipped.read_bytes()


def test_every_evidence_span_is_exact():
    frames = build_frames(DEVSET, load_topic())
    texts = dict(frames["document_texts"].select("source_id", "text").iter_rows())
    mentions = frames["mentions"]
    assert mentions.height > 0
    for row in mentions.iter_rows(named=True):
        text = texts[row["source_id"]]
        assert text[row["char_start"] : row["char_end"]] == row["evidence"]
        assert text[row["span_start"] : row["span_end"]] == row["span_text"]
    # every extracted row has evidence
    for table, key in (
        ("actors", "actor_id"),
        ("events", "event_id"),
        ("policy_conditions", "condition_id"),
        ("quantities", "quantity_id"),
    ):
        ids = set(frames[table][key].to_list())
        supported = set(mentions.filter(pl.col("table_name") == table)["row_id"].to_list())
        assert ids <= supported, f"{table} rows without evidence"
