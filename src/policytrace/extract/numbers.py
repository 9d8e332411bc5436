"""Numbers in text: digits, number words, ranges, vague amounts, and what is counted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from policytrace.extract.lexicon import NUMBER_WORDS

# Words without which a sentence holds no amount (checked before the regex runs).
NUMBER_WORDS_ALL: Final = frozenset(
    [
        *(w for w in NUMBER_WORDS if w not in ("a", "an")),
        "year",
        "month",
        "week",
        "half",
        "tens",
        "hundreds",
        "thousands",
        "dozens",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
    ]
)
_SMALL: Final = {w: v for w, v in NUMBER_WORDS.items() if w not in ("a", "an", "hundred", "dozen")}
_SCALES: Final = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "k": 1_000,
    "m": 1_000_000,
    "bn": 1_000_000_000,
}
TIME_UNITS: Final = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "hour": "hour",
    "hours": "hour",
    "minute": "minute",
    "minutes": "minute",
}
_MONEY_WORDS: Final = {
    "rouble": "RUB",
    "roubles": "RUB",
    "ruble": "RUB",
    "rubles": "RUB",
    "dollar": "USD",
    "dollars": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "hryvnia": "UAH",
    "hryvnias": "UAH",
}
_CURRENCY_SIGNS: Final = {"$": "USD", "€": "EUR", "₽": "RUB", "£": "GBP"}
# Words that end the noun phrase after a number ("50,000 prisoners were sent": stop at "were").
_PHRASE_STOP: Final = set(
    """of in at on for to from with by who whom whose which that had have has were was
