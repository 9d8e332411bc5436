"""Actor mentions: registry names and roles, unregistered names and groups, coreference."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from spacy.tokens import Doc

from policytrace.extract.resources import CompiledTopic, KnownActor
from policytrace.extract.text import Sentence, SentenceIndex, Tok, span_text
from policytrace.ids import normalise_name

_CONNECTORS: Final = {"of", "for", "the", "&", "'", "’"}
_SPEECH: Final = {
    "said",
    "says",
    "told",
    "tells",
    "added",
    "wrote",
    "claimed",
    "reported",
    "argued",
    "insisted",
    "warned",
    "explained",
    "confirmed",
    "denied",
    "noted",
    "stated",
    "announced",
}
_KIN: Final = {
    "husband",
    "wife",
    "son",
    "daughter",
    "mother",
    "father",
    "brother",
    "sister",
    "partner",
    "widow",
    "nephew",
    "niece",
    "uncle",
    "aunt",
    "grandson",
    "granddaughter",
}
_PLACE_WORDS: Final = {
    "region",
    "oblast",
    "street",
    "quay",
    "park",
    "bridge",
    "square",
    "road",
    "city",
    "district",
    "province",
    "river",
    "sea",
    "coast",
    "island",
    "port",
    "airport",
    "arena",
    "stadium",
    "station",
    "village",
    "town",
    "krai",
    "republic",
    "area",
}
_PLACE_PREPOSITIONS: Final = {
    "in",
    "at",
    "near",
    "around",
    "from",
    "to",
    "into",
    "across",
    "outside",
    "towards",
    "toward",
    "via",
    "through",
    "over",
    "between",
}
# Capitalised words that start sentences or headings and never begin a name.
_NOT_NAMES: Final = {
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "for",
    "but",
    "and",
    "or",
    "if",
    "when",
    "while",
    "after",
    "before",
    "since",
    "under",
    "as",
    "with",
    "from",
    "by",
    "to",
    "of",
    "this",
    "that",
    "these",
    "those",
    "it",
    "he",
    "she",
    "they",
    "we",
    "i",
    "you",
    "his",
    "her",
    "their",
    "our",
    "my",
    "your",
    "its",
    "there",
    "here",
    "what",
    "who",
    "why",
    "how",
    "where",
    "which",
    "none",
    "no",
    "not",
    "nobody",
    "one",
    "two",
    "three",
    "some",
    "many",
    "most",
    "all",
    "both",
    "each",
    "every",
    "yes",
    "asked",
    "based",
    "following",
    "throughout",
    "however",
    "meanwhile",
    "instead",
    "together",
    "according",
    "until",
    "during",
    "explainer",
    "opinion",
    "analysis",
    "update",
    "read",
    "share",
    "written",
    "trending",
    "new",
    "former",
    "several",
    "so",
    "then",
    "now",
    "also",
    "once",
    "even",
    "only",
    "just",
    "still",
    "again",
    "earlier",
    "later",
    "last",
    "next",
    "today",
    "yesterday",
    "tomorrow",
    "mr",
    "ms",
    "mrs",
    "dr",
    "neither",
    "nor",
    "either",
    "whether",
    "unlike",
    "like",
    "despite",
    "although",
    "though",
    "because",
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "can",
    "will",
    "would",
    "should",
    "could",
    "may",
    "might",
    "must",
    "let",
    "publish",
    "tell",
    "ask",
}
_OPENERS: Final = {'"', "“", "(", ":"}
_MONTH_AND_DAY_NAMES: Final = {
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
}
_TYPE_HEADS: Final = {
    "armed_group": {"group", "company"},
    "ngo_or_research": {"group", "organisation", "organization"},
    "media_outlet": {"outlet"},
}


@dataclass(init=False, eq=False)
class Mention:
    """An actor mention: token span, the actor it names and the words as written."""

    first: int
    last: int
    key: str
    name: str
    actor_type: str
    registered: bool
    country: str | None = None
    wikidata_id: str | None = None
    aliases: tuple[str, ...] = ()
    kind: str = "name"  # name | role | pronoun

    # Written out so that mypyc compiles it (docs/architecture.md, "The compiled extractor").
    def __init__(
        self,
        first: int,
        last: int,
        key: str,
        name: str,
        actor_type: str,
        registered: bool,
        country: str | None = None,
        wikidata_id: str | None = None,
        aliases: tuple[str, ...] = (),
        kind: str = "name",
    ) -> None:
        self.first = first
        self.last = last
        self.key = key
        self.name = name
        self.actor_type = actor_type
        self.registered = registered
        self.country = country
        self.wikidata_id = wikidata_id
        self.aliases = aliases
        self.kind = kind

    # Written out too (`mention in mentions` calls it): the comparison `@dataclass` generates. A
    # class defining __eq__ is unhashable, as this one was.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mention):
            return NotImplemented
        return (
            self.first == other.first
            and self.last == other.last
            and self.key == other.key
            and self.name == other.name
            and self.actor_type == other.actor_type
            and self.registered == other.registered
            and self.country == other.country
            and self.wikidata_id == other.wikidata_id
            and self.aliases == other.aliases
            and self.kind == other.kind
        )


@lru_cache(maxsize=8192)
def _head_words(actor_type: str, name: str, aliases: tuple[str, ...]) -> frozenset[str]:
    """The words that can refer back to an actor: its type's head nouns and the words of its
    names (cached: registry actors come back in every document, with many aliases)."""
    words = set(_TYPE_HEADS.get(actor_type, set()))
    for written in (name, *aliases):
        words.update(written.lower().split())
    return frozenset(words)


@dataclass
class ActorFinder:
    """Finds the actor mentions of one tokenised document."""

    topic: CompiledTopic
    doc: Doc
    toks: list[Tok]
    text: str
    sentences: list[Sentence]
    index: SentenceIndex
    mentions: list[Mention] = field(default_factory=list)
    heads: dict[str, set[str]] = field(default_factory=dict)  # actor key -> head nouns
    _body_nouns: list[int] = field(default_factory=list)  # positions of "ministry", "club", ...

    def find(self) -> list[Mention]:
        """All actor mentions of the document, in text order, without overlaps."""
        taken = [False] * len(self.toks)
        candidates = [
            *self._registry_mentions(),
            *self._unregistered_names(),
            *self._lowercase_groups(),
            *self._indefinite_sources(),
        ]
        # Longest names first, the registry winning ties: "Lukas Wagner" beats the registry's
        # "Wagner", while "Dmitry Peskov" stays the registry's Peskov.
        candidates.sort(key=lambda m: (-(m.last - m.first), not m.registered, m.first))
        for mention in candidates:
            self._claim(mention, taken)
        self._add_nested(candidates)
        self.mentions.sort(key=lambda m: m.first)
        self._resolve_short_names(taken)
        self._resolve_role_references(taken)
        self._resolve_person_roles(taken)
        self._definite_speakers(taken)
        self.mentions.sort(key=lambda m: m.first)
        return self.mentions

    def _claim(self, mention: Mention, taken: list[bool]) -> None:
        if any(taken[mention.first : mention.last]):
            return
        for position in range(mention.first, mention.last):
            taken[position] = True
        self.mentions.append(mention)
        self.heads.setdefault(mention.key, set()).update(
            _head_words(mention.actor_type, mention.name, mention.aliases)
        )

    def _add_nested(self, candidates: list[Mention]) -> None:
        """A group named inside a person's or population's name is mentioned too: "Wagner's founder"."""
        outer = [
            m
            for m in self.mentions
            if m.registered
            and m.actor_type in ("person", "population_group")
            and m.last - m.first >= 2
        ]
        for mention in candidates:
            if not mention.registered or mention.actor_type not in (
                "armed_group",
                "government_body",
                "state",
                "military_unit",
            ):
                continue
            if (
                any(
                    o.first <= mention.first and mention.last <= o.last and o.key != mention.key
                    for o in outer
                )
                and mention not in self.mentions
            ):
                self.mentions.append(mention)

    # --- registry -------------------------------------------------------------------------
    def _registry_mentions(self) -> list[Mention]:
        mentions = []
        matches = [*self.topic.actor_phrases(self.doc), *self.topic.actor_names(self.doc)]
        for match_id, first, last in matches:
            actor = self.topic.actors[int(self.doc.vocab.strings[match_id])]
            mentions.append(_mention(first, last, actor, kind="name"))
        return mentions

    # --- unregistered names ---------------------------------------------------------------
    def _unregistered_names(self) -> list[Mention]:
        toks, topic = self.toks, self.topic
        mentions = []
        for first, last in self._capitalised_runs():
            tokens = [t.text for t in toks[first:last]]
            person_evidence = False
            # Titles and roles before a name are not part of it ("Deputy Justice Minister ...").
            is_organisation = tokens[-1].lower() in topic.organisation_heads
            while (
                not is_organisation
                and len(tokens) > 1
                and tokens[0].lower().rstrip(".") in topic.person_titles
            ):
                tokens.pop(0)
                first += 1
                person_evidence = True
            if not tokens:
                continue
            actor_type = self._classify(first, last, person_evidence)
            if actor_type is None:
                continue
            name = span_text(self.text, toks, first, last)
            if actor_type == "person" and (
                last - first > 4 or not all(t.is_alpha or t.text in "-'" for t in toks[first:last])
            ):
                continue
            mentions.append(
                Mention(
                    first,
                    last,
                    f"txt:{actor_type}:{normalise_name(name)}",
                    name,
                    actor_type,
                    False,
                    kind="name",
                )
            )
        return mentions

    def _find_name_tokens(self) -> list[bool]:
        """For each token, whether it can be part of a name (capitalised, not a sentence opener)."""
        toks = self.toks
        starts = {sentence.first for sentence in self.sentences}
        flags = [False] * len(toks)
        # Only capitalised tokens can be names: look at those alone.
        for position in [p for p, token in enumerate(toks) if token.text[:1].isupper()]:
            token = toks[position]
            text = token.text
            if not (token.is_alpha or any(ch.isalpha() for ch in text)):
                continue
            lower = token.lower_
            if (
                lower in _MONTH_AND_DAY_NAMES
                or position > 1
                and toks[position - 1].text == "-"
                and not toks[position - 2].whitespace_
            ):
                continue  # "Rostov-on-Don": part of a hyphenated place name
            at_start = position in starts or position > 0 and toks[position - 1].text in _OPENERS
            flags[position] = not (at_start and lower in _NOT_NAMES)
        return flags

    def _capitalised_runs(self) -> list[tuple[int, int]]:
        toks, heads = self.toks, self.topic.organisation_heads
        runs, position, count = [], 0, len(toks)
        is_name = self._find_name_tokens()
        # A run starts only at a name token: jump from one to the next.
        for start in [p for p, flag in enumerate(is_name) if flag]:
            if start < position:
                continue  # inside the run found last
            end = start
            while end < count:
                # "Penal Colony No. 17": a number label continues an organisation's name.
                if toks[end].lower_ in ("no", "no.", "#") and end > start:
                    step = 2 if end + 1 < count and toks[end + 1].text == "." else 1
                    if end + step < count and toks[end + step].like_num:
                        end += step + 1
                        continue
                if is_name[end]:
                    end += 1
                    continue
                # Connectors ("Ministry of Defence", "Traders' Association") only inside
                # organisation names, so "Irina Maltseva of Russia" stays a person and a state.
                if (
                    end > start
                    and end + 1 < count
                    and is_name[end + 1]
                    and (
                        toks[end].lower_ in _CONNECTORS
                        and any(t.lower_ in heads for t in toks[start:end])
                        or toks[end].text in ("'", "’", "'s")
                        and toks[end + 1].lower_ in heads
                        or toks[end].text == "&"  # "Pellow & Grant": one firm's name
                    )
                ):
                    end += 1
                    continue
                break
            runs.append((start, end))
            position = end + 1
        return runs

    def _classify(self, first: int, last: int, person_evidence: bool) -> str | None:
        """The actor type of a capitalised name from its shape and context; None if not an actor."""
        toks, topic = self.toks, self.topic
        words = [t.lower_ for t in toks[first:last]]
        if "no" in words[1:] and words[-1][:1].isdigit():
            words = words[: words.index("no", 1)]  # "Penal Colony No. 12": the head is "colony"
        head = words[-1]
        if head in _PLACE_WORDS:
            return None
        if len(words) >= 2 and f"{words[-2]} {head}" in topic.organisation_heads:
            return topic.organisation_heads[f"{words[-2]} {head}"]
        if head in topic.organisation_heads and len(words) >= 2:
            return topic.organisation_heads[head]
        after = [t.lower_ for t in toks[last : last + 6]]
        before = toks[first - 1].lower_ if first > 0 else ""
        apposition = after[1:] if after[:1] == [","] else []
        appositive_type = self._appositive_type(apposition)
        if appositive_type:
            return appositive_type
        if before in topic.person_titles or before in ("named", "called"):
            person_evidence = True
        if after[:1] == [","] and len(after) >= 3 and after[2] == ",":
            if after[1].isdigit() and 10 <= int(after[1]) <= 99:
                person_evidence = True  # "Oleg, 41, who ...": a name with its age
        if before == "," and first >= 2 and toks[first - 2].lower_ in _KIN:
            person_evidence = True  # "Tatiana Orlova's husband, Sergei,"
        if after[:2] == ["'s", *after[1:2]] and len(after) > 1 and after[1] in _KIN:
            person_evidence = True
        if after[:1] and after[0] in _SPEECH or before in _SPEECH:
            if len(words) >= 2 or person_evidence or toks[first].text in topic.first_names:
                person_evidence = True
            elif len(words) == 1:
                return None
            else:
                return "other"
        if toks[first].text in topic.first_names and len(words) >= 2:
            person_evidence = True
        if person_evidence:
            return "person"
        if apposition[:1] == ["which"]:
            return "other"
        return None

    def _appositive_type(self, apposition: list[str]) -> str | None:
        """The type an apposition gives a name: ", a lawyer who" -> person, ", a rights group" -> NGO."""
        if not apposition:
            return None
        if apposition[0] in ("who", "whose"):
            return "person"
        if apposition[0] not in ("a", "an", "the"):
            return None
        topic = self.topic
        for position, word in enumerate(apposition[1:5], start=1):
            if word in topic.person_nouns:
                return "person"
            pair = " ".join(apposition[position : position + 2])
            if pair in topic.organisation_nouns:
                return topic.organisation_nouns[pair]
            if word in topic.organisation_nouns:
                return topic.organisation_nouns[word]
            if word in (",", ".", "who", "which", "that"):
                break
        return None

    # --- lower-case groups ----------------------------------------------------------------
    def _lowercase_groups(self) -> list[Mention]:
        """Groups named by origin and role: "Ukrainian officials", "Russia's independent media"."""
        toks, topic = self.toks, self.topic
        org_nouns, lower_heads = topic.organisation_nouns, topic.lower_heads
        mentions = []
        count = len(toks)
        starters = topic.group_starters
        # Only a group adjective, a demonym or a head noun starts anything below: skip the rest.
        for position in [p for p, token in enumerate(toks) if token.lower_ in starters]:
            token = toks[position]
            lower = token.lower_
            adjective = topic.group_adjectives.get(lower)
            step = 1
            if (
                adjective is None
                and lower in topic.demonym_to_country
                and position + 1 < count
                and toks[position + 1].lower_ == "'s"
            ):
                adjective, step = topic.demonym_to_country[lower], 2
            if adjective is None:
                if lower in lower_heads:
                    if lower in org_nouns:
                        self._body_nouns.append(position)  # for `_definite_speakers`
                    if lower in topic.group_heads and self._is_group_subject(position):
                        mentions.append(
                            self._group(position, position + 1, [lower], topic.group_heads[lower])
                        )
                continue
            if step == 1 and token.text[:1].isupper():
                adjective = token.text  # as written: "Western officials", "UN experts"
            words = [adjective]
            cursor = position + step
            while cursor < count and len(words) < 4:
                word = toks[cursor].lower_
                pair = f"{word} {toks[cursor + 1].lower_}" if cursor + 1 < count else ""
                if pair in topic.group_heads:
                    words.append(span_text(self.text, toks, cursor, cursor + 2))
                    mentions.append(
                        self._group(position, cursor + 2, words, topic.group_heads[pair])
                    )
                    break
                if word in topic.group_heads:
                    words.append(toks[cursor].text)
                    mentions.append(
                        self._group(position, cursor + 1, words, topic.group_heads[word])
                    )
                    break
                if word in topic.group_adjectives:
                    words.append(toks[cursor].text)
                    cursor += 1
                    continue
                break
        return mentions

    def _is_group_subject(self, position: int) -> bool:
        """A bare group head that is the subject of a reporting verb: "Reporters counted ..."."""
        toks = self.toks
        if position > 0 and not (
            toks[position - 1].is_punct
            or toks[position - 1].is_space
            or toks[position - 1].lower_ in ("and", "the", "but", "when", "as", "that")
            or (len(toks[position - 1].text) == 4 and toks[position - 1].text.isdigit())
        ):  # "By December 2023 reporters had counted": a clause after a year
            return False
        cursor = position + 1
        while cursor < len(toks) and toks[cursor].lower_ in ("had", "have", "has", "also", "already"):
            cursor += 1
        return cursor < len(toks) and toks[cursor].lower_ in self.topic.group_subject_verbs

    def _group(self, first: int, last: int, words: list[str], actor_type: str) -> Mention:
        name = " ".join(words)
        if not name[:1].isupper() or name.split()[0].lower() in (
            "regional",
            "local",
            "state",
            "independent",
            "senior",
        ):
            name = name[:1].lower() + name[1:]
        return Mention(
            first,
            last,
            f"txt:{actor_type}:{normalise_name(name)}",
            name,
            actor_type,
            False,
            kind="name",
        )

    def _indefinite_sources(self) -> list[Mention]:
        """ "A Russian milblogger claimed", "an independent outlet reported": a source the text
        does not name is an actor of its own when it is the subject of a reporting verb."""
        toks, topic = self.toks, self.topic
        kinds = topic.indefinite_sources
        if not kinds:
            return []
        found = []
        for position, token in enumerate(toks):
            if token.lower_ not in ("a", "an", "one"):
                continue
            words: list[str] = []
            cursor = position + 1
            while cursor < len(toks) and len(words) < 3 and toks[cursor].lower_ in topic.group_adjectives:
                words.append(topic.group_adjectives[toks[cursor].lower_])
                cursor += 1
            if cursor >= len(toks) or toks[cursor].lower_ not in kinds:
                continue
            verb = cursor + 1
            while verb < len(toks) and toks[verb].lower_ in ("has", "had", "also", "later"):
                verb += 1
            if verb >= len(toks) or toks[verb].lower_ not in topic.group_subject_verbs:
                continue
            words.append(toks[cursor].lower_)
            mention = self._group(position, cursor + 1, words, kinds[toks[cursor].lower_])
            found.append(mention)
        return found

    # --- coreference ----------------------------------------------------------------------
    def _resolve_short_names(self, taken: list[bool]) -> None:
        """A surname (or given name) alone refers to the person named in full in this document."""
        short: dict[str, Mention] = {}
        for mention in self.mentions:
            if (
                mention.actor_type == "person"
                and not mention.registered
                and mention.last - mention.first >= 2
            ):
                for token in (self.toks[mention.last - 1], self.toks[mention.first]):
                    if token.is_alpha and token.lower_ not in _NOT_NAMES:
                        short.setdefault(token.text, mention)
        if not short:
            return
        for position, token in enumerate(self.toks):
            person = short.get(token.text)
            if person is None or taken[position] or not token.text[:1].isupper():
                continue
            taken[position] = True
            self.mentions.append(_copy(person, position, position + 1, "name"))
        # A registry alias that is this document's surname of someone else ("Wagner" for Lukas
        # Wagner) names that person, unless the registry actor is named unambiguously here.
        unambiguous = {m.key for m in self.mentions if m.registered and m.last - m.first >= 2}
        for index, mention in enumerate(self.mentions):
            if mention.last - mention.first == 1 and mention.key not in unambiguous:
                person = short.get(self.toks[mention.first].text)
                if person is not None and person.key != mention.key:
                    self.mentions[index] = _copy(person, mention.first, mention.last, "name")

    def _resolve_role_references(self, taken: list[bool]) -> None:
        """ "the ministry", "the group": the latest earlier actor whose name has that head noun."""
        toks, topic = self.toks, self.topic
        ordered = sorted(self.mentions, key=lambda m: m.first)
        new = []
        for position in range(len(toks) - 1):
            if toks[position].lower_ not in ("the", "its", "his", "their") or taken[position + 1]:
                continue
            noun = toks[position + 1].lower_
            pair = f"{noun} {toks[position + 2].lower_}" if position + 2 < len(toks) else ""
            heads = topic.role_references.get(pair) or topic.role_references.get(noun)
            if not heads or taken[position]:
                continue
            end = position + (3 if pair in topic.role_references else 2)
            target = None
            for mention in ordered:
                if mention.first >= position:
                    break
                if (
                    mention.actor_type not in ("person", "population_group", "state")
                    and self.heads.get(mention.key, set()) & heads
                ):
                    target = mention
            if target is not None:
                new.append(_copy(target, position, end, "role"))
        for mention in new:
            for index in range(mention.first, mention.last):
                taken[index] = True
        self.mentions.extend(new)

    def _resolve_person_roles(self, taken: list[bool]) -> None:
        """ "the founder", "the businessman": the latest registered person named before whose
        registry roles end in that noun ("Wagner's founder"); "the founder of X" is someone else."""
        roles: dict[str, list[Mention]] = {}
        for mention in sorted(self.mentions, key=lambda m: m.first):
            if mention.actor_type == "person" and mention.registered:
                for alias in mention.aliases:
                    head = alias.rsplit(" ", 1)[-1]
                    if head.islower() and head.isalpha():
                        roles.setdefault(head, []).append(mention)
        if not roles:
            return
        toks = self.toks
        for position in range(len(toks) - 1):
            noun = toks[position + 1].text
            if toks[position].lower_ != "the" or noun not in roles or taken[position + 1]:
                continue
            if position + 2 < len(toks) and toks[position + 2].lower_ == "of":
                continue
            earlier = [m for m in roles[noun] if m.last <= position]
            if earlier:
                taken[position] = taken[position + 1] = True
                self.mentions.append(_copy(earlier[-1], position, position + 2, "role"))

    def _definite_speakers(self, taken: list[bool]) -> None:
        """A body named only by a definite description that speaks: "the emergencies ministry
        said", "according to the local municipality", "Russia's civil aviation authority said".
        With no earlier name to point to, the noun phrase itself is the actor (unregistered)."""
        toks, topic = self.toks, self.topic
        count = len(toks)
        verbs = topic.group_subject_verbs
        for position in self._body_nouns:
            token = toks[position]
            actor_type = topic.organisation_nouns.get(token.lower_)
            if actor_type is None or taken[position] or token.text != token.lower_:
                continue
            if actor_type not in _SPEAKER_BODY_TYPES:
                continue
            # speaker context: a speech verb right after, or a source cue right before
            cursor = position + 1
            while cursor < count and toks[cursor].lower_ in ("had", "has", "have", "also"):
                cursor += 1
            speaks = cursor < count and toks[cursor].lower_ in verbs
            start = position
            while (
                start > 0
                and position - start < 3
                and toks[start - 1].is_alpha
                and toks[start - 1].text == toks[start - 1].lower_
                and toks[start - 1].lower_ not in _DETERMINERS
                and not taken[start - 1]
            ):
                start -= 1
            possessive = start >= 2 and toks[start - 1].lower_ == "'s"
            if possessive and not toks[start - 2].text[:1].isupper():
                # "the city's port authority": a lower-case owner is no part of the name
                if start < 3 or toks[start - 3].lower_ != "the" or taken[start - 2]:
                    continue
                possessive, determiner = False, start - 3
            elif possessive:
                determiner = start - 2
            elif start > 0 and toks[start - 1].lower_ == "the" and not taken[start - 1]:
                determiner = start - 1
            else:
                continue
            before = " ".join(t.lower_ for t in toks[max(0, determiner - 3) : determiner])
            if not speaks and not before.endswith(("according to", "reported by", "said")):
                continue
            first = determiner if possessive else start
            if possessive and taken[determiner]:
                # "Russia's civil aviation authority": the state is part of the body's name
                owner = [m for m in self.mentions if m.first <= determiner < m.last]
                if any(m.last - m.first > 1 or m.actor_type != "state" for m in owner):
                    continue
                self.mentions = [m for m in self.mentions if m not in owner]
            name = span_text(self.text, toks, first, position + 1)
            mention = Mention(
                first,
                position + 1,
                f"txt:{actor_type}:{normalise_name(name)}",
                name,
                actor_type,
                False,
                kind="name",
            )
            for index in range(first, position + 1):
                taken[index] = True
            self.mentions.append(mention)


_DETERMINERS: Final = {"the", "a", "an", "its", "his", "her", "their", "this", "that", "and", "or", "of"}
_SPEAKER_BODY_TYPES: Final = {"government_body", "court_or_prosecutor", "other"}


def _mention(first: int, last: int, actor: KnownActor, kind: str) -> Mention:
    return Mention(
        first,
        last,
        actor.key,
        actor.name,
        actor.actor_type,
        actor.registered,
        actor.country,
        actor.wikidata_id,
        actor.aliases,
        kind,
    )


def _copy(mention: Mention, first: int, last: int, kind: str) -> Mention:
    return Mention(
        first,
        last,
        mention.key,
        mention.name,
        mention.actor_type,
        mention.registered,
        mention.country,
        mention.wikidata_id,
        mention.aliases,
        kind,
    )
