"""Score a release (or a fresh in-process run) against hand-written facts files: P/R/F1 per kind."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from policytrace.documents import canonical_url
from policytrace.ids import normalise_name
from policytrace.topic import Topic, load_topic

KINDS = ("actors", "events", "policy_conditions", "quantities", "cited_sources", "metadata")
FACTS_SUFFIX = ".facts.json"
_TIME_UNITS = {"day", "week", "month", "year", "hour", "minute"}
# Units that all count people: "prisoners", "convicts" and "men" are the same kind of count.
_PEOPLE = {
    "prisoner",
    "inmate",
    "convict",
    "man",
    "men",
    "people",
    "person",
    "woman",
    "women",
    "recruit",
    "fighter",
    "soldier",
    "detainee",
    "volunteer",
    "veteran",
    "criminal",
    "former inmate",
    "former prisoner",
    "male prisoner",
    "male inmate",
    "individual",
    "employee",
    "worker",
    "resident",
    "passenger",
    "guest",
    "staff",
}
_METADATA_FIELDS = ("title", "published", "author", "publisher", "url")


# --- result types -----------------------------------------------------------------------------
@dataclass
class KindScore:
    """Counts for one kind in one document (or summed), with what was missed and what was extra."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    missed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of found items that are right (1.0 when nothing was found)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """Share of expected items that were found (1.0 when nothing was expected)."""
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: KindScore) -> None:
        """Add another score's counts to this one."""
        self.true_positives += other.true_positives
        self.false_positives += other.false_positives
        self.false_negatives += other.false_negatives

    def as_dict(self) -> dict[str, float | int]:
        """Rounded scores and counts, for JSON."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
        }


@dataclass
class DocumentScore:
    """Scores of one document per kind."""

    name: str
    source_id: str | None
    kinds: dict[str, KindScore]


@dataclass
class Report:
    """Per-document and overall scores."""

    documents: list[DocumentScore]
    unmatched_facts: list[str]

    @property
    def overall(self) -> dict[str, KindScore]:
        """Counts summed over documents (micro-average) per kind."""
        totals = {kind: KindScore() for kind in KINDS}
        for document in self.documents:
            for kind, score in document.kinds.items():
                totals[kind].add(score)
        return totals

    def as_dict(self) -> dict[str, Any]:
        """Overall and per-document scores, for JSON."""
        return {
            "overall": {kind: score.as_dict() for kind, score in self.overall.items()},
            "documents": {
                d.name: {k: s.as_dict() for k, s in d.kinds.items()} for d in self.documents
            },
            "unmatched_facts": self.unmatched_facts,
        }


# --- matching helpers -------------------------------------------------------------------------
def max_matching(
    golds: list[Any], predictions: list[Any], matches: Callable[[Any, Any], bool]
) -> dict[int, int]:
    """A maximum one-to-one matching gold index -> prediction index (augmenting paths)."""
    edges = [[j for j, p in enumerate(predictions) if matches(g, p)] for g in golds]
    owner: dict[int, int] = {}

    def assign(gold_index: int, visited: set[int]) -> bool:
        for prediction_index in edges[gold_index]:
            if prediction_index in visited:
                continue
            visited.add(prediction_index)
            if prediction_index not in owner or assign(owner[prediction_index], visited):
                owner[prediction_index] = gold_index
                return True
        return False

    for gold_index in range(len(golds)):
        assign(gold_index, set())
    return {g: p for p, g in owner.items()}


def _score(
    golds: list[Any],
    predictions: list[Any],
    matches: Callable[[Any, Any], bool],
    describe_gold: Callable[[Any], str],
    describe_prediction: Callable[[Any], str],
) -> KindScore:
    pairs = max_matching(golds, predictions, matches)
    matched_predictions = set(pairs.values())
    return KindScore(
        true_positives=len(pairs),
        false_positives=len(predictions) - len(matched_predictions),
        false_negatives=len(golds) - len(pairs),
        missed=[describe_gold(g) for i, g in enumerate(golds) if i not in pairs],
        extra=[
            describe_prediction(p)
            for j, p in enumerate(predictions)
            if j not in matched_predictions
        ],
    )


def _names(*values: Iterable[str] | str | None) -> frozenset[str]:
    names = set()
    for value in values:
        if value is None:
            continue
        for item in [value] if isinstance(value, str) else value:
            if item:
                names.add(normalise_name(item))
                # "the ministry" and "ministry" are the same reference.
                names.add(re.sub(r"^(the|a|an) ", "", normalise_name(item)))
    names.discard("")
    return frozenset(names)


_STOPWORDS = frozenset(
    "the a an and or of to in on at for by with from that this these those was were is are be "
    "been has have had its their his her they it as not no into until after before than".split()
)


def _content_words(text: str | None) -> frozenset[str]:
    """Lower-case words of a text, less stop words and words under four letters."""
    words = re.findall(r"[a-z]+", (text or "").lower())
    return frozenset(w for w in words if len(w) > 3 and w not in _STOPWORDS)


def date_window(value: str | None) -> tuple[date, date] | None:
    """The window of a facts-file date: "2023" -> the year, "2023-08" -> the month."""
    if not value:
        return None
    parts = [int(p) for p in str(value).split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        import calendar

        return date(parts[0], parts[1], 1), date(
            parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1]
        )
    day = date(parts[0], parts[1], parts[2])
    return day, day


def _singular(word: str) -> str:
    word = word.lower().strip()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def unit_class(unit: str | None) -> str | None:
    """What a unit counts, for comparison: "months" -> month, "former inmates" -> people."""
    if not unit:
        return None
    text = normalise_name(unit)
    singular = " ".join(_singular(w) for w in text.split())
    head = singular.split()[-1] if singular else singular
    if singular in _PEOPLE or head in _PEOPLE:
        return "people"
    return head


def resolve_policy(name: str | None, topic: Topic) -> str | None:
    """The topic policy a free-text policy name refers to (first policy whose name words occur)."""
    if not name:
        return None
    text = name.lower()
    for policy in topic.data("policies", []):
        if normalise_name(policy["name"]) == normalise_name(name) or policy["key"] == name:
            return policy["key"]
    for policy in topic.data("policies", []):
        if any(word.lower() in text for word in policy.get("names", [])):
            return policy["key"]
    return None


# --- predictions from tables ------------------------------------------------------------------
@dataclass
class Predicted:
    """What the tables say about one document, in the shape the facts files use."""

    metadata: dict[str, Any]
    actors: list[dict[str, Any]]
    events: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    quantities: list[dict[str, Any]]
    cited: list[dict[str, Any]]


class TableView:
    """Read access to the release tables, indexed by document."""

    def __init__(self, frames: dict[str, pl.DataFrame], topic: Topic) -> None:
        self.frames = frames
        self.topic = topic
        self.actors = {row["actor_id"]: row for row in frames["actors"].iter_rows(named=True)}
        self.policy_keys = {normalise_name(p["name"]): p["key"] for p in topic.data("policies", [])}
        mentions = frames["mentions"]
        self.surfaces: dict[tuple[str, str], set[str]] = {}
        for row in mentions.filter(pl.col("table_name") == "actors").iter_rows(named=True):
            self.surfaces.setdefault((row["source_id"], row["row_id"]), set()).add(row["span_text"])
        self.event_actors: dict[str, list[str]] = {}
        for row in frames["event_actors"].iter_rows(named=True):
            self.event_actors.setdefault(row["event_id"], []).append(row["actor_id"])

    def documents(self) -> list[dict[str, Any]]:
        """The sources rows of ingested documents."""
        return self.frames["sources"].filter(pl.col("source_type") == "document").to_dicts()

    def actor_names(self, source_id: str, actor_id: str | None) -> frozenset[str]:
        """An actor's canonical name, aliases and the words that named it in this document."""
        if actor_id is None or actor_id not in self.actors:
            return frozenset()
        row = self.actors[actor_id]
        aliases = (row.get("aliases") or "").split(" | ")
        return _names(row["name"], aliases, self.surfaces.get((source_id, actor_id), ()))

    def predicted(self, document: dict[str, Any]) -> Predicted:
        """One document's rows of every table, as facts (repeated facts counted once)."""
        source_id = document["source_id"]
        frames = self.frames
        actor_ids = sorted({row_id for (sid, row_id) in self.surfaces if sid == source_id})
        actors = [
            {"id": a, "label": self.actors[a]["name"], "names": self.actor_names(source_id, a)}
            for a in actor_ids
            if a in self.actors
        ]
        events = []
        seen_events = set()
        for row in frames["events"].filter(pl.col("source_id") == source_id).iter_rows(named=True):
            ids = frozenset(self.event_actors.get(row["event_id"], []))
            key = (row["event_type"], ids, row["date_start"], row["date_end"])
            if key in seen_events:
                continue  # the same event stated twice is one fact
            seen_events.add(key)
            events.append(
                {
                    **row,
                    "actor_names": [self.actor_names(source_id, a) for a in ids],
                    "actor_labels": sorted(self.actors[a]["name"] for a in ids if a in self.actors),
                }
            )
        conditions = []
        for row in (
            frames["policy_conditions"]
            .filter(pl.col("source_id") == source_id)
            .iter_rows(named=True)
        ):
            conditions.append(
                {
                    **row,
                    "policy_key": self.policy_keys.get(normalise_name(row["policy_name"]))
                    or resolve_policy(row["policy_name"], self.topic),
                }
            )
        quantities = []
        seen_values = set()
        for row in (
            frames["quantities"].filter(pl.col("source_id") == source_id).iter_rows(named=True)
        ):
            if row["value"] is not None:
                values = [row["value"]]
            elif re.search(r"\d", row["quantity_text"] or ""):
                values = [v for v in (row["value_low"], row["value_high"]) if v is not None]
            else:
                values = []  # vague amounts ("tens of thousands") are not annotated as numbers
            for value in values:
                key = (round(value, 6), unit_class(row["unit"]))
                if key not in seen_values:
                    seen_values.add(key)
                    quantities.append(
                        {"value": value, "unit": row["unit"], "text": row["quantity_text"]}
                    )
        cited = []
        seen_cited = set()
        for row in (
            frames["sources"]
            .filter(
                (pl.col("source_type") == "cited") & (pl.col("cited_by_source_id") == source_id)
            )
            .iter_rows(named=True)
        ):
            key = row["actor_id"] or normalise_name(row["name"] or "")
            if key in seen_cited:
                continue
            seen_cited.add(key)
            cited.append(
                {
                    "name": row["name"],
                    "names": _names(row["name"]) | self.actor_names(source_id, row["actor_id"]),
                }
            )
        return Predicted(document, actors, events, conditions, quantities, cited)


