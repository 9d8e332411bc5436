"""The topic files' phrase syntax, compiled into an index that finds all phrases in one pass."""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final

# Verbs whose past forms do not follow the rules; the lexicons name any others with `|`.
_IRREGULAR: Final = {
    "say": ["said"],
    "tell": ["told"],
    "take": ["took", "taken"],
    "send": ["sent"],
    "fight": ["fought"],
    "write": ["wrote", "written"],
    "go": ["went", "gone"],
    "come": ["came"],
    "leave": ["left"],
    "flee": ["fled"],
    "give": ["gave", "given"],
    "get": ["got", "gotten"],
    "put": ["put"],
    "make": ["made"],
    "find": ["found"],
    "run": ["ran"],
    "begin": ["began", "begun"],
    "feel": ["felt"],
    "beat": ["beaten"],
    "throw": ["threw", "thrown"],
    "rewrite": ["rewrote", "rewritten"],
    "set": ["set"],
    "spend": ["spent"],
    "bring": ["brought"],
    "lead": ["led"],
    "hold": ["held"],
}
_VOWELS: Final = set("aeiou")
# Verbs of two or more syllables stressed on the last one double it too (admit -> admitted).
_DOUBLING: Final = {
    "acquit", "admit", "commit", "compel", "control", "deter", "enrol", "equip", "expel",
    "incur", "occur", "omit", "patrol", "permit", "prefer", "propel", "refer", "regret",
    "submit", "transfer", "transmit", "rebel", "remit", "repel", "allot", "abet", "confer",
}
NUMBER_WORDS: Final = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "dozen": 12,
}


