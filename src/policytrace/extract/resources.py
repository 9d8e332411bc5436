"""A topic's lexicons compiled once into spaCy matchers and look-up sets, cached per fingerprint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spacy.lang.en import English
from spacy.matcher import PhraseMatcher
from spacy.symbols import ORTH
from spacy.util import compile_infix_regex

from policytrace.extract.lexicon import PhraseIndex
from policytrace.ids import normalise_name
from policytrace.topic import Topic


@dataclass(frozen=True)
class KnownActor:
    """An actor the topic knows by name: a registry entry or a state from the country list."""

    key: str
    name: str
    actor_type: str
    registered: bool
    country: str | None = None
    wikidata_id: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionRule:
    """One policy-condition rule of conditions.yaml."""

    rule_id: str
    condition_type: str
    context: str | None
    takes_duration: bool
    group: str  # rules of one group state the same term ("freedom" and "a pardon")


@dataclass(frozen=True)
class Policy:
    """A policy of the topic and the cue words that point to it."""

    key: str
    name: str
    cues: frozenset[str]
    names: tuple[str, ...]


@dataclass
class CompiledTopic:
    """Everything the extractor needs from a topic, ready to apply to a tokenised document."""

    nlp: English
    actors: list[KnownActor]
    actor_phrases: PhraseMatcher  # lower-case aliases, matched case-insensitively
    actor_names: PhraseMatcher  # aliases with capitals, matched as written
    phrases: PhraseIndex  # labels are (kind, label): event, attribution, cue, condition
    condition_rules: dict[str, ConditionRule]
    contexts: dict[str, tuple[int, frozenset[str]]]
    policies: list[Policy]
    blockers: dict[str, frozenset[str]]
    person_titles: frozenset[str]
    person_nouns: frozenset[str]
    organisation_nouns: dict[str, str]
    organisation_heads: dict[str, str]
    group_adjectives: dict[str, str]  # adjective (lower case) -> its written form in names
    group_heads: dict[str, str]
    role_references: dict[str, frozenset[str]]
    first_names: frozenset[str]
    topic_words: frozenset[str]
    topic_min_hits: int
    demonym_to_country: dict[str, str] = field(default_factory=dict)
    # Background-clause grammar (events.yaml `background`): rule -> (words, event types).
    background: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    background_skip: frozenset[str] = frozenset()
    group_subject_verbs: frozenset[str] = frozenset()
    counted_units: frozenset[str] = frozenset()
    lower_heads: frozenset[str] = frozenset()  # group heads and organisation nouns, lower case
    # the words `_lowercase_groups` acts on: group adjectives, demonyms and `lower_heads`
    group_starters: frozenset[str] = frozenset()
    policy_cues: dict[str, tuple[int, ...]] = field(default_factory=dict)  # word -> policy indexes
    ended_cues: frozenset[str] = frozenset()
    ended_after: frozenset[str] = frozenset()
    non_statements: frozenset[str] = frozenset()
    changed_after: frozenset[str] = frozenset()
    interview_cues: frozenset[str] = frozenset()
    topic_short: tuple[int, int] = (0, 3)  # (words, topic hits enough for a document that short)
    recruited_groups: frozenset[str] = frozenset()  # actor keys ("reg:russian_prisoners")
    noun_uses: dict[str, frozenset[str]] = field(default_factory=dict)  # type -> next words
    indefinite_sources: dict[str, str] = field(default_factory=dict)  # noun -> actor type
    # events.yaml `terms`: (verbs, nouns before them, event types that are terms after them)
    terms: tuple[frozenset[str], frozenset[str], frozenset[str]] = (
        frozenset(),
        frozenset(),
        frozenset(),
    )


def _known_actors(topic: Topic) -> list[KnownActor]:
    actors: list[KnownActor] = []
    registered_names: set[str] = set()
    for entry in topic.data("actors", []):
        aliases = (*entry.get("aliases", ()), *entry.get("roles", ()))
        actors.append(
            KnownActor(
                key=f"reg:{entry['key']}",
                name=entry["name"],
                actor_type=entry["type"],
                registered=True,
                country=entry.get("country"),
                wikidata_id=entry.get("wikidata_id"),
                aliases=tuple(aliases),
            )
        )
        registered_names.add(normalise_name(entry["name"]))
    for name, code, _adjective, aliases in topic.data("countries", []):
        if normalise_name(name) not in registered_names:
            actors.append(
                KnownActor(
                    key=f"txt:state:{normalise_name(name)}",
                    name=name,
                    actor_type="state",
                    registered=False,
                    country=code,
                    aliases=tuple(aliases),
                )
            )
    return actors


def _typed_words(mapping: dict[str, list[str]]) -> dict[str, str]:
    return {word.lower(): actor_type for actor_type, words in mapping.items() for word in words}


def compile_topic(topic: Topic) -> CompiledTopic:
    """Build the matchers and look-up tables of a topic (slow: call through `compiled_topic`)."""
    nlp = English()
    # Single capitals with a period are initials to spaCy, but in this domain "Storm Z." ends a
    # sentence far more often than an initial starts a name.
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        nlp.tokenizer.add_special_case(f"{letter}.", [{ORTH: letter}, {ORTH: "."}])
    # Numbered source markers glued to a word ("intelligence.[1]", "that[5]") are tokens of
    # their own, so names do not swallow them ("Ukrainian military intelligence.[1").
    infixes = [*nlp.Defaults.infixes, r"\.(?=\[)", r"\["]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    vocab = nlp.vocab
    actors = _known_actors(topic)
    actor_phrases = PhraseMatcher(vocab, attr="LOWER")
    actor_names = PhraseMatcher(vocab, attr="ORTH")
    for index, actor in enumerate(actors):
        lower, cased = [], []
        for surface in dict.fromkeys((actor.name, *actor.aliases)):
            if any(ch.isupper() for ch in surface):
                cased.append(surface)
                if surface.startswith("the "):
                    # "The Kremlin" at a sentence start is the same name as "the Kremlin".
                    cased.append("T" + surface[1:])
            else:
                lower.append(surface)
        if lower:
            actor_phrases.add(str(index), [nlp.make_doc(s) for s in lower])
        if cased:
            actor_names.add(str(index), [nlp.make_doc(s) for s in cased])

    event_lexicon = topic.data("events", {})
    # One index for all lexicons: the document is scanned once.
    index = PhraseIndex()
    for event_type, phrases in event_lexicon.get("triggers", {}).items():
        index.add(("event", event_type), phrases)
    attribution = event_lexicon.get("attribution", {})
    index.add(("attribution", "verb"), attribution.get("verbs", []))
    index.add(("attribution", "source_after"), attribution.get("before_source", []))
    index.add(("cue", "negation"), event_lexicon.get("negation", []))
    index.add(("cue", "hedge"), event_lexicon.get("hedge", []))
    index.add(("cue", "grievance"), event_lexicon.get("grievance", []))

    condition_lexicon = topic.data("conditions", {})
    rules = {}
    for rule in condition_lexicon.get("rules", []):
        rules[rule["id"]] = ConditionRule(
            rule["id"],
            rule["type"],
            rule.get("context"),
            rule.get("value") == "duration",
            rule.get("group", rule["id"]),
        )
        index.add(("condition", rule["id"]), rule["phrases"])
    contexts = {
        name: (spec.get("window", 0), frozenset(w.lower() for w in spec["words"]))
        for name, spec in condition_lexicon.get("contexts", {}).items()
    }
    policies = [
        Policy(
            p["key"],
            p["name"],
            frozenset(str(c).lower() for c in p.get("cues", [])),
            tuple(n.lower() for n in p.get("names", [])),
        )
        for p in topic.data("policies", [])
    ]

    words: dict[str, Any] = topic.data("lexicons", {})
    countries = topic.data("countries", [])
    adjectives = {adjective.lower(): adjective for _n, _c, adjective, _a in countries}
    adjectives.update({a.lower(): a for a in words.get("group_adjectives", [])})
    keywords = words.get("topic_keywords", {})
    compiled = CompiledTopic(
        nlp=nlp,
        actors=actors,
        actor_phrases=actor_phrases,
        actor_names=actor_names,
        phrases=index,
        condition_rules=rules,
        contexts=contexts,
        policies=policies,
        blockers={k: frozenset(v) for k, v in event_lexicon.get("blockers", {}).items()},
        person_titles=frozenset(w.lower() for w in words.get("person_titles", [])),
        person_nouns=frozenset(w.lower() for w in words.get("person_nouns", [])),
        organisation_nouns=_typed_words(words.get("organisation_nouns", {})),
        organisation_heads=_typed_words(words.get("organisation_heads", {})),
        group_adjectives=adjectives,
        group_heads=_typed_words(words.get("group_heads", {})),
        indefinite_sources=_typed_words(words.get("indefinite_sources", {})),
        role_references={
            k.lower(): frozenset(h.lower() for h in v)
            for k, v in words.get("role_references", {}).items()
        },
        first_names=frozenset(words.get("first_names", [])),
        topic_words=frozenset(w.lower() for w in keywords.get("words", [])),
        topic_min_hits=int(keywords.get("min_hits", 3)),
        topic_short=(int(keywords.get("short_words", 0)), int(keywords.get("short_min_hits", 3))),
        demonym_to_country={name.lower(): adjective for name, _c, adjective, _a in countries},
        background={
            name: (
                frozenset(w.lower() for w in spec.get("words", [])),
                frozenset(spec.get("types", [])),
            )
            for name, spec in event_lexicon.get("background", {}).items()
            if isinstance(spec, dict)
        },
        background_skip=frozenset(
            w.lower() for w in event_lexicon.get("background", {}).get("relative", {}).get("skip", [])
        ),
        policy_cues={
            word: tuple(i for i, p in enumerate(policies) if word in p.cues)
            for word in {c for p in policies for c in p.cues}
        },
        counted_units=frozenset(w.lower() for w in words.get("counted_units", [])),
        group_subject_verbs=frozenset(w.lower() for w in words.get("group_subject_verbs", [])),
        ended_cues=frozenset(w.lower() for w in event_lexicon.get("ended", [])),
        ended_after=frozenset(w.lower() for w in event_lexicon.get("ended_after", [])),
        non_statements=frozenset(w.lower() for w in attribution.get("non_statements", [])),
        changed_after=frozenset(w.lower() for w in event_lexicon.get("changed_after", [])),
        interview_cues=frozenset(w.lower() for w in event_lexicon.get("interview_cues", [])),
        recruited_groups=frozenset(f"reg:{key}" for key in event_lexicon.get("recruited_groups", [])),
        noun_uses={k: frozenset(v) for k, v in event_lexicon.get("noun_uses", {}).items()},
        terms=tuple(
            frozenset(str(w).lower() for w in event_lexicon.get("terms", {}).get(part, []))
            for part in ("verbs", "nouns", "types")
        ),
    )
    # one look-up per token in `ActorFinder._lowercase_groups`: group heads and body nouns
    compiled.lower_heads = frozenset(compiled.group_heads) | frozenset(compiled.organisation_nouns)
    compiled.group_starters = (
        frozenset(compiled.group_adjectives) | frozenset(compiled.demonym_to_country) | compiled.lower_heads
    )
    return compiled


_CACHE: dict[str, CompiledTopic] = {}


def compiled_topic(topic: Topic) -> CompiledTopic:
    """The compiled form of a topic, built once per topic fingerprint."""
    compiled = _CACHE.get(topic.fingerprint)
    if compiled is None:
        compiled = _CACHE[topic.fingerprint] = compile_topic(topic)
    return compiled

