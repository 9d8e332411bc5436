"""The fast paths of find_numbers / find_dates find exactly what their grammars' finditer finds.

The grammars run only from the positions a cheap start pattern finds (a digit, a month name, a
number word ...). These tests check, on made-up sentences, that no position where a grammar
matches is skipped, and that the matches equal those of a plain finditer over the same window.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from policytrace.extract import dates, numbers

SENTENCES = [
    "Between 5 and 10 prisoners left, from 3 to 7 men returned and $ 5 million was paid.",
    "Officials paid £300bn, €1.5 million and 2,500,000 roubles; twenty-three convicts signed.",
    "Tens of thousands of people, hundreds of thousands more, dozens of men, thousands of them.",
    "He served half a year, then for a year, for one month; a dozen men and two dozen women.",
    "About 1,500 people, nearly 2.5 million roubles, at least 40%, up to 300 per cent, 5-year-old.",
    "No. 17, Line 2 and Article 328 were cited at 10:48 or 2.30 pm by 1990 people in 2023.",
    "COVID19 x5 5x 12345 ninety-nine ninetynine seventeen seven several between from a an one.",
    "On 3rd March, 2023 and March 3, 2024; March of 2022; March last year; last March; 5 May.",
    "May he go. In early spring of 2023, since late summer, the following year, the previous month.",
    "Two weeks ago, a year ago, 10 days ago, that same day, that month, last Tuesday, on a Tuesday.",
    "Now that it is late, by now, until now; currently, today, yesterday, tonight, mid-2023, early 2024.",
    "In the spring of last year, this summer, next winter, earlier this year, later next month.",
    "Sept. 5, Sept 2021, sept 9, Jan. 2020, JANUARY 2021, the fall of 2022, in the autumn, the Winter.",
    "Thenceforth theatre inmates thatched onions; Monday's anthem, mayors and marches ended.",
    "\u0661\u0662 men, \u212a k, \u017fix men, \u017feven days ago, İstanbul 5\n about\n 7 men;  over\t9 women.",
]


def _reference_numbers(text: str, start: int, end: int, limit: int) -> list[tuple[int, int, str]]:
    found = []
    for match in numbers._NUMBER.finditer(text, start, limit):
        if match.start() >= end:
            break
        found.append((match.start(), match.end(), match.lastgroup))
    return found


def _windows(text: str) -> list[tuple[int, int]]:
    return [(s, min(len(text), s + width)) for s in range(len(text)) for width in (1, 7, 20, 400)]


@pytest.mark.parametrize("text", SENTENCES)
def test_number_matches_equal_finditer(text: str) -> None:
    for start, end in _windows(text):
        for limit in {end, min(len(text), end + 9), len(text)}:
            got = [(m.start(), m.end(), m.lastgroup) for m in numbers._matches(text, start, end, limit)]
            assert got == _reference_numbers(text, start, end, limit), (text[start:end], limit)


@pytest.mark.parametrize("text", SENTENCES)
def test_date_matches_equal_finditer(text: str) -> None:
    for start, end in _windows(text):
        got = [(m.start(), m.end(), m.lastgroup) for m in dates._matches(text, start, end)]
        expected = [(m.start(), m.end(), m.lastgroup) for m in dates._GRAMMAR.finditer(text, start, end)]
        assert got == expected, text[start:end]


@pytest.mark.parametrize("text", SENTENCES)
def test_start_patterns_cover_every_grammar_match(text: str) -> None:
    for position in range(len(text)):
        if numbers._NUMBER.match(text, position):
            window_end = min(len(text), position + numbers._START_SPAN)
            assert numbers._NUMBER_START.match(text, position, window_end), text[position:]
        if dates._GRAMMAR.match(text, position):
            assert dates._DATE_START.match(text, position), text[position:]


def test_word_alternation_matches_exactly_the_words() -> None:
    words = ["a", "an", "and", "one", "on", "sept", "september", "sep", "t"]
    pattern = re.compile(numbers.word_alternation(words), re.IGNORECASE)
    for word in words:
        assert pattern.fullmatch(word) and pattern.fullmatch(word.upper())
    for other in ["", "o", "se", "septe", "ones", "ann", "b", "tt"]:
        assert not pattern.fullmatch(other)


def test_find_functions_on_sample_sentence() -> None:
    text = "In early spring of 2023 about 1,500 prisoners left; two weeks ago 5 more did."
    found = [(m.text, m.value, m.unit, m.is_approximate) for m in numbers.find_numbers(text, 0, len(text))]
    assert found == [
        ("about 1,500 prisoners", 1500.0, "prisoners", True),
        ("two weeks", 2.0, "week", False),
        ("5", 5.0, None, False),
    ]
    found = [
        (text[m.start : m.end], m.value.start, m.value.end, m.value.precision)
        for m in dates.find_dates(text, 0, len(text), date(2024, 3, 15))
    ]
    assert found == [
        ("In early spring of 2023", date(2023, 3, 1), date(2023, 5, 31), "season"),
        ("two weeks ago", date(2024, 3, 1), date(2024, 3, 1), "day"),
    ]