def inflect(verb: str) -> list[str]:
    """A verb's base, third-person, past and -ing forms (regular rules plus a few irregulars)."""
    forms = [verb]
    if verb.endswith("e"):
        forms += [verb + "s", verb + "d", verb[:-1] + "ing"]
    elif verb.endswith("y") and len(verb) > 2 and verb[-2] not in _VOWELS:
        forms += [verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"]
    elif re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", verb) or verb in _DOUBLING:
        # One-syllable consonant-vowel-consonant verbs double the last letter (stop -> stopped).
        forms += [verb + "s", verb + verb[-1] + "ed", verb + verb[-1] + "ing"]
    elif verb.endswith(("s", "sh", "ch", "x", "z")):
        forms += [verb + "es", verb + "ed", verb + "ing"]
    else:
        forms += [verb + "s", verb + "ed", verb + "ing"]
    return forms + _IRREGULAR.get(verb, [])


def _word_alternatives(word: str) -> list[str]:
    alternatives: list[str] = []
    for option in word.split("|"):
        if option.endswith("+") and len(option) > 1:
            alternatives += inflect(option[:-1])
        else:
            alternatives.append(option)
    return list(dict.fromkeys(alternatives))


_NUMBER: Final = re.compile(r"^(\d[\d,.]*|" + "|".join(NUMBER_WORDS) + ")$")
_DIGITS: Final = re.compile(r"\d[\d,.]*$")


def _is_number(word: str) -> bool:
    """Whether a token is a number (digits or a number word): `_NUMBER` without a regex call
    for every token."""
    if word in NUMBER_WORDS:
        return True
    return word[:1].isdigit() and _DIGITS.match(word) is not None


@dataclass(frozen=True)
class Element:
    """One position of a phrase: a set of words, a gap of up to three words, a number, ..."""

    kind: str  # word | optional | gap | content | number | literal
    words: frozenset[str] = frozenset()


def compile_phrase(phrase: str) -> list[Element]:
    """One phrase of the lexicon syntax as a list of elements."""
    elements: list[Element] = []
    for word in phrase.lower().split():
        if word == "*":
            elements.append(Element("gap"))
        elif word == "_":
            elements.append(Element("content"))
        elif word == "#":
            elements.append(Element("number"))
        elif word.startswith("?") and len(word) > 1:
            elements.append(Element("optional", frozenset(_word_alternatives(word[1:]))))
        elif "#-" in word:
            # "#-month" is tokenised as number, hyphen, word.
            elements += [
                Element("number"),
                Element("word", frozenset({"-"})),
                # "#-month|#-year": every alternative carries the "#-" prefix.
                Element("word", frozenset(_word_alternatives(word.replace("#-", "")))),
            ]
        else:
            # spaCy splits "n't" and possessive "'s" off; a phrase word with them becomes two tokens.
            for part in re.findall(r"n't|'s|[^']+'?|'", word):
                elements.append(Element("word", frozenset(_word_alternatives(part))))
    return elements


class PhraseIndex:
    """Phrases indexed by their first word, so a document is scanned once for all of them.

    spaCy's Matcher tests every pattern at every token; with a few hundred phrases that is the
    slowest step of the pipeline, while a dictionary look-up per token is nearly free.
    """

    def __init__(self) -> None:
        self._by_first: dict[str, list[tuple[Hashable, list[Element]]]] = {}
        self._number_first: list[tuple[Hashable, list[Element]]] = []
        # Number-first phrases whose second element is a word, by that word ("# months"):
        # tried only where the next token is one of them.
        self._number_then: dict[str, list[tuple[Hashable, list[Element]]]] = {}
        self._starter_words: frozenset[str] | None = None

    def _starters(self) -> frozenset[str]:
        """The words that can start a phrase (the number words too when a phrase starts with a
        number); computed again after `add`."""
        if self._starter_words is None:
            words = set(self._by_first)
            if self._number_first or self._number_then:
                words.update(NUMBER_WORDS)
            self._starter_words = frozenset(words)
        return self._starter_words

    def add(self, label: Hashable, phrases: list[str]) -> None:
        """Add phrases of the lexicon syntax under a label."""
        self._starter_words = None
        for phrase in phrases:
            elements = compile_phrase(phrase)
            first = elements[0]
            if first.kind == "word":
                for word in first.words:
                    self._by_first.setdefault(word, []).append((label, elements))
            elif first.kind == "number":
                if len(elements) > 1 and elements[1].kind == "word":
                    for word in elements[1].words:
                        self._number_then.setdefault(word, []).append((label, elements))
                else:
                    self._number_first.append((label, elements))
            else:
                raise ValueError(f"a phrase must start with a word or a number: {phrase!r}")

    def matches(self, lowers: list[str], content: list[bool]) -> list[tuple[Hashable, int, int]]:
        """(label, first token, end token) of every phrase occurrence, the shortest per start."""
        found: dict[tuple[Hashable, int], int] = {}
        count = len(lowers)
        numbered = bool(self._number_first or self._number_then)
        by_first = self._by_first
        # The positions where some phrase can start, found in one pass: a word that starts a
        # phrase, or a number when phrases start with one. Most tokens are neither.
        starters = self._starters()
        positions = [
            position
            for position, word in enumerate(lowers)
            if word in starters or numbered and word[:1].isdigit()
        ]
        for position in positions:
            word = lowers[position]
            candidates = by_first.get(word, ())
            # _is_number, inlined (a hot loop).
            if numbered and (
                word in NUMBER_WORDS or word[:1].isdigit() and _DIGITS.match(word) is not None
            ):
                then = (
                    self._number_then.get(lowers[position + 1], ())
                    if position + 1 < count
                    else ()
                )
                if self._number_first or then:
                    candidates = [*candidates, *self._number_first, *then]
            for label, elements in candidates:
                end = _match(elements, 1, position + 1, lowers, content, count)
                if end is not None and (
                    (label, position) not in found or end < found[(label, position)]
                ):
                    found[(label, position)] = end
        return [(label, first, end) for (label, first), end in found.items()]


def _match(
    elements: list[Element],
    k: int,
    position: int,
    lowers: list[str],
    content: list[bool],
    count: int,
) -> int | None:
    """The end of the shortest match of elements[k:] from position, or None.

    Plain elements are matched in a loop; only gaps and optional words, which can match in more
    than one way, recurse (a call per element was most of the matching time).
    """
    length = len(elements)
    while k < length:
        element = elements[k]
        kind = element.kind
        if kind == "gap":
            for skip in range(4):
                if position + skip > count:
                    break
                end = _match(elements, k + 1, position + skip, lowers, content, count)
                if end is not None:
                    return end
            return None
        if kind == "optional":
            end = _match(elements, k + 1, position, lowers, content, count)
            if end is not None:
                return end
        if position >= count:
            return None
        word = lowers[position]
        if kind == "word" or kind == "optional":
            ok = word in element.words
        elif kind == "number":
            ok = _is_number(word)
        else:  # content
            ok = content[position]
        if not ok:
            return None
        k += 1
        position += 1
    return position