are is be been being will would could can may might should and or but than as since left ago
later earlier before after into per each more fewer less out off up down over under about around
behind across through during between among against without within so if when while where
because although though not no said says say told according the a an his her their its our your
this these those it they he she we i you them him there here then also just only still already
even again back roughly nearly almost approximately some around""".split()
)
_APPROXIMATE: Final = re.compile(
    r"(?:about|around|roughly|some|nearly|almost|approximately|up to|more than|over|at least|"
    r"fewer than|less than|under|close to|closer to|an estimated|estimated|as many as|"
    r"at most|upwards of|just over|just under|well over)\s+$",
    re.IGNORECASE,
)
_APPROXIMATORS: Final = {
    "about",
    "some",
    "nearly",
    "around",
    "roughly",
    "almost",
    "approximately",
    "estimated",
    "only",
    "just",
    "over",
    "under",
}
_REFERENCE_WORDS: Final = {
    "no",
    "no.",
    "number",
    "article",
    "line",
    "part",
    "section",
    "chapter",
    "colony",
    "#",
    "page",
    "route",
    "bus",
    "tram",
    "gate",
    "unit",
    "room",
    "flight",
}

_WORD_NUMBER: Final = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|"
    r"four|five|six|seven|eight|nine))?|" + "|".join(sorted(_SMALL, key=len, reverse=True)) + r")"
)
_DIGITS: Final = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SCALE: Final = r"(?:\s*(?:hundred|thousand|million|billion|k|m|bn)\b)?"
# "two hundred thousand", "one hundred and ninety", "fifty thousand": word numbers with scales
_WORD_AMOUNT: Final = (
    rf"{_WORD_NUMBER}(?:\s+hundred(?:\s+(?:and\s+)?{_WORD_NUMBER})?)?"
    rf"(?:\s+(?:thousand|million|billion)(?:\s+(?:and\s+)?{_WORD_NUMBER}"
    rf"(?:\s+hundred(?:\s+(?:and\s+)?{_WORD_NUMBER})?)?)?)?"
)
_AMOUNT: Final = rf"(?:[$€₽£]\s?)?(?:{_DIGITS}|\b{_WORD_AMOUNT}\b)(?:\s+dozen\b)?{_SCALE}"
_NUMBER: Final = re.compile(
    rf"""
    (?P<vague>\b(?:tens|hundreds)\s+of\s+thousands\b|\b(?:thousands|hundreds|dozens)(?=\s+of\b))
  | (?P<half>\bhalf\s+a\s+year\b)
  | (?P<article>\b(?<=for\s)(?:a|one)(?=\s+(?:year|month|week)\b))
  | (?P<dozen>\b(?:a|two|three|four|several)\s+dozen\b)
  | \bbetween\s+(?P<low>{_AMOUNT})\s+and\s+(?P<high>{_AMOUNT})(?=\W)
  | (?:\bfrom\s+)?(?P<low2>{_AMOUNT})\s*(?:-|–|to)\s*(?P<high2>{_AMOUNT})(?=\W)
  | (?P<single>{_AMOUNT})
    """,
    re.VERBOSE | re.IGNORECASE,
)


def word_alternation(words: Iterable[str]) -> str:
    """A regex matching exactly one of the (lower-case) words, written as a trie.

    Python's `re` tries the branches of "one|two|three" one after another; the trie
    "(?:one|t(?:hree|wo))" fails after one character at most positions.
    """
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, dict]) -> str:
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return branch(tree)


# Where a match of _NUMBER can begin: a currency sign, a digit, or (at a word start) the first word
# of one of its alternatives. A cheap search for these positions replaces trying the whole grammar
# at every position; the grammar then runs only from them (same matches, same order, as finditer).
# A number that begins before `end` has its first word end before end + _START_SPAN, so the
# search for these positions may stop there.
_START_WORDS: Final = {
    *("tens", "hundreds", "thousands", "dozens", "half", "a", "one"),
    *("two", "three", "four", "several", "between", "from"),
    *_SMALL,
}
_NUMBER_START: Final = re.compile(
    r"[$€₽£\d]|\b" + word_alternation(_START_WORDS) + r"\b", re.IGNORECASE
)
_START_SPAN: Final = max(map(len, _START_WORDS)) + 1
_YEAR_LIKE: Final = re.compile(r"(?:19|20)\d\d")
_CLOCK: Final = re.compile(r"\d+[:.]\d\d\b")
_OF: Final = re.compile(r"\s+of\s+")
# parse_amount's and _unit_after's patterns, compiled once.
_SIGN: Final = re.compile(r"^[$€₽£]\s?")
_SCALE_SUFFIX: Final = re.compile(r"\s*(hundred|thousand|million|billion|k|m|bn)$")
_SCALE_ONLY: Final = re.compile(r"\s*(hundred|thousand|million|billion)")
_DIGITS_ONLY: Final = re.compile(_DIGITS)
_WORD_SPLIT: Final = re.compile(r"[\s-]+")
_LARGE: Final = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_HYPHEN_UNIT: Final = re.compile(r"-(year|month|week|day)(?:-old)?\b", re.IGNORECASE)
_PERCENT: Final = re.compile(r"\s*(%|per\s*cent|percent)", re.IGNORECASE)
_OF_PHRASE: Final = re.compile(r"\s+of\s+(?:his|her|their|the|them|those|these|its)\s+", re.IGNORECASE)
_VAGUE_BOUNDS: Final[dict[str, tuple[float, float]]] = {
    "tens of thousands": (20_000.0, 90_000.0),
    "hundreds of thousands": (200_000.0, 900_000.0),
    "thousands": (2_000.0, 9_000.0),
    "hundreds": (200.0, 900.0),
    "dozens": (24.0, 99.0),
}
_HEAD_WORD: Final = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(unsafe_hash=True, init=False)  # treated as frozen; see __init__
class NumberMention:
    """A number as written, its value (or range) and what it counts."""

    start: int
    end: int
    text: str
    unit: str | None
    value: float | None = None
    value_low: float | None = None
    value_high: float | None = None
    is_approximate: bool = False

    # Written out so that mypyc compiles it (docs/architecture.md, "The compiled extractor").
    def __init__(
        self,
        start: int,
        end: int,
        text: str,
        unit: str | None,
        value: float | None = None,
        value_low: float | None = None,
        value_high: float | None = None,
        is_approximate: bool = False,
    ) -> None:
        self.start = start
        self.end = end
        self.text = text
        self.unit = unit
        self.value = value
        self.value_low = value_low
        self.value_high = value_high
        self.is_approximate = is_approximate

    @property
    def is_time(self) -> bool:
        """True for durations (days, months, years ...)."""
        return self.unit in ("day", "week", "month", "year", "hour", "minute")


def parse_amount(text: str) -> float | None:
    """The value of "50,000", "1.5 million", "twenty-three", "two dozen", "$300"."""
    words = text.lower().replace("–", "-").strip()
    words = _SIGN.sub("", words)
    scale = 1.0
    scale_match = _SCALE_SUFFIX.search(words)
    if scale_match and not _SCALE_ONLY.fullmatch(words):
        scale = float(_SCALES[scale_match.group(1)])
        words = words[: scale_match.start()]
    if words.endswith(" dozen"):
        scale *= 12
        words = words[: -len(" dozen")]
    words = words.strip()
    if _DIGITS_ONLY.fullmatch(words):
        return float(words.replace(",", "")) * scale
    total = current = 0
    for part in _WORD_SPLIT.split(words):
        if part == "and":
            continue
        if part == "hundred":
            current = (current or 1) * 100
        elif part in _LARGE:
            total += (current or 1) * _LARGE[part]
            current = 0
        elif part in NUMBER_WORDS:
            current += NUMBER_WORDS[part]
        else:
            return None
    return float((total + current) * scale)


def _unit_after(text: str, position: int, limit: int) -> tuple[str | None, int]:
    """What a number counts, read from the words after it; and where that phrase ends."""
    rest = text[position:limit]
    hyphen = _HYPHEN_UNIT.match(rest)
    if hyphen:
        return TIME_UNITS[hyphen.group(1).lower()], position + hyphen.end()
    percent = _PERCENT.match(rest)
    if percent:
        return "percent", position + percent.end()
    of_phrase = _OF_PHRASE.match(rest)
    if of_phrase:
        rest, position = rest[of_phrase.end() :], position + of_phrase.end()
    words: list[str] = []
    end = position
    for match in _HEAD_WORD.finditer(rest):
        gap = rest[end - position : match.start()]
        if gap.strip() or (words and len(words) >= 3):
            break
        word = match.group(0)
        lower = word.lower()
        if (
            lower in _PHRASE_STOP
            or not lower.isalpha()
            and "-" not in lower
            or word[0].isupper()
            or lower.endswith("ed")
            and lower not in _MODIFIERS
            or lower in _VERBS
        ):
            break  # "50,000 joined", "190 cases opened": the verb ends the phrase
        words.append(lower)
        end = position + match.end()
        if lower in TIME_UNITS or lower in _MONEY_WORDS:
            break
        if lower not in _MODIFIERS:
            break
    if not words:
        return None, position
    head = words[-1]
    if head in TIME_UNITS:
        return TIME_UNITS[head], end
    if head in _MONEY_WORDS:
        return _MONEY_WORDS[head], end
    if len(words) > 1 and words[0] not in _MODIFIERS:
        words = words[-1:]
    return " ".join(words), end


def counted_noun(text: str, position: int, limit: int) -> str | None:
    """The noun phrase at position that says what is counted ("convicts" in "number of convicts")."""
    return _unit_after(text, position - 1, limit)[0] if position > 0 else None


_VERBS: Final = {
    "took",
    "went",
    "left",
    "came",
    "fought",
    "died",
    "were",
    "are",
    "signed",
    "joined",
    "am",
    "pm",
    "say",
    "said",
    "remain",
    "remained",
    "stayed",
    "got",
}
# Words that may stand between a number and the noun it counts ("five other relatives").
_MODIFIERS: Final = set(
    """former other more new old male female young criminal convicted pardoned
