"""The rule-based extractor: per sentence, type events, then find actors, dates, terms, numbers."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Final, cast

from spacy.tokens import Doc

from policytrace.documents import Document
from policytrace.extract.actors import ActorFinder, Mention
from policytrace.extract.dates import (
    DATE_UNIT_BEFORE,
    DATE_UNITS,
    DATE_WORDS,
    DateMention,
    anchor,
    find_dates,
)
from policytrace.extract.model import (
    ActorMention,
    CitedSourceRecord,
    ConditionRecord,
    DateValue,
    EventRecord,
    Evidence,
    Extraction,
    QuantityRecord,
)
from policytrace.extract.numbers import (
    NUMBER_WORDS_ALL,
    NumberMention,
    counted_noun,
    find_numbers,
)
from policytrace.extract.resources import CompiledTopic, ConditionRule, Policy, compiled_topic
from policytrace.extract.text import (
    Sentence,
    SentenceIndex,
    Tok,
    make_tokens,
    span_text,
    split_sentences,
)
from policytrace.extract.version import EXTRACTOR_NAME, EXTRACTOR_VERSION  # re-exported
from policytrace.topic import Topic

# Event types that only make sense for documents about the topic; other documents keep the
# generic ones (statements, complaints, legal steps, deaths, casualties, moves).
_TOPIC_EVENT_TYPES: Final = {
    "recruitment",
    "policy_start",
    "policy_change",
    "policy_end",
    "release",
    "combat",
    "mutiny",
    "crime",
}
_POLICY_EVENT_TYPES: Final = {"policy_start", "policy_change", "policy_end"}
# Who can introduce, change or end a policy. A policy event whose agents are none of these (only
# the recipients, "convicts no longer receive pardons", or the outlet that reports it) is one more
# mention of a policy event already told, not an event of its own.
_POLICY_OWNER_TYPES: Final = {
    "state",
    "government_body",
    "person",
    "armed_group",
    "military_unit",
    "court_or_prosecutor",
}
_INTERVIEW_QUESTIONS: Final = 2  # paragraphs that are a single question each make a document an interview
_INTERVIEWEE_BODY_TYPES: Final = {"ngo_or_research", "media_outlet", "government_body", "other"}
# who owns a policy that a later sentence changes without naming anyone: a state or a body
_POLICY_OWNERS: Final = {"state", "government_body"}
_PRONOUNS: Final = {"he", "she", "him", "her"}
_SUBJECT_PRONOUNS: Final = {"he", "she"}  # a sentence opening with these speaks of the last person
_REDUCED_RELATIVE_NEXT: Final = {"since", "after", "before", "during", "from", "in", "into", "by"}
_TOPIC_PREPOSITIONS: Final = {"of", "on", "about", "for"}
# before a noun: "the women's complaints", "her appeal" (not a verb: "had written to")
_DETERMINERS: Final = {"the", "a", "an", "'s", "’s", "her", "his", "their", "its", "our", "my", "of"}
_GERUND_AUXILIARIES: Final = {"being", "having", "been"}  # "after being pardoned", "having been freed"
# "according to the emergencies ministry": a body or outlet reporting on its own makes a statement
# even when the sentence tells the news it reports (docs/annotation.md 2.2)
_SOURCE_BODY_TYPES: Final = {"government_body", "media_outlet", "ngo_or_research"}
_SOURCE_LIST_WORDS: Final = {",", "and", "including", "the"}  # "cited by rights groups, including X"
# Who reports on their own when named together: "IStories, BBC Russian and Mediazona found".
_REPORTER_TYPES: Final = {"media_outlet", "ngo_or_research"}
_COORDINATORS: Final = {",", "and", "&", "the", "as", "well"}
_SUBJECT_GAP: Final = 6  # words between a coordinated subject and its speech verb
# Words ending in "s" that are no plural noun ("convicts fighting" vs "is fighting").
_NOT_PLURAL: Final = {"is", "was", "has", "does", "keeps", "continues", "starts", "begins", "goes",
               "comes", "stops", "always", "perhaps", "this", "its", "his", "hers", "us", "as"}
_VOICE_REACH: Final = 1  # sentences apart at most: an institution's and its spokesperson's words
_QUESTION_REACH: Final = 8  # words between "how many" / "whether" and the trigger it asks about
# paragraphs after the one where a state or body acted on a policy that still speak of its policy
_OWNER_REACH: Final = 4
_PARTICIPLE_REACH: Final = 12  # tokens after a policy event in which ", <verb>ing" describes that policy
_IMPLIED_REACH: Final = 2  # sentences of the paragraph searched back for a policy event's actors
_ENDED_AFTER_REACH: Final = 5  # words between an act and the verb that ends it
_COUNT_AUXILIARIES: Final = {"were", "was", "had", "have", "has", "been", "being", "are", "already"}
_COUNT_WORDS: Final = {"thousands", "hundreds", "dozens", "tens", "million", "millions", "thousand",
                "hundred"}
_CHANGED_AFTER_REACH: Final = 12  # words between a recruitment and the "instead" that makes it a change
_DENIAL_REACH: Final = 7  # words between a denied verb and the term of service it denies
# Casualty words that name no death: "she had been wounded" stays a casualty, not a death.
_NOT_DEADLY: Final = {"wounded", "injured", "hurt"}
# Policies are often the grammatical subject ("The pardon was replaced ..."): who acts on them is
# named in the sentence before.
_IMPLIED_ACTOR_TYPES: Final = {"policy_start", "policy_change", "policy_end"}
_GROUP_PRONOUNS: Final = {"they", "it"}
_QUANTIFIERS: Final = {"many", "most", "some", "all", "several", "few", "hundreds", "thousands", "dozens",
                "half", "none", "each", "both"}
_PRONOUN_AUXILIARIES: Final = {"was", "had", "has", "been", "is", "also", "then", "later", "reportedly"}
# Before a speech verb, these mark another occasion of the same speaker ("he later said").
_OCCASION_ADVERBS: Final = {"later", "earlier", "previously", "again", "subsequently"}
# Words between a pronoun and its speech verb: "he later said", "she has also claimed".
_SPEAKER_ADVERBS: Final = {"later", "also", "then", "has", "had", "have", "once", "again", "earlier",
                    "previously", "publicly", "repeatedly", "recently", "since", "already"}
# Modal verbs right before a speech verb: "the Kremlin will say", "it would tell": not said yet.
_MODALS: Final = {"will", "would", "could", "can", "may", "might", "should", "must", "'ll", "'d"}
_DESCRIPTION_LIMIT: Final = 200
_DATE_REACH: Final = 60  # characters between an event's trigger and its date expression
_SAID_DATE_REACH: Final = 12  # after a speech verb, only a date right after it: "said on Monday"
_DATE_BEFORE_ANCHOR: Final = 32  # a date expression starts at most this far before its anchor word
_DATE_AFTER_ANCHOR: Final = 28  # ... and ends at most this far after it
_NUMBER_BEFORE_ANCHOR: Final = 12  # "between", "from" and "a" start an amount before its first number
# Words that may anchor a date or an amount in `_anchors` (besides digits and currency signs).
_ANCHOR_WORDS: Final = DATE_WORDS | DATE_UNITS | NUMBER_WORDS_ALL
_CURRENCY_SIGNS: Final = "$€₽£"
_QUOTATION_MARKS: Final = frozenset({"“", "”", '"'})
_ENDED_CUES: Final = re.compile(
    r"\b(no longer|previous|old deal|used to|has ceased|discontinued|"
    r"scrapped|was gone|is gone|stopped|ended)\b",
    re.IGNORECASE,
)
_IN_FORCE_CUES: Final = re.compile(
    r"\b(now|new|currently|since the autumn|under the new)\b", re.IGNORECASE
)
_TIME_WINDOW_BEFORE: Final = re.compile(
    r"\b(in|within|over|past|last|next|for the past|the first)\s+"
    r"(?:just\s+|the\s+)?$",
    re.IGNORECASE,
)
_TIME_WINDOW_AFTER: Final = re.compile(r"^\s*(ago|later|earlier|before|after that|left)\b", re.IGNORECASE)
_NUMBER_OF: Final = re.compile(
    r"\b(?:(?:number|figure|total|count)\s+of\s+(?:the\s+)?|how\s+many\s+)", re.IGNORECASE
)
# "about 266,000, down from about 420,000": a bare number compared with the one before it counts
# the same thing.
_COMPARED: Final = re.compile(
    r"\b(?:compared\s+(?:with|to)|down\s+from|up\s+from|against|versus|vs\.?|rather\s+than|"
    r"from|to|and|or)\s+(?:about|around|roughly|some|nearly|almost|over|more\s+than|"
    r"fewer\s+than|less\s+than|at\s+least|just\s+)?\s*$",
    re.IGNORECASE,
)
# Small numbers written as words count the things a story mentions in passing ("two lawyers",
# "two reasons", "five other relatives"); annotators list them only when they count people held,
# recruited or killed, time, money or cases.
_SIDE_COUNT_LIMIT: Final = 10
# Between a date and a later trigger: a coordinated clause starts ("..., and was killed").
_OTHER_CLAUSE: Final = re.compile(
    r",\s*(?:and|but)\s|\b(?:and|but)\s+(?:was|were|had|has|have|then|later)\b", re.IGNORECASE
)
_CLAUSE_END: Final = re.compile(r"^\s*(?:[.,;:!?)\"”]|$)")
_RATE: Final = re.compile(r"\s+(?:a|per|each|every)\s+(month|week|day|year)\b", re.IGNORECASE)
# after a number: a prison term, time served or an age (`_is_sentence_length`)
_SENTENCE_LENGTH_AFTER: Final = re.compile(
    r"\s*(of (his|her|their|a|an|the) ([\w-]+ )?(sentence|term)|left to serve|"
    r"sentence|-old|old\b|"
    r"in prison|behind bars|ago|"
    # "an eleven-year term for armed robbery"; "four years into his term"
    r"term for|into\b)"
)
_ISO_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# "Name, 58,": a number in this range after a person's name
_AGE_MIN: Final = 14
_AGE_MAX: Final = 110


@dataclass(init=False)
class Attribution:
    """Who a sentence attributes its content to, and the words that say so."""

    cue_first: int
    cue_last: int
    phrase: str
    claimant: Mention | None
    source_name: str | None
    verb: bool = True  # "X said" (True) or "according to X" (False)
    pronoun: bool = False  # the speaker is a pronoun ("he said") resolved to an earlier actor

    # Written out so that mypyc compiles it (docs/architecture.md, "The compiled extractor").
    def __init__(
        self,
        cue_first: int,
        cue_last: int,
        phrase: str,
        claimant: Mention | None,
        source_name: str | None,
        verb: bool = True,
        pronoun: bool = False,
    ) -> None:
        self.cue_first = cue_first
        self.cue_last = cue_last
        self.phrase = phrase
        self.claimant = claimant
        self.source_name = source_name
        self.verb = verb
        self.pronoun = pronoun


class SentenceFacts:
    """What one sentence yielded, kept for links between kinds (quantity -> event)."""

    # A plain class, not a dataclass: one is made per sentence, and a dataclass's generated
    # __init__ stays interpreted Python when the module is compiled.
    def __init__(self, sentence: Sentence) -> None:
        self.sentence = sentence
        self.events: list[tuple[int, int, int]] = []  # (index, first, last)
        self.conditions: list[tuple[int, int, int]] = []
        self.claimant: Mention | None = None


class DocumentExtractor:
    """Extraction of one document with a compiled topic."""

    def __init__(self, document: Document, topic: CompiledTopic) -> None:
        self.document = document
        self.topic = topic
        self.text = document.text
        self.doc: Doc = topic.nlp.make_doc(self.text)
        self.toks = make_tokens(self.doc, self.text)
        self.sentences = split_sentences(self.toks)
        self.index = SentenceIndex(self.sentences)
        self.quoted = _quoted_tokens(self.toks)
        self.lowers = [token.lower_ for token in self.toks]
        self.content = [not (token.is_punct or token.is_space) for token in self.toks]
        # Positions of the words that can anchor a date or an amount (see `_anchors`), found in
        # one pass over the document: most tokens are neither, and a per-sentence loop over all
        # of them was a hot spot.
        self._anchor_candidates = [
            position
            for position, word in enumerate(self.lowers)
            if word in _ANCHOR_WORDS or word[:1].isdigit() or word[:1] in _CURRENCY_SIGNS
        ]
        self.published: date | None = _local_date(document)
        self.extraction = Extraction(document.source_id, EXTRACTOR_NAME, EXTRACTOR_VERSION)
        self._condition_keys: set[tuple[str, str, float | None, str | None]] = set()
        self._main_policy: Policy | None = None
        self._event_policies: list[str | None] = []  # per event: the policy its sentence is about
        # the state or body that last acted on a policy, and the paragraph it did so in, for
        # policy sentences naming nobody
        self._policy_owner: tuple[str, int] | None = None
        self._new_occasion: list[bool] = []  # per event: a statement that marks its own occasion
        self._actor_types: dict[str, str] = {}
        self._term_verbs: list[int] | None = None  # positions of `terms` verbs, for _terms_start
        self._cue_positions: list[int] | None = None  # positions of policy cue words
        # set by run() once the actors are found
        self.mentions_by_sentence: dict[int, list[Mention]] = {}
        self.on_topic = False
        self._mention_types: dict[str, str] = {}
        self._questions: set[int] = set()  # sentences that are an interviewer's questions
        self._recruited: list[tuple[int, str]] = []  # (token, key) of each recruited group named

    def run(self) -> Extraction:
        """Everything extracted from the document."""
        mentions = ActorFinder(
            self.topic, self.doc, self.toks, self.text, self.sentences, self.index
        ).find()
        for mention in mentions:
            sentence = self.index.of_token(mention.first)
            if sentence is not None:
                self.mentions_by_sentence.setdefault(sentence.index, []).append(mention)
                self.extraction.actors.append(self._actor_record(mention, sentence))
        self.on_topic = self._is_on_topic(mentions)
        self._mention_types = {mention.key: mention.actor_type for mention in mentions}
        # an interviewer's questions ask; the answers report
        self._questions = {s.index for s in self._interview_questions()}
        groups = self.topic.recruited_groups
        self._recruited = [(m.first, m.key) for m in mentions if m.key in groups]
        by_label = self._matches()
        previous_date: DateValue | None = None
        last_person: Mention | None = None
        last_actor: Mention | None = None
        last_speaker: Mention | None = None
        last_speaker_sentence = last_person_sentence = -1
        for sentence in self.sentences:
            sentence_mentions = self.mentions_by_sentence.get(sentence.index, [])
            date_anchors, number_anchors = self._anchors(sentence)
            dates = self._dates(sentence, date_anchors)
            numbers = self._numbers(sentence, number_anchors)
            resolved: list[tuple[DateMention, DateValue]] = []
            for date_mention in dates:
                value = anchor(date_mention, previous_date)
                if value is not None and self.published is not None and value.start > self.published:
                    # After the article ("the following year", a planned date): the text does not
                    # report it as having happened, so it dates nothing here.
                    value = None
                if value is not None:
                    resolved.append((date_mention, value))
                    previous_date = value
            # '"...," he added' after "Peskov said the decrees are signed by Putin": the pronoun
            # speaker is the person who spoke in that sentence, not the person spoken about
            speaking = (
                last_speaker
                if last_speaker is not None
                and last_person is not None
                and last_speaker_sentence == last_person_sentence
                and sentence.index - last_speaker_sentence <= 2
                else last_person
            )
            attributions = self._attributions(
                sentence, by_label, sentence_mentions, speaking, last_actor
            )
            for attribution in attributions:
                claimant = attribution.claimant
                if attribution.verb and claimant is not None and claimant.actor_type == "person":
                    last_speaker, last_speaker_sentence = claimant, sentence.index
            result = SentenceFacts(sentence)
            result.claimant = next((a.claimant for a in attributions if a.claimant), None)
            if sentence.index not in self._questions and not self._is_reference(sentence):
                self._sentence_events(
                    sentence, by_label, sentence_mentions, resolved, attributions, result, last_person
                )
            if self.on_topic and sentence.index not in self._questions:
                self._sentence_conditions(sentence, by_label, numbers, result)
            self._sentence_quantities(sentence, dates, numbers, result)
            for attribution in attributions:
                self._cite(attribution, sentence)
            for mention in sentence_mentions:
                if self.quoted[mention.first]:
                    continue  # "the president" inside a quote is not who "he said" refers to
                last_actor = mention
                if mention.actor_type == "person":
                    last_person, last_person_sentence = mention, sentence.index
        self._interview_statement()
        self._merge_events()
        return self.extraction

    def _is_reference(self, sentence: Sentence) -> bool:
        """An endnote ("[8] Count of criminal cases by independent journalists, December 2023."):
        a list of sources, which reports nothing itself."""
        position = sentence.first
        while position < sentence.last and self.lowers[position] in ("-", "*", "•"):
            position += 1
        return (
            position + 2 < sentence.last
            and self.lowers[position] == "["
            and self.lowers[position + 1].isdigit()
            and self.lowers[position + 2] == "]"
        )

    def _interview_questions(self) -> list[Sentence]:
        """The questions of an interview: paragraphs that are one question each (two or more),
        after an introduction that says it is an interview (`interview_cues`); [] otherwise."""
        questions = [
            s
            for index, s in enumerate(self.sentences)
            if self.text[s.start : s.end].rstrip().endswith("?")
            and (index == 0 or self.sentences[index - 1].paragraph != s.paragraph)
            and (
                index + 1 == len(self.sentences)
                or self.sentences[index + 1].paragraph != s.paragraph
            )
        ]
        if len(questions) < _INTERVIEW_QUESTIONS:
            return []
        intro = [s for s in self.sentences if s.paragraph < questions[0].paragraph]
        if not intro or not self.topic.interview_cues.intersection(
            self.lowers[intro[0].first : intro[-1].last]
        ):
            return []  # an explainer with question headings, not an interview
        return questions

    def _interview_statement(self) -> None:
        """An interview is a statement of the interviewee: the first person named in the
        introduction, with the body named in the same sentence ("Marina Lapteva is a lawyer with
        Open Gate, ..."), docs/annotation.md 2.2."""
        if not self._questions:
            return
        first_question = min(self._questions)
        intro = [s for s in self.sentences if s.index < first_question]
        for sentence in intro:
            mentions = [
                m for m in self.mentions_by_sentence.get(sentence.index, []) if not self.quoted[m.first]
            ]
            person = next((m for m in mentions if m.actor_type == "person"), None)
            if person is None:
                continue
            actors = [(person.key, "claimant")]
            body = next((m for m in mentions if m.actor_type in _INTERVIEWEE_BODY_TYPES), None)
            if body is not None and body.first > person.first:
                actors.append((body.key, "claimant"))  # the body the interviewee speaks for
            record = EventRecord(
                event_type="statement",
                trigger=span_text(self.text, self.toks, person.first, person.last),
                description=_clip(self.text[sentence.start : sentence.end]),
                evidence=self._evidence(sentence, person.first, person.last),
                claimant_key=person.key,
                attribution="interview",
                actors=actors,
            )
            self.extraction.events.append(record)
            self._event_policies.append(None)
            self._new_occasion.append(False)
            return

    # --- matches ------------------------------------------------------------------------------
    def _matches(self) -> dict[str, dict[int, list[tuple[str, int, int]]]]:
        """Lexicon hits grouped by kind and sentence: {kind: {sentence index: [(label, first, last)]}}."""
        grouped: dict[str, dict[int, list[tuple[str, int, int]]]] = {
            "event": {},
            "attribution": {},
            "cue": {},
            "condition": {},
        }
        hits = self.topic.phrases.matches(self.lowers, self.content)
        for kind_label, first, last in sorted(hits, key=lambda hit: hit[1]):
            kind, label = cast("tuple[str, str]", kind_label)
            sentence = self.index.of_token(first)
            if sentence is None or last > sentence.last:
                continue
            grouped[kind].setdefault(sentence.index, []).append((label, first, last))
        return grouped

    def _anchors(self, sentence: Sentence) -> tuple[list[int], list[int]]:
        """Tokens that a date expression, or an amount, must contain.

        The regex grammars are the slowest step; they run only where these words occur.
        """
        date_anchors: list[int] = []
        number_anchors: list[int] = []
        lowers = self.lowers
        for position in _between(self._anchor_candidates, sentence.first, sentence.last):
            word = lowers[position]
            if word in DATE_WORDS or word[:1].isdigit() and len(word) == 4:
                date_anchors.append(position)
            elif word in DATE_UNITS and (
                lowers[position - 1] in DATE_UNIT_BEFORE
                or position + 1 < len(lowers)
                and lowers[position + 1] == "ago"
            ):
                date_anchors.append(position)  # "last year", "two weeks ago"; not "six months"
            if word in NUMBER_WORDS_ALL or word[:1].isdigit() or word[:1] in _CURRENCY_SIGNS:
                number_anchors.append(position)
        return date_anchors, number_anchors

    def _numbers(self, sentence: Sentence, anchors: list[int]) -> list[NumberMention]:
        """Amounts around the number words of a sentence."""
        found: dict[int, NumberMention] = {}
        covered = sentence.start
        for position in anchors:
            token = self.toks[position]
            start = max(covered, token.idx - _NUMBER_BEFORE_ANCHOR)
            end = token.idx + len(token.text)
            if start >= end:
                continue
            for number in find_numbers(
                self.text, start, end, limit=sentence.end, sentence_start=sentence.start
            ):
                found.setdefault(number.start, number)
                covered = max(covered, number.end)
            covered = max(covered, end)
        return [found[start] for start in sorted(found)]

    def _dates(self, sentence: Sentence, anchors: list[int]) -> list[DateMention]:
        """Date expressions around the anchor words of a sentence."""
        found: dict[int, DateMention] = {}
        covered = -1
        for position in anchors:
            token = self.toks[position]
            start = max(sentence.start, token.idx - _DATE_BEFORE_ANCHOR, covered)
            end = min(sentence.end, token.idx + len(token.text) + _DATE_AFTER_ANCHOR)
            if start >= end:
                continue
            for mention in find_dates(
                self.text, start, end, self.published, sentence_start=sentence.start
            ):
                found.setdefault(mention.start, mention)
            covered = end
        return [found[start] for start in sorted(found)]

    def _is_on_topic(self, mentions: list[Mention]) -> bool:
        """Whether enough topic words occur outside local names ("Lukas Wagner", "Eastmoor Storm")."""
        in_local_names: set[int] = set()
        for mention in mentions:
            if not mention.registered:
                in_local_names.update(range(mention.first, mention.last))
        words = {
            word
            for position, word in enumerate(self.lowers)
            if word in self.topic.topic_words and position not in in_local_names
        }
        short_words, short_hits = self.topic.topic_short
        if sum(self.content) <= short_words:
            return len(words) >= short_hits  # a brief has room for few topic words
        return len(words) >= self.topic.topic_min_hits

    # --- actors -------------------------------------------------------------------------------
    def _evidence(self, sentence: Sentence, first: int, last: int) -> Evidence:
        span_start = self.toks[first].idx
        end_token = self.toks[last - 1]
        return Evidence(
            sentence.index,
            sentence.start,
            sentence.end,
            span_start,
            end_token.idx + len(end_token.text),
        )

    def _actor_record(self, mention: Mention, sentence: Sentence) -> ActorMention:
        return ActorMention(
            key=mention.key,
            name=mention.name,
            actor_type=mention.actor_type,
            surface=span_text(self.text, self.toks, mention.first, mention.last),
            evidence=self._evidence(sentence, mention.first, mention.last),
            is_registered=mention.registered,
            country=mention.country,
            wikidata_id=mention.wikidata_id,
            aliases=mention.aliases,
        )

    # --- attribution --------------------------------------------------------------------------
    def _attributions(
        self,
        sentence: Sentence,
        by_label: dict,
        mentions: list[Mention],
        last_person: Mention | None,
        last_actor: Mention | None,
    ) -> list[Attribution]:
        found = []
        for label, first, last in by_label["attribution"].get(sentence.index, []):
            if self.quoted[first]:
                continue  # "Whatever the recruiter said..." is part of a quotation
            phrase = span_text(self.text, self.toks, first, last)
            if phrase.lower() in self.topic.non_statements:
                continue  # "did not respond": neither a statement nor a source
            if label == "source_after":
                claimant = next((m for m in mentions if last <= m.first <= last + 5), None)
                name = None if claimant else self._noun_phrase_after(last, sentence.last)
                if claimant or name:
                    found.append(Attribution(first, last, phrase, claimant, name, verb=False))
                # "according to relatives and Ukrainian officials": each source of a coordinated
                # list is cited, and a body among them reports on its own
                while claimant is not None:
                    claimant = next(
                        (
                            m
                            for m in mentions
                            if 0 < m.first - claimant.last <= 3
                            and all(
                                self.lowers[p] in _SOURCE_LIST_WORDS
                                for p in range(claimant.last, m.first)
                            )
                        ),
                        None,
                    )
                    if claimant is not None:
                        found.append(
                            Attribution(first, last, phrase, claimant, None, verb=False)
                        )
                continue
            claimant = self._speaker(first, last, sentence, mentions, last_person, last_actor)
            earlier = next((a for a in reversed(found) if a.verb and a.claimant), None)
            if (
                earlier is not None
                and first > sentence.first
                and self.lowers[first - 1] in ("and", "but")
            ):
                # "The Kremlin confirmed ..., but said the decrees are not published": the second
                # verb has the first one's subject
                claimant = earlier.claimant
            if claimant is not None:
                previous = self.lowers[first - 1] if first > sentence.first else ""
                pronoun = previous in _PRONOUNS or previous in _GROUP_PRONOUNS
                found.append(Attribution(first, last, phrase, claimant, None, pronoun=pronoun))
        return found

    def _speaker(
        self,
        first: int,
        last: int,
        sentence: Sentence,
        mentions: list[Mention],
        last_person: Mention | None,
        last_actor: Mention | None,
    ) -> Mention | None:
        """The speaker of "X said" / "said X" / '"...," she said'."""
        toks = self.toks
        after = next((m for m in mentions if last <= m.first <= last + 1), None)
        # "X, working separately, found that convicts ...": what follows "that" is what was
        # said, not who said it (it stays the last resort when no speaker is named before).
        content_after = toks[last - 1].lower_ == "that" or (
            last < len(toks) and toks[last].lower_ == "that"
        )
        if after is not None and not content_after and (
            first == sentence.first or toks[first - 1].text in {",", '"', "”", "’", "'"}
        ):
            return after  # "..., said Denis Korovin"
        if first - 1 > sentence.first and toks[first - 1].lower_ in ("they", "he", "she") and (
            toks[first - 2].lower_ in ("what", "as", "which", "whom")
        ):
            # "after what they say was promised", "as they say": the pronoun right before the
            # verb is its subject, not a name further back in the sentence
            pronoun = toks[first - 1].lower_
            if pronoun in _PRONOUNS:
                return last_person
            return None
        before = [
            m
            for m in mentions
            if m.last <= first and first - m.last <= 12 and not self.quoted[m.first]
        ]
        # The subject is the nearest actor not separated from the verb by a clause break.
        candidates = []
        for mention in before:
            between = {t.text for t in toks[mention.last : first]}
            if between & {'"', "“", "”", ";", ":"} or "said" in between:
                continue
            candidates.append(mention)
        if candidates:
            people = [m for m in candidates if m.actor_type == "person"]
            return (
                (people or candidates)[0]
                if first - candidates[-1].last > 3
                else (people[-1] if people else candidates[-1])
            )
        position = first - 1
        while position > sentence.first and toks[position].lower_ in _SPEAKER_ADVERBS:
            position -= 1  # "he later said", "she has also said"
        previous = toks[position].lower_ if position >= sentence.first else ""
        if previous in _PRONOUNS:
            return last_person
        if (
            previous in _GROUP_PRONOUNS
            and last_actor is not None
            and last_actor.actor_type != "person"
        ):
            return last_actor
        if content_after and position >= sentence.first and toks[position].is_alpha:
            # "EFRC assesses that the Kremlin ...", "A milblogger claimed that Storm V ...": an
            # unknown subject speaks; the actor after "that" is what was said about
            return None
        return after

    def _noun_phrase_after(self, position: int, limit: int) -> str | None:
        """The source named after "according to" when it is no known actor ("official statistics")."""
        words = []
        for token in self.toks[position : min(limit, position + 5)]:
            if token.is_punct or token.lower_ in ("and", "who", "that", "which", "in", "on", "by"):
                break
            words.append(token.text)
        while words and words[0].lower() in ("the", "a", "an"):
            words.pop(0)
        return " ".join(words) if words and len(words) <= 4 else None

    def _cite(self, attribution: Attribution, sentence: Sentence) -> None:
        if attribution.claimant is not None:
            name, key = attribution.claimant.name, attribution.claimant.key
        elif attribution.source_name:
            name, key = attribution.source_name, None
        else:
            return
        self.extraction.cited_sources.append(
            CitedSourceRecord(
                name=name,
                evidence=self._evidence(sentence, attribution.cue_first, attribution.cue_last),
                actor_key=key,
            )
        )

    # --- events -------------------------------------------------------------------------------
    def _sentence_events(
        self,
        sentence: Sentence,
        by_label: dict,
        mentions: list[Mention],
        dates: list[tuple[DateMention, DateValue]],
        attributions: list[Attribution],
        result: SentenceFacts,
        last_person: Mention | None = None,
    ) -> None:
        cues = by_label["cue"].get(sentence.index, [])
        triggers = []
        for trigger_type, first, last in self._triggers(sentence, by_label, mentions):
            clause_type = self._clause_type(trigger_type, first, cues)
            if clause_type is not None:
                triggers.append((clause_type, first, last))
        if not triggers and not attributions:
            return  # most sentences: no event, and what follows only filters and reads
        # "X did not confirm that pardons had stopped": what a denied cue reports is not news
        denied_from = min(
            (
                a.cue_last
                for a in attributions
                if a.verb
                and any(
                    label == "negation" and a.cue_first - 3 <= cue_first < a.cue_first
                    for label, cue_first, _ in cues
                )
            ),
            default=None,
        )
        if denied_from is not None:
            triggers = [t for t in triggers if t[1] < denied_from]
        policy_at = min((t[1] for t in triggers if t[0] in _POLICY_EVENT_TYPES), default=None)
        if policy_at is not None:
            # "has taken over that role, sending convicts to the front": a participle clause
            # after a policy event says what the policy does, not something else that happened
            triggers = [
                t
                for t in triggers
                if t[0] in _POLICY_EVENT_TYPES
                or not (
                    policy_at < t[1] <= policy_at + _PARTICIPLE_REACH
                    and self.lowers[t[1]].endswith("ing")
                    and self.lowers[t[1] - 1] == ","
                )
            ]
        terms_from = self._terms_start(sentence)
        if terms_from is not None:
            kinds = self.topic.terms[2]
            triggers = [t for t in triggers if not (t[0] in kinds and t[1] > terms_from)]
        has_quote = bool(attributions) and any(self.quoted[sentence.first : sentence.last])
        for attribution in attributions:
            # "according to X" attributes the sentence's news; it is X's statement only when
            # the sentence reports nothing else. What a population says ("relatives say") is a
            # source, but rarely a statement event of its own.
            if (
                attribution.claimant is not None
                and (
                    attribution.verb
                    or not triggers
                    or attribution.claimant.actor_type in _SOURCE_BODY_TYPES
                )
                and attribution.claimant.actor_type != "population_group"
                and self._is_statement(attribution, cues, has_quote)
                # "Oyelaran said the association had written to the council": the speaker
                # reports a grievance, which is the complaint (docs/annotation.md 2.2)
                and not any(
                    t[0] == "complaint"
                    and t[1] > attribution.cue_first
                    # "forwarded the women's complaints": someone else's grievance, a noun
                    and self.lowers[t[1] - 1] not in _DETERMINERS
                    for t in triggers
                )
            ):
                triggers.append(("statement", attribution.cue_first, attribution.cue_last))
        grievance = any(label == "grievance" for label, _, _ in cues)
        seen_types: set[str] = set()
        seen_speakers: set[tuple[str, str | None]] = set()
        claimant = result.claimant
        for event_type, first, last in sorted(triggers, key=lambda t: t[1]):
            event_type = self._refine_type(event_type, first, last, mentions)
            spoken = event_type == "statement"
            if spoken and grievance:
                # "said they had not been consulted": what is said is a grievance
                event_type = "complaint"
            if (
                event_type in seen_types and not spoken
                or not self.on_topic and event_type in _TOPIC_EVENT_TYPES
            ):
                continue
            actors = self._event_actors(
                first, last, mentions, "statement" if spoken else event_type, attributions
            )
            if self.quoted[first] and self._first_person(first):
                # a grievance told in the first person inside a quote belongs to the speaker
                # (the last person named outside quotes), not to whom it was addressed
                person = claimant if claimant and claimant.actor_type == "person" else last_person
                actors = [(person.key, "agent")] if person is not None else []
            if not actors and event_type in _IMPLIED_ACTOR_TYPES:
                actors = self._implied_actors(sentence)
                if (
                    not actors
                    and self._policy_owner is not None
                    and sentence.paragraph - self._policy_owner[1] <= _OWNER_REACH
                ):
                    # "New, stricter regulations have been implemented" opening a paragraph:
                    # the owner of the policy the article has just been telling about
                    actors = [(self._policy_owner[0], "agent")]
            if event_type == "recruitment" and not any(
                key in self.topic.recruited_groups for key, _ in actors
            ):
                # "her husband signed up in September": a recruit of the group the article is
                # about (the last one of `recruited_groups` it named)
                index = bisect_left(self._recruited, (first, "")) - 1
                if index >= 0:
                    actors = [*actors, (self._recruited[index][1], "target")]
            group = self._group_antecedent(sentence, first)
            if group is not None and all(key != group for key, _ in actors):
                # "Many of them have been killed, according to relatives": the convicts of the
                # sentence before, not the sources
                actors = [(group, "agent"), *actors]
            if (
                not spoken  # a speaker comes from the attribution cues
                and last_person is not None
                and all(key != last_person.key for key, _ in actors)
                and self._pronoun_subject(sentence, first)
            ):
                # "He ... was pardoned and returned", "She complained to the prosecutor"
                actors = [(last_person.key, "agent"), *actors]
            if not actors:
                continue
            cited_report = False
            if spoken:
                # one statement per speaker, and one more for an outlet a source cue names:
                # "X assessed ..., consistent with reporting by A" gives X's and A's
                # (docs/annotation.md 2.2)
                speaker = next((key for key, role in actors if role == "claimant"), None)
                reported = any(
                    a.cue_first == first
                    and not a.verb
                    and a.claimant is not None
                    and a.claimant.actor_type in _REPORTER_TYPES
                    for a in attributions
                )
                if (event_type, speaker) in seen_speakers or (
                    event_type in seen_types and not reported
                ):
                    continue
                seen_speakers.add((event_type, speaker))
                # the outlets cited for another speaker's statement published their own
                # reports: another occasion than anything else they say in the document
                cited_report = reported and event_type in seen_types
            seen_types.add(event_type)
            date_value = self._nearest_date(first, last, dates, said=spoken)
            negated = any(
                label == "negation" and first - 4 <= cue_first < first
                for label, cue_first, _ in cues
            )
            hedged = any(
                label == "hedge"
                and (first - 6 <= cue_first < first or self.toks[cue_first].lower_ == "reportedly")
                for label, cue_first, _ in cues
            )
            claimed = next((a for a in attributions if a.claimant is not None), None)
            event_claimant = claimant.key if claimant else None
            if spoken:
                event_claimant = next(
                    (key for key, role in actors if role == "claimant"), event_claimant
                )
            record = EventRecord(
                event_type=event_type,
                trigger=span_text(self.text, self.toks, first, last),
                description=_clip(self.text[sentence.start : sentence.end]),
                evidence=self._evidence(sentence, first, last),
                date=date_value,
                claimant_key=event_claimant,
                attribution=claimed.phrase if claimed else None,
                is_negated=negated,
                is_hedged=hedged,
                actors=actors,
            )
            result.events.append((len(self.extraction.events), first, last))
            self.extraction.events.append(record)
            if event_type in _POLICY_EVENT_TYPES:
                owner = next(
                    (
                        key
                        for key, role in actors
                        if role == "agent" and self._mention_types.get(key) in _POLICY_OWNERS
                    ),
                    None,
                )
                if owner is not None:
                    self._policy_owner = (owner, sentence.paragraph)
            self._event_policies.append(
                self._policy_for(sentence).key if event_type in _POLICY_EVENT_TYPES else None
            )
            self._new_occasion.append(
                event_type == "statement"
                and (
                    cited_report
                    or bool(_OCCASION_ADVERBS.intersection(self.lowers[max(0, first - 3) : first]))
                )
            )
            if cited_report:
                self._cited_reporters(record, first, attributions, result)
            elif event_type == "statement":
                self._co_reporters(record, first, last, mentions, result)

    def _cited_reporters(
        self, record: EventRecord, first: int, attributions: list[Attribution], result: SentenceFacts
    ) -> None:
        """"..., consistent with reporting by IStories, BBC Russian and Mediazona": each outlet
        of the list cited by the source cue made its own report (docs/annotation.md 2.2)."""
        speaker = record.claimant_key
        record.actors = [(speaker, "claimant")] if speaker else record.actors
        for attribution in attributions:
            claimant = attribution.claimant
            if (
                attribution.cue_first != first
                or attribution.verb
                or claimant is None
                or claimant.key == speaker
                or claimant.actor_type not in _REPORTER_TYPES
            ):
                continue
            self._add_statement_copy(record, claimant.key, first, attribution.cue_last, result)

    def _add_statement_copy(
        self, record: EventRecord, speaker: str, first: int, last: int, result: SentenceFacts
    ) -> None:
        """The same statement by another speaker of the same sentence, on the same occasion."""
        copy = EventRecord(
            event_type="statement",
            trigger=record.trigger,
            description=record.description,
            evidence=record.evidence,
            date=record.date,
            claimant_key=speaker,
            attribution=record.attribution,
            is_negated=record.is_negated,
            is_hedged=record.is_hedged,
            actors=[(speaker, "claimant")],
        )
        result.events.append((len(self.extraction.events), first, last))
        self.extraction.events.append(copy)
        self._event_policies.append(None)
        self._new_occasion.append(self._new_occasion[-1] if self._new_occasion else False)

    def _co_reporters(
        self,
        record: EventRecord,
        first: int,
        last: int,
        mentions: list[Mention],
        result: SentenceFacts,
    ) -> None:
        """"IStories, BBC Russian and Mediazona reported ...": each outlet or organisation of a
        coordinated subject reports on its own, so each gets its own statement (docs/annotation.md
        2.2). The chain is the run of such actors joined only by commas and "and" that ends
        nearest before the speech verb."""
        chain: list[Mention] = []
        for mention in mentions:
            if mention.last > first or self.quoted[mention.first]:
                continue
            if mention.actor_type not in _REPORTER_TYPES:
                continue
            if not self.toks[mention.first].text[:1].isupper():
                chain = []  # "independent outlets": a group noun, not a named reporter
                continue
            if chain and chain[-1].last == mention.first:
                chain[-1] = mention  # "the outlets IStories": the name, not the group noun
            elif chain and all(
                self.lowers[p] in _COORDINATORS
                for p in range(self._possessive_tail_end(chain[-1].last), mention.first)
            ):
                chain.append(mention)
            else:
                chain = [mention]
        if len(chain) < 2 or first - chain[-1].last > _SUBJECT_GAP:
            return
        members = {m.key for m in chain}
        speaker = next((key for key, role in record.actors if role == "claimant"), None)
        cited = speaker  # the attribution cites its own speaker (`_cite`); the others are cited here
        if speaker not in members:
            # "the independent outlets IStories, BBC Russian and Mediazona": the outlets named,
            # not the phrase that groups them, are the speakers
            speaker = chain[0].key
        # a statement lists its speaker, not the co-speakers (docs/annotation.md 2.5)
        record.claimant_key = speaker
        record.actors = [(speaker, "claimant")] + [
            a
            for a in record.actors
            if a[0] not in members and a[0] != speaker and a[1] != "claimant"
        ]
        for mention in chain:
            if mention.key != cited:
                self.extraction.cited_sources.append(
                    CitedSourceRecord(
                        name=mention.name, evidence=record.evidence, actor_key=mention.key
                    )
                )
            if mention.key == speaker:
                continue
            self._add_statement_copy(record, mention.key, first, last, result)

    def _possessive_tail_end(self, position: int) -> int:
        """Past "'s Russian service" after a name ("the BBC's Russian service and Mediazona"):
        the possessive and up to three words that name a part of the same body."""
        if position >= len(self.lowers) or self.lowers[position] not in ("'s", "’s"):
            return position
        end = position + 1
        while (
            end < len(self.lowers)
            and end - position <= 3
            and self.toks[end].is_alpha
            and self.lowers[end] not in _COORDINATORS
        ):
            end += 1
        return end

    def _is_statement(
        self, attribution: Attribution, cues: list[tuple[str, int, int]], has_quote: bool
    ) -> bool:
        """Whether an attribution reports a statement, not a non-answer or a quote's speaker.

        "did not respond" and "has never confirmed" say nothing; '"...," he said' is one more quote
        of a speaker already named, evidence for the news rather than news of its own.
        """
        if attribution.phrase.lower() in self.topic.non_statements:
            return False
        first, last = attribution.cue_first, attribution.cue_last
        if any(
            label == "negation" and first - 3 <= cue_first < first for label, cue_first, _ in cues
        ):
            return False
        if last < len(self.lowers) and self.lowers[last] in ("nothing", "none"):
            return False
        if self.text[: attribution_sentence_end(self, first)].rstrip().endswith("?"):
            return False  # "What did the Kremlin say?": a question, not a claim
        if any(word in _MODALS for word in self.lowers[max(0, first - 3) : first]):
            return False  # "The Kremlin will say that ...": a prediction, not a statement
        return not (attribution.verb and attribution.pronoun and has_quote)

    def _counted_subject(self, first: int) -> bool:
        """Whether the subject right before a trigger is a number of people ("50,000 prisoners
        had", "between 100,000 and 180,000 have been")."""
        position = first - 1
        while position > 0 and self.lowers[position] in _COUNT_AUXILIARIES:
            position -= 1
        if position < first - 1 and self.lowers[position] in self.topic.counted_units:
            position -= 1  # the counted noun: "prisoners"
        word = self.lowers[position] if position >= 0 else ""
        return position < first - 1 and (word[:1].isdigit() or word in _COUNT_WORDS)

    def _first_person(self, first: int) -> bool:
        """"I wrote to ...", "I have complained": the trigger's subject is the quote's speaker."""
        position = first - 1
        while position > 0 and self.lowers[position] in _SPEAKER_ADVERBS:
            position -= 1
        return position >= 0 and self.toks[position].text == "I"

    def _clause_type(
        self, event_type: str, first: int, cues: list[tuple[str, int, int]]
    ) -> str | None:
        """The event type a trigger stands for in its clause; None for background clauses."""
        lowers = self.lowers
        rules = self.topic.background
        if event_type == "recruitment" and self.topic.changed_after:
            # "inmates have been signed up for Storm V units instead": the new terms replace old
            for position in range(first + 1, min(len(lowers), first + 1 + _CHANGED_AFTER_REACH)):
                if not self.content[position]:
                    break
                if lowers[position] in self.topic.changed_after:
                    return "policy_change"
        if event_type in ("recruitment", "release"):
            window = " ".join(lowers[max(0, first - 4) : first])
            if any(cue in window for cue in self.topic.ended_cues):
                return "policy_end"  # "were no longer being pardoned"
            # "recruitment into Storm Z reportedly stopped": the act is the subject of an ending
            singles, pairs = _split_cues(self.topic.ended_after)
            for position in range(first + 1, min(len(lowers), first + 1 + _ENDED_AFTER_REACH)):
                if not self.content[position]:
                    break
                word = lowers[position]
                if word in singles or (word in pairs and lowers[position - 1] in pairs[word]):
                    return "policy_end"
        if event_type == "combat" and self._counted_subject(first):
            # "50,000 prisoners were sent to the front", "between 100,000 and 180,000 have been
            # sent": a count of who went, told as a figure, not an occasion of fighting
            return None
        if "quoted" in rules and event_type in rules["quoted"][1] and self.quoted[first]:
            if not (event_type == "complaint" and self._first_person(first)):
                return None  # '"I wrote to the ministry," she said' is her complaint (below)
        if event_type == "statement" and any(
            label == "negation" and first - 3 <= cue_first < first for label, cue_first, _ in cues
        ):
            return None  # "has never confirmed": no claim was published
        previous = lowers[first - 1] if first > 0 else ""
        if event_type == "combat" and previous == "the" and first > 1 and lowers[first - 2] == "for":
            return None  # "recruiting prisoners for the fight in Ukraine": a purpose
        words, types = rules.get("infinitive", (frozenset(), frozenset()))
        if event_type in types and previous in words:
            return None
        words, types = rules.get("gerund", (frozenset(), frozenset()))
        if (
            event_type in types
            and lowers[first].endswith(("ing", "ment"))
            and (
                previous in words
                # "figures on the recruitment of women", "the scale of convict recruitment":
                # what is talked about (not "after the recruitment", which may assert it)
                or first > 1
                and lowers[first - 2] in _TOPIC_PREPOSITIONS
                and (previous == "the" or lowers[first].endswith("ment") and previous.isalpha())
            )
        ):
            return None  # "by signing", "information about (the) recruitment"
        if event_type in types:
            # "after being pardoned", "after having been released": a passive or perfect gerund
            position = first - 1
            while position > 0 and lowers[position] in _GERUND_AUXILIARIES:
                position -= 1
            if (
                position < first - 1
                and lowers[position + 1] != "been"
                and lowers[position] in words
            ):
                return None
        if (
            event_type in ("combat", "release")
            and lowers[first].endswith("ing")
            and previous.endswith("s")
            and previous.isalpha()
            and previous not in _NOT_PLURAL
        ):
            return None  # "convicts fighting for Wagner": a participle describing a group
        if (
            event_type in ("recruitment", "release")
            and lowers[first].endswith("ed")
            and previous.endswith("s")
            and previous.isalpha()
            and previous not in _NOT_PLURAL
            and first + 1 < len(lowers)
            and lowers[first + 1] in _REDUCED_RELATIVE_NEXT
        ):
            # "convicts recruited since the autumn no longer get pardons": a reduced relative
            # that picks out the group (docs/annotation.md 2.1), not a recruitment of its own
            return None
        words, types = rules.get("modal", (frozenset(), frozenset()))
        if event_type in types and any(w in words for w in lowers[max(0, first - 3) : first]):
            return None
        words, types = rules.get("conditional", (frozenset(), frozenset()))
        if event_type in types:
            for position in range(first - 1, max(0, first - 5) - 1, -1):
                if not self.content[position]:
                    break
                if lowers[position] in words:
                    return None
        words, types = rules.get("question", (frozenset(), frozenset()))
        if event_type in types:
            # "nobody knows how many prisoners have been sent to the front", "whether their
            # killers have been released": an open question, not something reported as done
            singles, pairs = _split_cues(words)
            for position in range(first - 1, max(0, first - _QUESTION_REACH) - 1, -1):
                if not self.content[position]:
                    break
                word = lowers[position]
                if word in singles or (
                    word in pairs and position > 0 and lowers[position - 1] in pairs[word]
                ):
                    return None
        words, types = rules.get("avoided", (frozenset(), frozenset()))
        if event_type in types and any(w in words for w in lowers[max(0, first - 3) : first]):
            return None
        words, types = rules.get("relative", (frozenset(), frozenset()))
        if event_type in types:
            position = first - 1
            while position > 0 and lowers[position] in self.topic.background_skip:
                position -= 1
            if lowers[position] in words and (position == 0 or lowers[position - 1] != ","):
                # "prisoners who fought" identifies the prisoners; ", who was released in the
                # summer," (after a comma) adds an occurrence of its own and stays an event
                return None
        return event_type

    def _triggers(
        self, sentence: Sentence, by_label: dict, mentions: list[Mention]
    ) -> list[tuple[str, int, int]]:
        """Event triggers of a sentence, outside actor names, longest first where they overlap."""
        hits = by_label["event"].get(sentence.index)
        if not hits:
            return []  # most sentences: no need to collect the tokens of their actor names
        inside: set[int] = set()
        for mention in mentions:
            inside.update(range(mention.first, mention.last))
        candidates = []
        for label, first, last in hits:
            # A trigger inside an actor's name does not count ("Storm" in "Storm Z"); one that
            # only starts in a name ("Wagner recruiters arrived") or holds one in a gap of its
            # phrase ("beaten Vasily Tikhonov to death") does.
            if first in inside and last - 1 in inside:
                continue
            before = self.toks[first - 1].lower_ if first > sentence.first else ""
            if before in self.topic.blockers.get(label, ()):
                continue
            if last < sentence.last and self.lowers[last] in self.topic.noun_uses.get(label, ()):
                continue  # "recruiting offices": the trigger word modifies a noun
            candidates.append((label, first, last))
        # "The uprising ended within a day": an ending whose subject is another event's word
        # ends that event, not a policy.
        event_ends = {last for label, _, last in candidates if label not in _POLICY_EVENT_TYPES}
        candidates = [
            c
            for c in candidates
            if not (c[0] == "policy_end" and (c[1] in event_ends or self._ends_in_outcome(c)))
        ]
        # "had stopped recruiting", "ended pardons": the act named after an ending is what ended
        ends = {last for label, _, last in candidates if label == "policy_end"}
        candidates = [
            c for c in candidates if not (c[0] in ("recruitment", "release") and c[1] in ends)
        ]
        candidates.sort(key=lambda c: (-(c[2] - c[1]), c[1]))
        kept: list[tuple[str, int, int]] = []
        for candidate in candidates:
            if all(
                candidate[2] <= other[1]
                or candidate[1] >= other[2]
                or _reports(other, candidate)
                for other in kept
            ):
                kept.append(candidate)
        return kept

    def _ends_in_outcome(self, candidate: tuple[str, int, int]) -> bool:
        """ "The feud ended in a mutiny": "ended in a ..." names an outcome, not a policy's end."""
        _, _, last = candidate
        return (
            self.lowers[last - 1] == "in"
            and last < len(self.lowers)
            and self.lowers[last] in ("a", "an")
        )

    def _pronoun_subject(self, sentence: Sentence, first: int) -> bool:
        """Whether a sentence opens with "he" / "she" as its subject (outside quotes), so that an
        event with no actor named is the last person's ("He spent six months at the front, was
        pardoned and returned home"). A pronoun later in the sentence may stand for a noun of
        the sentence ("the daughter called: she had been wounded"), so it does not count."""
        start = sentence.first
        while start < first and not self.content[start]:
            start += 1
        if self.lowers[start] in _SUBJECT_PRONOUNS and not self.quoted[start]:
            return True
        # "..., and two months later he was dead": the pronoun right before the trigger (past
        # auxiliaries) is its subject; it stands for the last person when the sentence names no
        # person, nor a noun for one, before it
        position = first - 1
        while position > start and self.lowers[position] in _PRONOUN_AUXILIARIES:
            position -= 1
        if position <= start or self.lowers[position] not in _SUBJECT_PRONOUNS:
            return False
        if self.quoted[position]:
            return False
        person_words = self.topic.person_nouns
        return not any(
            self.lowers[p] in person_words for p in range(sentence.first, position)
        ) and not any(
            m.actor_type == "person" and m.first < position
            for m in self.mentions_by_sentence.get(sentence.index, [])
        )

    def _terms_start(self, sentence: Sentence) -> int | None:
        """Where the terms of a law begin: "a law on October 2 allowing defendants ... to be
        released": the verb of allowing after a word for a law (`terms` in events.yaml)."""
        verbs, nouns, _ = self.topic.terms
        if not verbs:
            return None
        lowers = self.lowers
        if self._term_verbs is None:
            # Where the verbs occur in the document, found once: then a sentence without one
            # costs two bisections instead of a loop over its words.
            self._term_verbs = [p for p, word in enumerate(lowers) if word in verbs]
        for position in _between(self._term_verbs, sentence.first + 1, sentence.last):
            if any(
                lowers[p] in nouns for p in range(max(sentence.first, position - 6), position)
            ):
                return position
        return None

    def _group_antecedent(self, sentence: Sentence, first: int) -> str | None:
        """The group a sentence opening with "Many of them" / "Most of those" / "Many were" is
        about: the last group named in the sentence before, in the same paragraph."""
        start = sentence.first
        while start < first and not self.content[start]:
            start += 1
        lowers = self.lowers
        if lowers[start] not in _QUANTIFIERS or start + 1 > first:
            return None
        # The position check comes first so that a quantifier near the end never reads past it.
        partitive = (start + 3 <= first and lowers[start + 1] == "of"
                     and lowers[start + 2] in ("them", "those"))
        # "Many were killed in the battle for Bakhmut": the quantifier alone is the subject
        bare = lowers[start + 1] in _COUNT_AUXILIARIES
        if not (partitive or bare):
            return None
        if sentence.index == 0:
            return None
        before = self.sentences[sentence.index - 1]
        if before.paragraph != sentence.paragraph:
            return None
        groups = [
            m
            for m in self.mentions_by_sentence.get(before.index, [])
            if m.actor_type == "population_group" and not self.quoted[m.first]
        ]
        return groups[-1].key if groups else None

    def _implied_actors(self, sentence: Sentence) -> list[tuple[str, str]]:
        """Actors of a policy sentence in the passive ("The pardon was replaced by conditional
        release."): those of the nearest sentence before it in the same paragraph (at most two
        back, since 1.5) that names any, who set the scene."""
        actors: list[tuple[str, str]] = []
        for index in range(sentence.index - 1, max(-1, sentence.index - 1 - _IMPLIED_REACH), -1):
            before = self.sentences[index]
            if before.paragraph != sentence.paragraph:
                break
            for mention in self.mentions_by_sentence.get(before.index, []):
                if self.quoted[mention.first] or any(mention.key == key for key, _ in actors):
                    continue
                actors.append((mention.key, "agent"))
            if actors:
                break  # the nearest sentence that names someone sets the scene
        return actors

    def _refine_type(self, event_type: str, first: int, last: int, mentions: list[Mention]) -> str:
        """A death is of a named person; killings of groups are casualties."""
        if event_type not in ("death", "casualties"):
            return event_type
        near = [m for m in mentions if abs(m.first - first) <= 10]
        # "he was killed", "X ... was killed": one person's death, named or not nearby.
        singular = any(
            word in ("was", "he", "she", "his", "her")
            for word in self.lowers[max(0, first - 4) : first + 1]
        )
        has_person = singular or any(m.actor_type == "person" for m in near)
        if event_type == "death" and not has_person:
            return "casualties"
        if (
            event_type == "casualties"
            and self.lowers[first] not in _NOT_DEADLY
            and has_person
            and not any(m.actor_type == "population_group" for m in near)
        ):
            return "death"
        return event_type

    def _event_actors(
        self,
        first: int,
        last: int,
        mentions: list[Mention],
        event_type: str,
        attributions: list[Attribution],
    ) -> list[tuple[str, str]]:
        actors: list[tuple[str, str]] = []
        claimants = {a.claimant.key for a in attributions if a.claimant is not None}
        if event_type == "statement":
            own_cues = [a for a in attributions if a.cue_first == first and a.claimant]
            # "according to relatives and Ukrainian officials": the body is the speaker
            own = next(
                (a for a in own_cues if a.claimant is not None and a.claimant.actor_type != "population_group"),
                own_cues[0] if own_cues else None,
            )
            if own is not None and own.claimant is not None:
                actors.append((own.claimant.key, "claimant"))
        for mention in mentions:
            if mention.key in claimants and event_type != "statement":
                role = "claimant"
            else:
                role = "agent" if mention.last <= first else "target"
            if all(mention.key != key for key, _ in actors):
                actors.append((mention.key, role))
        return actors

    def _nearest_date(
        self,
        first: int,
        last: int,
        dates: list[tuple[DateMention, DateValue]],
        said: bool = False,
    ) -> DateValue | None:
        """The closest date expression of the sentence, if it is close enough to be the event's.

        A statement is dated by when it was made ("In reports published in February, X found
        that ...", "X said on Monday that ..."), not by the dates of what it reports: after a
        speech verb only a date right after it counts.
        """
        start = self.toks[first].idx
        end = self.toks[last - 1].idx + len(self.toks[last - 1].text)
        best: DateValue | None = None
        best_distance: int | None = None
        for mention, value in dates:
            if said and mention.start >= end and mention.start - end > _SAID_DATE_REACH:
                continue
            distance = mention.start - end if mention.start >= end else start - mention.end
            if mention.start < start and _OTHER_CLAUSE.search(self.text, mention.end, end):
                # "led a mutiny in June and was killed in a plane crash in August": a date
                # before "and" + a new verb dates the clause before, not this one
                distance += _DATE_REACH
            if best_distance is None or distance < best_distance:
                best, best_distance = value, distance
        # Far-away dates belong to another clause ("men who left last summer ... come home").
        return best if best_distance is not None and best_distance <= _DATE_REACH else None

    def _same_voice(self, first: EventRecord, later: EventRecord) -> bool:
        """Whether a statement retells the one just before it in the voice of its speaker's
        institution or spokesperson ("The Kremlin confirmed ... Kremlin spokesman Dmitry Peskov
        told reporters ..."): the later statement names the first one's speaker among its own
        actors, or the other way round, a sentence or two later."""
        if first.event_type != "statement":
            return False
        if not 0 < later.evidence.sentence_index - first.evidence.sentence_index <= _VOICE_REACH:
            return False
        main_first, main_later = _main_actor(first), _main_actor(later)
        if main_first is None or main_later is None or main_first == main_later:
            return False
        types = self._actor_types
        if (types.get(main_first) == "person") == (types.get(main_later) == "person"):
            return False  # a person and an institution, not two people or two bodies
        first_keys = {key for key, _ in first.actors}
        later_keys = {key for key, _ in later.actors}
        return main_first in later_keys or main_later in first_keys

    def _voices_grievance(self, complaint: EventRecord, later: EventRecord, new: bool) -> bool:
        """Whether a statement right after a complaint is the complainant voicing it on the same
        occasion ('... had not been consulted. "Half our customers come by tram," said X'): a
        grievance is a complaint, not also a statement (docs/annotation.md 2.2)."""
        if complaint.event_type != "complaint" or later.event_type != "statement" or new:
            return False
        if later.date is not None:
            return False
        if not 0 < later.evidence.sentence_index - complaint.evidence.sentence_index <= 2:
            return False
        speaker, complainant = _main_actor(later), _main_actor(complaint)
        if speaker is None or complainant is None:
            return False
        # the complainant speaks, or speaks through its chair or spokesperson (named together)
        return any(
            key == speaker and role in ("claimant", "agent") for key, role in complaint.actors
        ) or any(key == complainant for key, _ in later.actors)

    def _later_starts_are_changes(self) -> None:
        """A policy that the article has already seen start ("since March, suspects can sign a
        contract") is changed, not started, by a later law on it ("the Duma adopted it in
        September", "Putin signed a law on October 2 that allows defendants ...")."""
        starts = [
            (index, event, event.date)
            for index, event in enumerate(self.extraction.events)
            if event.event_type == "policy_start"
            and event.date is not None
            and self._event_policies[index] is not None
        ]
        for index, event, start_date in starts:
            if any(
                self._event_policies[other_index] == self._event_policies[index]
                and other_date.end < start_date.start
                for other_index, _, other_date in starts
            ):
                event.event_type = "policy_change"

    def _merge_events(self) -> None:
        """One row per event: later mentions of the same event (type, main actor, date) are dropped.

        A policy event told again without its owner ("this rule has now been discontinued, as
        reported by X", "convicts no longer receive pardons") is the same event as the earlier
        mention of that type about the same policy: its actors (and, when the first has none,
        its claimant) join the first mention's.
        """
        types = {a.key: a.actor_type for a in self.extraction.actors}
        self._actor_types = types
        self._later_starts_are_changes()
        kept: list[EventRecord] = []
        kept_policies: list[str | None] = []
        kept_occasion: list[bool] = []
        remap: dict[int, int] = {}
        for index, event in enumerate(self.extraction.events):
            main = _main_actor(event)
            policy = self._event_policies[index]
            repeat = policy is not None and not any(
                role == "agent" and types.get(key) in _POLICY_OWNER_TYPES
                for key, role in event.actors
            )
            target = None
            for kept_index, other in enumerate(kept):
                if not _compatible(other.date, event.date):
                    continue
                if other.event_type != event.event_type:
                    if self._voices_grievance(other, event, self._new_occasion[index]):
                        target = kept_index
                        break
                    continue
                if (other.date is None or event.date is None) and (
                    self._new_occasion[index]
                    or (event.date is not None and kept_occasion[kept_index])
                    # a letter sent "last week" and the grievance told to the reporter are two
                    # complaints (docs/annotation.md 2.2)
                    or event.event_type == "complaint"
                    and (other.date is None) != (event.date is None)
                ):
                    # "He later said ...", "In February he said ...": the same speaker on
                    # another occasion is another statement (docs/annotation.md 2.2)
                    continue
                if (
                    _main_actor(other) == main
                    or (repeat and kept_policies[kept_index] == policy)
                    or self._same_voice(other, event)
                ):
                    target = kept_index
                    break
            if target is None:
                remap[index] = len(kept)
                kept.append(event)
                kept_policies.append(policy)
                kept_occasion.append(self._new_occasion[index])
                continue
            remap[index] = target
            other = kept[target]
            other.supporting.append(event.evidence)
            if other.date is None and event.date is not None:
                other.date = event.date
            if other.claimant_key is None and event.claimant_key is not None:
                # "..., as reported by the BBC": who reports the repeat reports the event
                other.claimant_key, other.attribution = event.claimant_key, event.attribution
            for actor in event.actors:
                if all(actor[0] != key for key, _ in other.actors):
                    other.actors.append(actor)
        self.extraction.events = kept
        for quantity in self.extraction.quantities:
            if quantity.event_index is not None:
                quantity.event_index = remap[quantity.event_index]

    # --- policy conditions --------------------------------------------------------------------
    def _sentence_conditions(
        self,
        sentence: Sentence,
        by_label: dict,
        numbers: list[NumberMention],
        result: SentenceFacts,
    ) -> None:
        topic = self.topic
        cues = by_label["cue"].get(sentence.index, [])
        for rule_id, first, last in by_label["condition"].get(sentence.index, []):
            rule = topic.condition_rules[rule_id]
            if rule.context and not self._in_context(sentence, rule.context):
                continue
            value = unit = None
            if rule.takes_duration:
                number = self._duration_at(first, last, numbers)
                if number is None or _is_sentence_length(self.text, number):
                    continue
                value, unit = number.value, number.unit
            negated = any(
                label == "negation" and first - 3 <= cue_first < first
                for label, cue_first, _ in cues
            ) or (
                # "did not guarantee his freedom after six months": a term after a denied verb
                # of its own clause is denied too
                rule.takes_duration
                and any(
                    label == "negation"
                    and first - _DENIAL_REACH <= cue_first < first
                    and all(self.content[p] for p in range(cue_first, first))
                    for label, cue_first, _ in cues
                )
            )
            if negated and rule.condition_type != "termination":
                # "did not guarantee his freedom", "for a year, not six months": a term denied
                # is not a term of the policy (a denied pardon is the termination rule's job).
                continue
            policy = self._policy_for(
                sentence, (first, last) if rule.condition_type == "termination" else None
            )
            if self._seen_condition(policy.key, rule, value, unit):
                continue
            sentence_text = self.text[sentence.start : sentence.end]
            status = (
                "ended"
                if rule.condition_type == "termination" or _ENDED_CUES.search(sentence_text)
                else "in_force"
                if _IN_FORCE_CUES.search(sentence_text)
                else "unknown"
            )
            result.conditions.append((len(self.extraction.conditions), first, last))
            self.extraction.conditions.append(
                ConditionRecord(
                    policy_key=policy.key,
                    policy_name=policy.name,
                    condition_type=rule.condition_type,
                    description=_clip(sentence_text),
                    evidence=self._evidence(sentence, first, last),
                    value=value,
                    unit=unit,
                    status=status,
                    is_negated=negated,
                )
            )
            self._condition_keys.add((policy.key, rule.group, value, unit))

    def _seen_condition(
        self, policy_key: str, rule: ConditionRule, value: float | None, unit: str | None
    ) -> bool:
        # A document states a term once per policy; repeats of "six months" are the same term.
        return (policy_key, rule.group, value, unit) in self._condition_keys

    def _in_context(self, sentence: Sentence, context: str) -> bool:
        window, words = self.topic.contexts[context]
        for index in range(max(0, sentence.index - window), sentence.index + 1):
            other = self.sentences[index]
            if any(token.lower_ in words for token in self.toks[other.first : other.last]):
                return True
        return False

    def _duration_at(
        self, first: int, last: int, numbers: list[NumberMention]
    ) -> NumberMention | None:
        start, end = self.toks[first].idx, self.toks[last - 1].idx + len(self.toks[last - 1].text)
        for number in numbers:
            if (
                number.is_time
                and number.value is not None
                and number.start < end
                and number.end > start
            ):
                return number
        return None

    def _policy_for(self, sentence: Sentence, term: tuple[int, int] | None = None) -> Policy:
        """The policy whose cue words the sentence (or its paragraph, or the document) uses most.

        A termination belongs to what it ends: the cue words of the term itself decide first
        ("convicts no longer receive pardons" ends the pardon deal, "nobody is signed into
        Storm Z any more" ends Storm Z; docs/annotation.md 3), then the sentence around it.
        """
        found = None
        if term is not None:
            found = self._policy_by_cues(*term)
        if found is None:
            found = self._policy_by_cues(sentence.first, sentence.last)
        if found is not None:
            return found
        earlier = sentence.index
        while (
            earlier > 0
            and sentence.index - earlier < 3
            and self.sentences[earlier - 1].paragraph == sentence.paragraph
        ):
            earlier -= 1
        if earlier < sentence.index:
            first = self.sentences[earlier].first
            found = self._policy_by_cues(first, sentence.first)
            if found is not None:
                return found
        return self._document_policy()

    def _policy_by_cues(self, first: int, last: int) -> Policy | None:
        """The policy whose cue words occur most in tokens [first, last), when one leads."""
        cues = self.topic.policy_cues
        lowers = self.lowers
        if self._cue_positions is None:
            # Where cue words occur, found once per document: this is asked for every policy
            # sentence and its paragraph, and most of their words are no cue.
            self._cue_positions = [p for p, word in enumerate(lowers) if word in cues]
        counts: dict[int, int] = {}
        for position in _between(self._cue_positions, first, last):
            for index in cues[lowers[position]]:
                counts[index] = counts.get(index, 0) + 1
        leader, alone = _leader(counts)
        return self.topic.policies[leader] if alone else None

    def _document_policy(self) -> Policy:
        """The policy the whole document is most about (counted once)."""
        if self._main_policy is None:
            counts: dict[int, int] = {}
            cues = self.topic.policy_cues
            for word in self.lowers:
                for index in cues.get(word, ()):
                    counts[index] = counts.get(index, 0) + 1
            leader, _ = _leader(counts)
            self._main_policy = self.topic.policies[max(leader, 0)]
        return self._main_policy

    # --- quantities ---------------------------------------------------------------------------
    def _sentence_quantities(
        self,
        sentence: Sentence,
        dates: list[DateMention],
        numbers: list[NumberMention],
        result: SentenceFacts,
    ) -> None:
        text = self.text
        for number in numbers:
            if any(d.start <= number.start < d.end for d in dates):
                continue  # "3 July", "2022": part of a date
            if number.is_time and (
                _TIME_WINDOW_BEFORE.search(text, max(0, number.start - 20), number.start)
                or _TIME_WINDOW_AFTER.search(text[number.end : number.end + 14])
            ):
                continue
            age = self._is_age(sentence, number)
            unit = "year" if age else number.unit or self._implied_unit(sentence, number)
            if unit is None or self._is_side_count(number, unit):
                continue
            if (
                not self.on_topic
                and not age
                and (number.is_time or unit.endswith(("second", "seconds")))
            ):
                continue  # off the topic, durations are the story's clock, not its figures
            rate = _RATE.match(text, number.end)
            if rate and unit.isupper():
                unit = f"{unit} per {rate.group(1).lower()}"  # "200,000 roubles a month"
            event_index = _nearest(result.events, self.toks, number.start)
            condition_index = _nearest(result.conditions, self.toks, number.start)
            evidence = Evidence(
                sentence.index, sentence.start, sentence.end, number.start, number.end
            )
            self.extraction.quantities.append(
                QuantityRecord(
                    text=number.text,
                    unit=unit,
                    evidence=evidence,
                    value=number.value,
                    value_low=number.value_low,
                    value_high=number.value_high,
                    is_approximate=number.is_approximate,
                    claimant_key=result.claimant.key if result.claimant else None,
                    event_index=event_index,
                    condition_index=condition_index,
                )
            )

    def _is_age(self, sentence: Sentence, number: NumberMention) -> bool:
        """ "a 74-year-old man", "Galina Rudneva, 58,": a person's age in years."""
        if number.value is None:
            return False
        if number.text.lower().endswith(("-year-old", " year old", " years old")):
            return True
        if not (number.text.isdigit() and _AGE_MIN <= number.value <= _AGE_MAX):
            return False
        if self.text[number.start - 2 : number.start] != ", " or not _CLAUSE_END.match(
            self.text[number.end : number.end + 2]
        ):
            return False
        name_end = number.start - 2
        return any(
            m.actor_type == "person"
            and self.toks[m.last - 1].idx + len(self.toks[m.last - 1].text) == name_end
            for m in self.mentions_by_sentence.get(sentence.index, [])
        )

    def _is_side_count(self, number: NumberMention, unit: str) -> bool:
        """ "two lawyers", "two reasons": a small count in words of something outside the topic."""
        if number.value is None or number.value >= _SIDE_COUNT_LIMIT:
            return False
        if any(ch.isdigit() for ch in number.text) or number.is_time:
            return False
        head = unit.split()[-1].lower()
        return head not in self.topic.counted_units and head.rstrip("s") not in self.topic.counted_units

    def _implied_unit(self, sentence: Sentence, number: NumberMention) -> str | None:
        """The unit of a bare number: "the number of convicts ... at about 40,000"."""
        before = self.text[sentence.start : number.start]
        matches = list(_NUMBER_OF.finditer(before))
        if matches:
            return counted_noun(self.text, sentence.start + matches[-1].end(), number.start)
        # "down from about 420,000": the unit of the number it is compared with.
        if _COMPARED.search(before[-40:]):
            for quantity in reversed(self.extraction.quantities):
                if quantity.evidence.sentence_index == sentence.index:
                    return quantity.unit
                break
        # "His contract said twelve." / "Before the war it was about 420,000.": a number that
        # ends its clause counts what the number just before it counted.
        if not _CLAUSE_END.match(self.text[number.end : number.end + 2]):
            return None
        for quantity in reversed(self.extraction.quantities):
            if quantity.evidence.sentence_index >= sentence.index - 1:
                return quantity.unit
            break
        return None


_SPLIT_CUES: Final[dict[frozenset[str], tuple[frozenset[str], dict[str, set[str]]]]] = {}


def _split_cues(words: frozenset[str]) -> tuple[frozenset[str], dict[str, set[str]]]:
    """One-word cues, and two-word cues as {second word: first words} (computed once)."""
    found = _SPLIT_CUES.get(words)
    if found is None:
        pairs: dict[str, set[str]] = {}
        for cue in words:
            parts = cue.split()
            if len(parts) == 2:
                pairs.setdefault(parts[1], set()).add(parts[0])
        found = (frozenset(w for w in words if " " not in w), pairs)
        _SPLIT_CUES[words] = found
    return found


def _leader(counts: dict[int, int]) -> tuple[int, bool]:
    """The key counted most (the first counted on a tie, as `Counter.most_common`; -1 when there
    is none) and whether it leads alone. A plain loop: `Counter` is interpreted, and the policy
    vote runs for most sentences of a policy document."""
    leader, leader_count, alone = -1, 0, False
    for key, count in counts.items():
        if count > leader_count:
            leader, leader_count, alone = key, count, True
        elif count == leader_count:
            alone = False
    return leader, alone


def _between(positions: list[int], first: int, last: int) -> list[int]:
    """The sorted positions that fall in tokens [first, last): found by bisection, as the
    per-document position lists (anchors, cue words, terms verbs) are asked for every sentence."""
    return positions[bisect_left(positions, first) : bisect_left(positions, last)]


def _quoted_tokens(tokens: list[Tok]) -> list[bool]:
    """For each token, whether it stands inside quotation marks (reset at each paragraph)."""
    # Only quotation marks and spaces change the state: visit those, fill the runs between them.
    marks = [
        position
        for position, token in enumerate(tokens)
        if token.is_space or token.text in _QUOTATION_MARKS
    ]
    flags = [False] * len(tokens)
    inside, previous = False, 0
    for position in marks:
        if inside:
            flags[previous:position] = [True] * (position - previous)
        token = tokens[position]
        text = token.text
        if token.is_space and "\n" in text:
            inside = False
        if text == "“":
            inside = True
        elif text == "”":
            inside = False
        elif text == '"':
            inside = not inside
        previous = position
    if inside:
        flags[previous:] = [True] * (len(tokens) - previous)
    return flags


def _nearest(items: list[tuple[int, int, int]], toks: list[Tok], position: int) -> int | None:
    best: int | None = None
    best_distance: int | None = None
    for index, first, _last in items:
        distance = abs(toks[first].idx - position)
        if best_distance is None or distance < best_distance:
            best, best_distance = index, distance
    return best


def attribution_sentence_end(extractor: DocumentExtractor, position: int) -> int:
    """Where the sentence of a token ends."""
    sentence = extractor.index.of_token(position)
    return sentence.end if sentence is not None else len(extractor.text)


def _reports(outer: tuple[str, int, int], inner: tuple[str, int, int]) -> bool:
    """Whether a statement trigger reports another event inside its own words: "counted about
    190 criminal cases" is a published count and the cases themselves."""
    return (
        outer[0] == "statement"
        and inner[0] != "statement"
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
    )


def _main_actor(event: EventRecord) -> str | None:
    for key, role in event.actors:
        if role == "claimant" and event.event_type == "statement":
            return key
    for key, role in event.actors:
        if role == "agent":
            return key
    return event.actors[0][0] if event.actors else None


def _compatible(left: DateValue | None, right: DateValue | None) -> bool:
    if left is None or right is None:
        return True
    return left.start <= right.end and right.start <= left.end


def _is_sentence_length(text: str, number: NumberMention) -> bool:
    """A prison term, time served or an age, not a term of service: "15 years of his sentence",
    "an eleven-year term for armed robbery", "four years into it", "34-year-old"."""
    after = text[number.end : number.end + 30].lower()
    return bool(_SENTENCE_LENGTH_AFTER.match(after)) or "-old" in number.text



def _clip(text: str) -> str:
    return (
        text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1].rstrip() + "…"
    )


def _local_date(document: Document) -> date | None:
    """The publication date as the publisher's calendar shows it (local time when known)."""
    local = document.published_local
    if local and _ISO_DAY.match(local):
        return date.fromisoformat(local[:10])
    return document.published_at.date() if document.published_at else None


def extract_document(document: Document, topic: Topic) -> Extraction:
    """Actors, events, policy conditions, quantities and cited sources of one document."""
    return DocumentExtractor(document, compiled_topic(topic)).run()