# --- scoring one document -----------------------------------------------------------------------
def score_document(
    gold: dict[str, Any], predicted: Predicted, topic: Topic
) -> dict[str, KindScore]:
    """Scores per kind for one document's facts and its predictions."""
    gold_actor_names = {
        a["name"]: _names(a["name"], a.get("aliases", [])) for a in gold.get("actors", [])
    }

    def gold_names(name: str) -> frozenset[str]:
        return gold_actor_names.get(name, _names(name))

    scores = {}
    scores["actors"] = _score(
        gold.get("actors", []),
        predicted.actors,
        lambda g, p: bool(gold_names(g["name"]) & p["names"]),
        lambda g: f"{g['name']} ({g['type']})",
        lambda p: p["label"],
    )

    def event_matches(g: dict[str, Any], p: dict[str, Any]) -> bool:
        if g["type"] != p["event_type"]:
            return False
        window = date_window(g.get("date"))
        if (
            window
            and p["date_start"] is not None
            and not (p["date_start"] <= window[1] and window[0] <= p["date_end"])
        ):
            return False
        if not g.get("actors"):
            # An event annotated without actors ("a decree extended every contract") is found by
            # its wording: the summary and the predicted sentence share two content words.
            return len(_content_words(g.get("summary")) & _content_words(p["description"])) >= 2
        return any(
            gold_names(name) & names for name in g.get("actors", []) for names in p["actor_names"]
        )

    scores["events"] = _score(
        gold.get("events", []),
        predicted.events,
        event_matches,
        lambda g: f"{g['type']} {g.get('date') or '-'} {g.get('actors')}: {g.get('summary', '')}",
        lambda p: (
            f"{p['event_type']} {p['event_date'] or '-'} {p['actor_labels']}: "
            f"{p['trigger']!r} in {p['description'][:90]!r}"
        ),
    )

    def condition_matches(g: dict[str, Any], p: dict[str, Any]) -> bool:
        if g["type"] != p["condition_type"]:
            return False
        gold_policy = resolve_policy(g.get("policy"), topic)
        if gold_policy and p["policy_key"] and gold_policy != p["policy_key"]:
            return False
        if g.get("value") is not None:
            return (
                p["value"] is not None
                and abs(p["value"] - g["value"]) < 1e-6
                and unit_class(p["unit"]) == unit_class(g.get("unit"))
            )
        return True

    scores["policy_conditions"] = _score(
        gold.get("policy_conditions", []),
        predicted.conditions,
        condition_matches,
        lambda g: f"{g['type']} [{g.get('policy')}] {g.get('summary', '')}",
        lambda p: (
            f"{p['condition_type']} [{p['policy_name']}] {p['value'] or ''} "
            f"{p['unit'] or ''} {p['description'][:90]!r}"
        ),
    )

    def quantity_matches(g: dict[str, Any], p: dict[str, Any]) -> bool:
        if abs(float(g["value"]) - p["value"]) > 1e-6:
            return False
        return unit_class(g.get("unit")) == unit_class(p["unit"])

    scores["quantities"] = _score(
        gold.get("quantities", []),
        predicted.quantities,
        quantity_matches,
        lambda g: f"{g['value']:g} {g.get('unit')} ({g.get('about', '')})",
        lambda p: f"{p['value']:g} {p['unit']} ({p['text']!r})",
    )

    scores["cited_sources"] = _score(
        gold.get("cited_sources", []),
        predicted.cited,
        lambda g, p: bool(gold_names(g) & p["names"]),
        str,
        lambda p: p["name"],
    )

    scores["metadata"] = _score_metadata(gold, predicted.metadata)
    return scores