violent regular ukrainian russian russia's penal women's men's strict-regime separate additional
civilian military returned recruited active""".split()
)


def _is_reference(text: str, start: int) -> bool:
    """True for numbers that are names or labels: "No. 17", "Line 2", "Article 328"."""
    before = text[max(0, start - 12) : start].split()
    if not before:
        return False
    word = before[-1].lower()
    return word in _REFERENCE_WORDS or (
        before[-1][:1].isupper()
        and word.isalpha()
        and word not in _PHRASE_STOP
        and word not in _APPROXIMATORS
    )


def _matches(text: str, start: int, end: int, limit: int) -> Iterator[re.Match[str]]:
    """The matches of _NUMBER in text[:limit] that begin in [start, end), as finditer finds them.

    (`_NUMBER.finditer(text, start, limit)` gave the same matches, but when no number followed
    it tried the whole grammar at every position up to the end of the sentence.)
    """
    search_end = min(limit, end + _START_SPAN)
    position = start
    while position < end:
        candidate = _NUMBER_START.search(text, position, search_end)
        if candidate is None or candidate.start() >= end:
            return
        position = candidate.start()
        match = _NUMBER.match(text, position, limit)
        if match is None:
            position += 1
            continue
        yield match
        position = match.end()  # never empty: every alternative consumes a character


def find_numbers(
    text: str,
    start: int,
    end: int,
    excluded: list[tuple[int, int]] | tuple[()] = (),
    limit: int | None = None,
    sentence_start: int | None = None,
) -> list[NumberMention]:
    """Numbers starting in text[start:end] that are amounts (not years, dates, labels or times).

    `limit` is where the sentence ends (what a number counts is read up to there) and
    `sentence_start` where it begins (approximation words are looked for back to there).
    """
    mentions = []
    limit = end if limit is None else limit
    first_char = start if sentence_start is None else sentence_start
    for match in _matches(text, start, end, limit):
        if excluded and any(s <= match.start() < e for s, e in excluded):
            continue
        written = match.group(0)
        if (
            _YEAR_LIKE.fullmatch(written)
            or _CLOCK.match(text, match.start())
            or match.start() > 0
            and text[match.start() - 1] in ":."
        ):
            continue  # years and times of day ("10:48", "2.30 pm")
        if match.lastgroup in ("single", "high2") and _is_reference(text, match.start()):
            continue
        prefix = _APPROXIMATE.search(text, max(first_char, match.start() - 16), match.start())
        approximate = prefix is not None
        number_start = prefix.start() if prefix else match.start()
        if match.lastgroup == "vague":
            vague_low, vague_high = _VAGUE_BOUNDS[
                written.lower().split()[0]
                if "of thousands" not in written.lower()
                else written.lower()
            ]
            unit, phrase_end = _unit_after(text, match.end(), limit)
            if unit is None:
                of = _OF.match(text[match.end() : limit])
                if of:
                    unit, phrase_end = _unit_after(text, match.end() + of.end(), limit)
            mentions.append(
                NumberMention(
                    number_start,
                    phrase_end,
                    text[number_start:phrase_end],
                    unit,
                    None,
                    vague_low,
                    vague_high,
                    True,
                )
            )
            continue
        if match.lastgroup == "half":
            mentions.append(NumberMention(match.start(), match.end(), written, "month", 6.0))
            continue
        if match.lastgroup == "article":
            unit, phrase_end = _unit_after(text, match.end(), limit)
            mentions.append(
                NumberMention(
                    match.start(), phrase_end, text[match.start() : phrase_end], unit, 1.0
                )
            )
            continue
        if match.group("low") or match.group("low2"):
            low = parse_amount(match.group("low") or match.group("low2"))
            high = parse_amount(match.group("high") or match.group("high2"))
            if low is None or high is None or low >= high:
                continue
            unit, phrase_end = _unit_after(text, match.end(), limit)
            mentions.append(
                NumberMention(
                    number_start,
                    phrase_end,
                    text[number_start:phrase_end],
                    unit,
                    None,
                    low,
                    high,
                    True,
                )
            )
            continue
        value = parse_amount(written)
        if value is None:
            continue
        lowered = written.lower()
        currency = _CURRENCY_SIGNS.get(written[0])
        unit, phrase_end = _unit_after(text, match.end(), limit)
        if currency:
            unit = currency
        if lowered in ("one", "a", "an") and unit not in TIME_UNITS.values():
            continue  # "one of them", "one woman": a determiner, not an amount
        mentions.append(
            NumberMention(
                number_start,
                phrase_end,
                text[number_start:phrase_end],
                unit,
                value,
                None,
                None,
                approximate,
            )
        )
    return mentions
