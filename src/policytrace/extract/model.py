"""What an extractor returns for one document: records with their evidence, before ids are assigned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


# Evidence and DateValue are values (hashable, never changed once made) but not `frozen`: a frozen
# dataclass's __init__ sets each field through object.__setattr__, ~3x slower, and one is made for
# every record of every document.
@dataclass(unsafe_hash=True)
class Evidence:
    """Where a record came from: its sentence and the exact words, as offsets into the cleaned text."""

    sentence_index: int
    char_start: int  # sentence start
    char_end: int  # sentence end (exclusive)
    span_start: int  # the words that gave the record (a name, a trigger, a number)
    span_end: int


@dataclass(unsafe_hash=True)
class DateValue:
    """A date as precisely as the text gives it, with the window it stands for."""

    value: date
    precision: str  # day | month | season | year
    start: date
    end: date
    text: str


@dataclass
class ActorMention:
    """A named actor in the text. `key` identifies it across documents (registry key or type+name)."""

    key: str
    name: str
    actor_type: str
    surface: str
    evidence: Evidence
    is_registered: bool
    country: str | None = None
    wikidata_id: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass
class EventRecord:
    """An event mention: type, trigger, date, attribution, negation/hedging and participating actors."""

    event_type: str
    trigger: str
    description: str
    evidence: Evidence
    date: DateValue | None = None
    claimant_key: str | None = None
    attribution: str | None = None
    is_negated: bool = False
    is_hedged: bool = False
    actors: list[tuple[str, str]] = field(default_factory=list)  # (actor key, role)
    # Later sentences that tell the same event, merged into this row: each is a mention of it too,
    # and the date, claimant or actors the row took from them are found there.
    supporting: list[Evidence] = field(default_factory=list)


@dataclass
class ConditionRecord:
    """One term of a policy as stated in a sentence."""

    policy_key: str
    policy_name: str
    condition_type: str
    description: str
    evidence: Evidence
    value: float | None = None
    unit: str | None = None
    status: str = "unknown"  # in_force | ended | unknown
    is_negated: bool = False


@dataclass
class QuantityRecord:
    """A number stated in the text; event/condition refer to indexes in the same Extraction."""

    text: str
    unit: str
    evidence: Evidence
    value: float | None = None
    value_low: float | None = None
    value_high: float | None = None
    is_approximate: bool = False
    claimant_key: str | None = None
    event_index: int | None = None
    condition_index: int | None = None


@dataclass
class CitedSourceRecord:
    """A source the document cites (outlet, organisation, person, report)."""

    name: str
    evidence: Evidence
    actor_key: str | None = None


@dataclass
class Extraction:
    """Everything extracted from one document."""

    source_id: str
    extractor: str
    extractor_version: str
    actors: list[ActorMention] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    conditions: list[ConditionRecord] = field(default_factory=list)
    quantities: list[QuantityRecord] = field(default_factory=list)
    cited_sources: list[CitedSourceRecord] = field(default_factory=list)