def _authors(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(normalise_name(part) for part in re.split(r";|,| and ", value) if part.strip())


def _published(document: dict[str, Any]) -> str | None:
    local = document.get("published_local")
    if local and re.match(r"\d{4}-\d{2}-\d{2}", str(local)):
        return str(local)[:10]
    published = document.get("published_at")
    return published.date().isoformat() if published else None


def _score_metadata(gold: dict[str, Any], document: dict[str, Any]) -> KindScore:
    predicted = {
        "title": document.get("title"),
        "published": _published(document),
        "author": document.get("author"),
        "publisher": document.get("publisher"),
        "url": document.get("url"),
    }
    score = KindScore()
    for name in _METADATA_FIELDS:
        expected, found = gold.get(name), predicted[name]
        if name == "published" and expected and found:
            equal = found.startswith(str(expected))
        elif name == "author":
            equal = _authors(expected) == _authors(found)
        elif name == "url" and expected and found:
            equal = canonical_url(expected) == canonical_url(found)
        else:
            equal = (
                expected is not None
                and found is not None
                and normalise_name(str(expected)) == normalise_name(str(found))
            )
        if expected is not None and found is not None and equal:
            score.true_positives += 1
            continue
        if expected is not None:
            score.false_negatives += 1
            score.missed.append(f"{name}: {expected!r}")
        if found is not None:
            score.false_positives += 1
            score.extra.append(f"{name}: {found!r}")
    return score


# --- whole evaluation --------------------------------------------------------------------------
def load_facts(folder: Path) -> dict[str, dict[str, Any]]:
    """Facts files of a folder by document name (NAME.facts.json -> NAME)."""
    return {
        path.name[: -len(FACTS_SUFFIX)]: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob(f"*{FACTS_SUFFIX}"))
    }


