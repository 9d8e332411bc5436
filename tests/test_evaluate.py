"""Tests of the evaluation: matching rules, scores, document look-up, release mode, command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from policytrace.evaluate import (
    KindScore,
    Predicted,
    build_frames,
    date_window,
    evaluate,
    evaluate_command,
    max_matching,
    resolve_policy,
    score_document,
    unit_class,
)
from policytrace.topic import load_topic

ARTICLE = """Wagner recruits inmates for six months at the front

Written by Test Writer

Sep.16 - 2022 10:48 AM CEST

Wagner's founder Yevgeny Prigozhin toured penal colonies in August, offering inmates a pardon after six months at the front. Prigozhin claimed that 50,000 prisoners had joined Wagner.

Kremlin spokesman Dmitry Peskov declined to comment on Thursday.
"""

FACTS = {
    "id": "t01",
    "url": None,
    "publisher": None,
    "title": "Wagner recruits inmates for six months at the front",
    "published": "2022-09-16",
    "author": "Test Writer",
    "actors": [
        {
            "name": "Yevgeny Prigozhin",
            "type": "person",
            "aliases": ["Prigozhin", "Wagner's founder"],
        },
        {"name": "Wagner Group", "type": "armed_group", "aliases": ["Wagner"]},
        {
            "name": "Russian prisoners",
            "type": "population_group",
            "aliases": ["inmates", "prisoners"],
        },
        {"name": "Dmitry Peskov", "type": "person", "aliases": ["Dmitry Peskov"]},
        {"name": "Kremlin", "type": "government_body", "aliases": ["Kremlin"]},
        {"name": "Olga Romanova", "type": "person", "aliases": ["Olga Romanova"]},
    ],
    "events": [
        {
            "type": "recruitment",
            "date": "2022-08",
            "actors": ["Yevgeny Prigozhin", "Russian prisoners"],
            "summary": "Prigozhin toured colonies recruiting inmates",
        },
        {
            "type": "statement",
            "date": None,
            "actors": ["Yevgeny Prigozhin"],
            "summary": "50,000 joined",
        },
        {
            "type": "mutiny",
            "date": "2023-06",
            "actors": ["Yevgeny Prigozhin"],
            "summary": "not in text",
        },
    ],
    "policy_conditions": [
        {
            "policy": "Wagner prisoner recruitment",
            "type": "obligation",
            "summary": "six months",
            "value": 6,
            "unit": "month",
        },
        {
            "policy": "Wagner prisoner recruitment",
            "type": "benefit",
            "summary": "a pardon",
            "value": None,
            "unit": None,
        },
    ],
    "cited_sources": ["Yevgeny Prigozhin", "Dmitry Peskov"],
    "quantities": [
        {"value": 50000, "unit": "prisoners", "about": "joined", "claimant": "Yevgeny Prigozhin"}
    ],
}


@pytest.fixture
def facts_folder(tmp_path: Path) -> Path:
    (tmp_path / "t01_article.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "t01_article.facts.json").write_text(json.dumps(FACTS), encoding="utf-8")
    return tmp_path


# --- building blocks -----------------------------------------------------------------------------
def test_max_matching_finds_the_assignment_greedy_matching_misses():
    golds, predictions = ["a", "b"], ["x", "y"]
    allowed = {("a", "x"), ("a", "y"), ("b", "x")}
    pairs = max_matching(golds, predictions, lambda g, p: (g, p) in allowed)
    assert pairs == {0: 1, 1: 0}


def test_kind_score_precision_recall_f1():
    score = KindScore(true_positives=3, false_positives=1, false_negatives=2)
    assert (score.precision, score.recall) == (0.75, 0.6)
    assert score.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert KindScore().f1 == 1.0  # nothing expected, nothing found


def test_date_windows_and_unit_classes():
    assert date_window("2023") == (date(2023, 1, 1), date(2023, 12, 31))
    assert date_window("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert date_window(None) is None
    assert unit_class("months") == unit_class("month") == "month"
    assert unit_class("former inmates") == unit_class("prisoners") == "people"
    assert unit_class("criminal cases") == "case"
    assert unit_class("employees") == unit_class("people") == "people"


def test_free_text_policy_names_resolve_to_topic_policies():
    topic = load_topic()
    assert resolve_policy("Storm V convict contracts", topic) == "storm_v_contracts"
    assert (
        resolve_policy("Wagner freedom-for-service offer to inmates", topic)
        == "wagner_pardon_for_service"
    )
    assert resolve_policy("cargo-bike purchase subsidy", topic) is None
    # "contracts" alone does not make a policy the Storm V one
    assert resolve_policy("military contracts for criminal suspects", topic) == "suspect_contracts"
    assert (
        resolve_policy("military contracts offered to women convicts", topic)
        == "women_prisoner_recruitment"
    )


def test_scoring_rules_on_hand_made_predictions():
    topic = load_topic()
    gold = {
        "actors": FACTS["actors"][:2],
        "events": FACTS["events"][:1],
        "policy_conditions": FACTS["policy_conditions"][:1],
        "cited_sources": [],
        "quantities": FACTS["quantities"],
    }
    names_prigozhin = frozenset({"yevgeny prigozhin", "prigozhin"})
    predicted = Predicted(
        metadata={},
        actors=[
            {"id": "a1", "label": "Yevgeny Prigozhin", "names": names_prigozhin},
            {"id": "a2", "label": "Syria", "names": frozenset({"syria"})},
        ],
        events=[
            {
                "event_type": "recruitment",
                "date_start": date(2022, 8, 1),
                "date_end": date(2022, 8, 31),
                "event_date": date(2022, 8, 1),
                "actor_names": [names_prigozhin],
                "actor_labels": ["Yevgeny Prigozhin"],
                "trigger": "toured",
                "description": "x",
            },
            {
                "event_type": "recruitment",
                "date_start": date(2021, 1, 1),
                "date_end": date(2021, 12, 31),
                "event_date": date(2021, 1, 1),
                "actor_names": [names_prigozhin],
                "actor_labels": ["Yevgeny Prigozhin"],
                "trigger": "toured",
                "description": "incompatible date",
            },
        ],
        conditions=[
            {
                "condition_type": "obligation",
                "policy_key": "storm_v_contracts",
                "policy_name": "Storm V convict contracts",
                "value": 6.0,
                "unit": "month",
                "description": "wrong policy",
            }
        ],
        quantities=[
            {"value": 50000.0, "unit": "convicts", "text": "50,000 convicts"},
            {"value": 50000.0, "unit": "month", "text": "50,000 months"},
        ],
        cited=[],
    )
    scores = score_document(gold, predicted, topic)
    assert (
        scores["actors"].true_positives,
        scores["actors"].false_positives,
        scores["actors"].false_negatives,
    ) == (1, 1, 1)
    assert scores["actors"].missed == ["Wagner Group (armed_group)"]
    assert (scores["events"].true_positives, scores["events"].false_positives) == (1, 1)
    assert scores["policy_conditions"].true_positives == 0  # same type and value, other policy
    assert (scores["quantities"].true_positives, scores["quantities"].false_positives) == (1, 1)
    assert scores["metadata"].false_negatives == 0 and scores["metadata"].true_positives == 0


# --- whole evaluation ----------------------------------------------------------------------------
def test_in_process_evaluation_of_a_folder(facts_folder: Path):
    report = evaluate(facts_folder)
    assert report.unmatched_facts == []
    (document,) = report.documents
    assert document.name == "t01_article"
    kinds = document.kinds
    assert kinds["metadata"].f1 == 1.0
    assert kinds["actors"].true_positives >= 4
    assert "Olga Romanova (person)" in kinds["actors"].missed
    assert any(item.startswith("mutiny") for item in kinds["events"].missed)
    assert kinds["quantities"].true_positives == 1
    assert 0 < report.overall["events"].f1 < 1


def test_release_mode_reads_parquet_tables_and_gives_the_same_scores(
    facts_folder: Path, tmp_path_factory
):
    release = tmp_path_factory.mktemp("release")
    for name, frame in build_frames(facts_folder, load_topic()).items():
        frame.write_parquet(release / f"{name}.parquet")
    in_process = evaluate(facts_folder).as_dict()["overall"]
    from_release = evaluate(facts_folder, release=release).as_dict()["overall"]
    assert from_release == in_process


def test_facts_are_matched_to_documents_by_url_when_names_differ(tmp_path: Path):
    record = {
        "title": "Kremlin confirms pardons",
        "url": "https://example.org/a/1/",
        "published_at": "2023-01-10T10:00:00Z",
        "text": "Kremlin spokesman Dmitry Peskov said pardons are granted by decree.",
    }
    (tmp_path / "export.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    facts = {
        "url": "https://example.org/a/1",
        "title": "Kremlin confirms pardons",
        "actors": [{"name": "Dmitry Peskov", "type": "person", "aliases": []}],
    }
    (tmp_path / "x01_other_name.facts.json").write_text(json.dumps(facts), encoding="utf-8")
    report = evaluate(tmp_path)
    assert report.unmatched_facts == []
    assert report.documents[0].kinds["actors"].true_positives == 1


def test_command_prints_the_report_and_fails_below_a_threshold(facts_folder: Path, tmp_path: Path):
    app = typer.Typer()
    app.command("evaluate")(evaluate_command)
    app.command("noop")(lambda: None)  # more than one command, as in the real CLI
    runner = CliRunner()
    scores = tmp_path / "scores.json"
    ok = runner.invoke(
        app,
        [
            "evaluate",
            "--facts",
            str(facts_folder),
            "--json",
            str(scores),
            "--no-details",
            "--min-metadata",
            "1.0",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "Overall" in ok.output and "t01_article" in ok.output
    assert json.loads(scores.read_text())["overall"]["metadata"]["f1"] == 1.0
    failed = runner.invoke(app, ["evaluate", "--facts", str(facts_folder), "--min-events", "0.99"])
    assert failed.exit_code == 1
    assert "events F1" in failed.output


def test_a_gold_event_without_actors_matches_by_type_date_and_wording():
    topic = load_topic()
    gold = {
        "events": [
            {
                "type": "policy_start",
                "date": "2022-09",
                "actors": [],
                "summary": "A mobilisation decree extended every military contract",
            }
        ]
    }

    def event(description: str) -> dict:
        return {
            "event_type": "policy_start",
            "date_start": None,
            "date_end": None,
            "event_date": None,
            "actor_names": [frozenset({"kremlin"})],
            "actor_labels": ["Kremlin"],
            "trigger": "decree",
            "description": description,
        }

    same = Predicted({}, [], [event("The mobilisation decree extends every contract.")], [], [], [])
    other = Predicted({}, [], [event("A new law was signed on Monday.")], [], [], [])
    assert score_document(gold, same, topic)["events"].true_positives == 1
    assert score_document(gold, other, topic)["events"].true_positives == 0