def build_frames(folder: Path, topic: Topic) -> dict[str, pl.DataFrame]:
    """Tables built in-process from the documents of a folder (no release needed)."""
    from policytrace.extract import extract_document
    from policytrace.ingest import ingest_folder
    from policytrace.tables import TableBuilder

    builder = TableBuilder()
    for document in ingest_folder(folder).documents:
        builder.add(document, extract_document(document, topic))
    # The tables as the release writer gets them (with their input-order column), less that column.
    frames = builder.frames(keep_position=True)
    return {name: frame.drop("_doc", strict=False) for name, frame in frames.items()}


def read_release(release: Path) -> dict[str, pl.DataFrame]:
    """The tables of a release folder (<table>.parquet)."""
    names = (
        "sources",
        "actors",
        "events",
        "event_actors",
        "policy_conditions",
        "quantities",
        "mentions",
    )
    missing = [n for n in names if not (release / f"{n}.parquet").is_file()]
    if missing:
        raise FileNotFoundError(f"{release} has no {', '.join(m + '.parquet' for m in missing)}")
    return {name: pl.read_parquet(release / f"{name}.parquet") for name in names}


def _document_for(
    name: str, facts: dict[str, Any], documents: list[dict[str, Any]]
) -> dict[str, Any] | None:
    for document in documents:
        path = Path(document.get("file_path") or "")
        if path.name.split(".")[0] == name or path.stem == name:
            return document
    url = facts.get("url")
    if url:
        for document in documents:
            if document.get("url") and canonical_url(document["url"]) == canonical_url(url):
                return document
    return None


def evaluate(facts_dir: Path, release: Path | None = None, topic: Topic | None = None) -> Report:
    """Score the release in `release` (or a fresh run over facts_dir) against facts_dir's facts."""
    topic = topic or load_topic()
    frames = read_release(release) if release else build_frames(facts_dir, topic)
    view = TableView(frames, topic)
    documents = view.documents()
    scores, unmatched = [], []
    for name, facts in load_facts(facts_dir).items():
        document = _document_for(name, facts, documents)
        if document is None:
            unmatched.append(name)
            empty = Predicted({}, [], [], [], [], [])
            scores.append(DocumentScore(name, None, score_document(facts, empty, topic)))
            continue
        scores.append(
            DocumentScore(
                name, document["source_id"], score_document(facts, view.predicted(document), topic)
            )
        )
    return Report(scores, unmatched)


def format_report(report: Report, details: bool = True) -> str:
    """The report as text: overall scores, a per-document F1 table, then misses and extras."""
    lines = [
        "Overall (micro-averaged over documents)",
        f"  {'kind':<18} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>5} {'fn':>5}",
    ]
    for kind, score in report.overall.items():
        lines.append(
            f"  {kind:<18} {score.precision:>6.3f} {score.recall:>6.3f} {score.f1:>6.3f} "
            f"{score.true_positives:>5} {score.false_positives:>5} "
            f"{score.false_negatives:>5}"
        )
    header = " ".join(f"{kind[:9]:>9}" for kind in KINDS)
    lines += ["", f"F1 per document\n  {'document':<40} {header}"]
    for document in report.documents:
        values = " ".join(f"{document.kinds[kind].f1:>9.3f}" for kind in KINDS)
        lines.append(f"  {document.name[:40]:<40} {values}")
    if report.unmatched_facts:
        lines += ["", "Facts files without a document: " + ", ".join(report.unmatched_facts)]
    if details:
        for document in report.documents:
            block = []
            for kind in KINDS:
                score = document.kinds[kind]
                block += [f"    missed {kind}: {item}" for item in score.missed]
                block += [f"    extra  {kind}: {item}" for item in score.extra]
            if block:
                lines += ["", f"  {document.name}", *block]
    return "\n".join(lines)


def evaluate_command(
    facts: Annotated[
        Path,
        typer.Option(
            "--facts",
            help="Folder of NAME.facts.json files (and, without --release, the documents).",
            exists=True,
            file_okay=False,
        ),
    ],
    release: Annotated[
        Path | None,
        typer.Option(
            "--release",
            help="Release folder with <table>.parquet files; default: extract the "
            "documents beside the facts files in-process.",
        ),
    ] = None,
    topic: Annotated[str, typer.Option(help="Topic name or folder.")] = "prison_recruitment",
    details: Annotated[
        bool,
        typer.Option(
            "--details/--no-details", help="List what was missed and what was extra per document."
        ),
    ] = True,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the scores as JSON to this file.")
    ] = None,
    min_actors: Annotated[
        float, typer.Option(help="Fail if overall actors F1 is below this.")
    ] = 0.0,
    min_events: Annotated[
        float, typer.Option(help="Fail if overall events F1 is below this.")
    ] = 0.0,
    min_conditions: Annotated[
        float, typer.Option(help="Fail if overall policy-conditions F1 is below this.")
    ] = 0.0,
    min_quantities: Annotated[
        float, typer.Option(help="Fail if overall quantities F1 is below this.")
    ] = 0.0,
    min_sources: Annotated[
        float, typer.Option(help="Fail if overall cited-sources F1 is below this.")
    ] = 0.0,
    min_metadata: Annotated[
        float, typer.Option(help="Fail if overall document-metadata F1 is below this.")
    ] = 0.0,
) -> None:
    """Score extraction against facts files: precision, recall and F1 per kind and document."""
    report = evaluate(facts, release, load_topic(topic))
    typer.echo(format_report(report, details))
    if json_out:
        json_out.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    thresholds = {
        "actors": min_actors,
        "events": min_events,
        "policy_conditions": min_conditions,
        "quantities": min_quantities,
        "cited_sources": min_sources,
        "metadata": min_metadata,
    }
    overall = report.overall
    failed = [
        f"{kind} F1 {overall[kind].f1:.3f} < {minimum:.3f}"
        for kind, minimum in thresholds.items()
        if overall[kind].f1 < minimum
    ]
    if failed:
        typer.echo("FAILED: " + "; ".join(failed), err=True)
        raise typer.Exit(code=1)
