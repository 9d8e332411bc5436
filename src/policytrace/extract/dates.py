"""A regex grammar for the date expressions of news text, resolved against the publication date."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from policytrace.extract.lexicon import NUMBER_WORDS
from policytrace.extract.model import DateValue
from policytrace.extract.numbers import word_alternation

MONTHS: Final = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}
MONTHS.update(
    {
        "sept": 9,
        **{
            name.lower(): index
            for index, name in enumerate(calendar.month_abbr)
            if name and name.lower() != "may"
        },
    }
)
WEEKDAYS: Final = {name.lower(): index for index, name in enumerate(calendar.day_name)}
# Meteorological seasons of the northern hemisphere: (first month, number of months).
SEASONS: Final = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}

# Words without which a sentence holds no date expression (checked before the regex runs).
DATE_WORDS: Final = frozenset(
    [
        *MONTHS,
        "may",
        *WEEKDAYS,
        *SEASONS,
        "today",
        "yesterday",
        "tonight",
        "now",
        "currently",
        "feb.",
        "jan.",
        "aug.",
        "sept.",
        "oct.",
        "nov.",
        "dec.",
    ]
)
# "year", "month", ... make a date only after these words or before "ago".
DATE_UNITS: Final = frozenset(["year", "years", "month", "months", "week", "weeks", "day", "days"])
DATE_UNIT_BEFORE: Final = frozenset(
    ["last", "this", "next", "past", "earlier", "later", "previous", "following", "that", "same"]
)
_MONTH: Final = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_YEAR: Final = r"(?:19[89]\d|20[0-4]\d)"
_SEASON: Final = r"(?:spring|summer|autumn|fall|winter)"
_UNIT: Final = r"(?:year|month|week)"
_COUNT: Final = r"(?:\d{1,2}|" + "|".join(w for w in NUMBER_WORDS if w not in ("hundred", "dozen")) + ")"

# Alternatives in priority order: the first that matches at a position wins.
_GRAMMAR: Final = re.compile(
    rf"""
    (?P<dmy>\b(?P<dmy_day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dmy_month>{_MONTH}),?\s+(?P<dmy_year>{_YEAR})\b)
  | (?P<mdy>\b(?P<mdy_month>{_MONTH})\s+(?P<mdy_day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<mdy_year>{_YEAR})\b)
  | (?P<my>\b(?P<my_month>{_MONTH}),?\s+(?:of\s+)?(?P<my_year>{_YEAR})\b)
  | (?P<mrel>\b(?P<mrel_month>{_MONTH})\s+(?P<mrel_which>last|this|next)\s+year\b)
  | (?P<dm>\b(?P<dm_day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dm_month>{_MONTH})\b
        |\b(?P<md_month>{_MONTH})\s+(?P<md_day>\d{{1,2}})(?:st|nd|rd|th)?\b(?!,?\s*\d))
  | (?P<season>\b(?:(?P<season_which>last|this|next|the|in|since)\s+(?:(?:early|late)\s+)?)
        (?P<season_name>{_SEASON})(?:\s+(?:of\s+)?(?P<season_year>{_YEAR})|\s+of\s+(?P<season_rel>last|this)\s+year)?\b
      |\b(?P<season_name2>{_SEASON})\s+(?:of\s+)?(?P<season_year2>{_YEAR})\b)
  | (?P<lastmonth>\b(?P<lastmonth_which>last|this)\s+(?P<lastmonth_month>{_MONTH})\b)
  | (?P<mthat>\b(?P<mthat_month>{_MONTH})\s+of\s+(?:that|the\s+same)\s+year\b)
  | (?P<month>\b(?P<month_month>{_MONTH})\b)
  | (?P<rel>\b(?:(?P<rel_earlier>earlier|later)\s+)?(?P<rel_which>last|this|next|past)\s+(?P<rel_unit>{_UNIT})\b)
  | (?P<prev>\bthe\s+(?P<prev_which>previous|following)\s+(?P<prev_unit>{_UNIT})\b)
  | (?P<ago>\b(?P<ago_count>{_COUNT})\s+(?P<ago_unit>{_UNIT}|day)s?\s+ago\b)
  | (?P<later>\b(?P<later_count>{_COUNT})\s+(?P<later_unit>year|month)s?\s+(?:later|afterwards)\b)
  | (?P<same>\bthat\s+(?:same\s+)?(?P<same_unit>day|month|year)\b)
  | (?P<weekday>\b(?:(?P<weekday_which>last|this|on)\s+)?
     (?P<weekday_name>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b)
  | (?P<today>\b(?:today|yesterday|tonight)\b)
  | (?P<now>\b(?:now|currently)\b)
  | (?P<year>\b(?:(?:early|late|mid)[\s-])?(?P<year_year>{_YEAR})\b(?![,.]?\d|\s*(?:people|prisoners|inmates|men)))
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Where a match of _GRAMMAR can begin. Every alternative starts at a word boundary with a digit, a
# word of _PLAIN_STARTS (then a word boundary), or a common word that makes a date only before
# certain words ("the previous", "in early spring", "on Monday", "two weeks", "that same"). A cheap
# search for these positions replaces trying the whole grammar at every position; the grammar then
# runs only from them (same matches, same order, as finditer). Each start is a prefix of the match.
_PLAIN_STARTS: Final = {
    *MONTHS,
    "may",
    *SEASONS,
    *WEEKDAYS,
    *("last", "this", "next", "earlier", "later", "past"),
    *("today", "yesterday", "tonight", "now", "currently"),
}
_COUNT_WORDS: Final = [w for w in NUMBER_WORDS if w not in ("hundred", "dozen")]
_DATE_START: Final = re.compile(
    r"\b(?:\d"
    rf"|{word_alternation(_PLAIN_STARTS)}\b"
    rf"|(?:the|in|since)\s+(?:(?:early|late)\s+)?{word_alternation(SEASONS)}"
    r"|the\s+(?:previous|following)"
    r"|that\s+(?:same|day|month|year)"
    rf"|on\s+{word_alternation(WEEKDAYS)}"
    rf"|{word_alternation(_COUNT_WORDS)}\s+(?:year|month|week|day)"
    r"|(?:early|late|mid)[\s-]\d)",
    re.IGNORECASE,
)
_CAPITALISED_ONLY: Final = ("month", "md_month", "dm_month", "weekday_name")


@dataclass(unsafe_hash=True, init=False)  # treated as frozen; see __init__
class DateMention:
    """A date expression in the text and what it resolves to (None when it cannot be resolved)."""

    start: int
    end: int
    value: DateValue | None
    anchor_unit: str | None = None  # "that same month": resolved later against the previous date

    # Written out so that mypyc compiles it (docs/architecture.md, "The compiled extractor").
    def __init__(
        self, start: int, end: int, value: DateValue | None, anchor_unit: str | None = None
    ) -> None:
        self.start = start
        self.end = end
        self.value = value
        self.anchor_unit = anchor_unit


def _month_window(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _value(start: date, end: date, precision: str, text: str) -> DateValue:
    return DateValue(value=start, precision=precision, start=start, end=end, text=text)


def month_value(year: int, month: int, text: str) -> DateValue:
    """A date of month precision."""
    start, end = _month_window(year, month)
    return _value(start, end, "month", text)


def year_value(year: int, text: str) -> DateValue:
    """A date of year precision."""
    return _value(date(year, 1, 1), date(year, 12, 31), "year", text)


def day_value(day: date, text: str) -> DateValue:
    """A date of day precision."""
    return _value(day, day, "day", text)


def season_value(year: int, name: str, text: str) -> DateValue:
    """A date of season precision (meteorological seasons; winter runs into the next year)."""
    first = SEASONS[name]
    start = date(year, first, 1)
    last_month = (first + 1) % 12 + 1
    last_year = year + 1 if first == 12 else year
    return _value(start, _month_window(last_year, last_month)[1], "season", text)


def _month_number(text: str) -> int:
    return MONTHS[text.lower().rstrip(".")]


def _latest_month(month: int, published: date, strictly_before: bool = False) -> int:
    """The year of the most recent such month at publication (this year's or last year's)."""
    if month < published.month or (month == published.month and not strictly_before):
        return published.year
    return published.year - 1


def _season_year(name: str, published: date, which: str | None) -> int:
    first = SEASONS[name]
    year = published.year
    if first == 12:  # winter starts in December of the year before most of it
        year = published.year - 1 if published.month <= 2 else published.year
    elif published.month < first:
        year -= 1
    if which == "last":
        # "last summer" in autumn is this year's summer; in summer it is last year's.
        current = date(published.year, published.month, 1)
        if season_value(year, name, "").start <= current <= season_value(year, name, "").end:
            year -= 1
    elif which == "next":
        year += 1
    return year


def _shift_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _resolve(match: re.Match[str], published: date) -> DateValue | None:
    kind = match.lastgroup
    text = match.group(0)
    group = match.group
    if kind == "dmy" or kind == "mdy":
        prefix = kind
        try:
            return day_value(
                date(
                    int(group(f"{prefix}_year")),
                    _month_number(group(f"{prefix}_month")),
                    int(group(f"{prefix}_day")),
                ),
                text,
            )
        except ValueError:
            return None
    if kind == "my":
        return month_value(int(group("my_year")), _month_number(group("my_month")), text)
    if kind == "mrel":
        offset = {"last": -1, "this": 0, "next": 1}[group("mrel_which").lower()]
        return month_value(published.year + offset, _month_number(group("mrel_month")), text)
    if kind == "dm":
        month = _month_number(group("dm_month") or group("md_month"))
        try:
            return day_value(
                date(published.year, month, int(group("dm_day") or group("md_day"))), text
            )
        except ValueError:
            return None
    if kind == "season":
        name = (group("season_name") or group("season_name2")).lower()
        explicit = group("season_year") or group("season_year2")
        which = (group("season_which") or "").lower() or None
        year = int(explicit) if explicit else _season_year(name, published, which)
        if group("season_rel"):
            year = published.year - (1 if group("season_rel").lower() == "last" else 0)
        if which == "this" and not explicit:
            year = published.year if SEASONS[name] != 12 else year
        return season_value(year, name, text)
    if kind == "lastmonth":
        month = _month_number(group("lastmonth_month"))
        strictly = group("lastmonth_which").lower() == "last"
        return month_value(_latest_month(month, published, strictly), month, text)
    if kind == "month":
        month = _month_number(group("month_month"))
        return month_value(_latest_month(month, published), month, text)
    if kind == "rel":
        which, unit = group("rel_which").lower(), group("rel_unit").lower()
        offset = {"last": -1, "past": -1, "this": 0, "next": 1}[which]
        if unit == "year":
            return year_value(published.year + offset, text)
        if unit == "month":
            return month_value(*_shift_months(published, offset), text)
        end = published + timedelta(days=7 * offset) if offset > 0 else published
        start = published - timedelta(days=6 if offset == 0 else 13)
        if offset < 0:
            end = published - timedelta(days=published.weekday() + 1)
        # A week has no precision of its own: month precision, dated to the window's first day
        # (event_date always lies inside [date_start, date_end]).
        return DateValue(value=start, precision="month", start=start, end=end, text=text)
    if kind == "prev":
        return None  # relative to another event; left undated rather than guessed
    if kind == "ago":
        count_text = group("ago_count").lower()
        count = int(count_text) if count_text.isdigit() else NUMBER_WORDS.get(count_text, 0)
        unit = group("ago_unit").lower()
        if unit == "year":
            return year_value(published.year - count, text)
        if unit == "month":
            return month_value(*_shift_months(published, -count), text)
        days = count * (7 if unit == "week" else 1)
        return day_value(published - timedelta(days=days), text)
    if kind == "weekday":
        target = WEEKDAYS[group("weekday_name").lower()]
        back = (published.weekday() - target) % 7
        if back == 0 and (group("weekday_which") or "").lower() == "last":
            back = 7
        return day_value(published - timedelta(days=back), text)
    if kind == "today":
        word = text.lower()
        return day_value(published - timedelta(days=1 if word == "yesterday" else 0), text)
    if kind == "now":
        return month_value(published.year, published.month, text)
    if kind == "year":
        return year_value(int(group("year_year")), text)
    return None


def _matches(text: str, start: int, end: int) -> Iterator[re.Match[str]]:
    """The matches of _GRAMMAR in text[start:end], as finditer finds them."""
    position = start
    while position < end:
        candidate = _DATE_START.search(text, position, end)
        if candidate is None:
            return
        position = candidate.start()
        match = _GRAMMAR.match(text, position, end)
        if match is None:
            position += 1
            continue
        yield match
        position = match.end()  # never empty: every alternative consumes a character


def find_dates(
    text: str, start: int, end: int, published: date | None, sentence_start: int | None = None
) -> list[DateMention]:
    """Date expressions in text[start:end] with their resolved values (None without a publication date)."""
    sentence_start = start if sentence_start is None else sentence_start
    mentions = []
    for match in _matches(text, start, end):
        kind = match.lastgroup
        # Month and weekday names count only when capitalised ("march" and "may" are verbs).
        if any(
            match.group(g) and not match.group(g)[0].isupper()
            for g in _CAPITALISED_ONLY
            if match.group(g)
        ):
            continue
        if match.group(0).startswith("May") and match.start() == sentence_start:
            continue  # a sentence that starts with "May" is far more often the verb
        if kind == "now" and match.group(0).lower() == "now" and not _now_is_temporal(text, match):
            continue
        if kind == "weekday" and text[max(0, match.start() - 2) : match.start()].lower() == "a ":
            continue  # "on a Tuesday in April": some Tuesday, not the last one
        if kind == "same":
            mentions.append(DateMention(match.start(), match.end(), None, match.group("same_unit")))
            continue
        if kind == "later":
            # "two months later": counted from the date before it
            count_text = match.group("later_count").lower()
            count = int(count_text) if count_text.isdigit() else NUMBER_WORDS.get(count_text, 0)
            unit = match.group("later_unit").lower()
            mentions.append(DateMention(match.start(), match.end(), None, f"+{count}{unit}"))
            continue
        if kind == "mthat":
            # "In January of that year": the month in the year of the date before it
            month = _month_number(match.group("mthat_month"))
            mentions.append(DateMention(match.start(), match.end(), None, f"month-of-year:{month}"))
            continue
        if kind == "prev":
            # "the following year", "the previous month": one unit after/before the date before it
            sign = "+" if match.group("prev_which").lower() == "following" else "-"
            unit = match.group("prev_unit").lower()
            if unit in ("year", "month"):
                mentions.append(DateMention(match.start(), match.end(), None, sign + unit))
            continue
        if published is None and kind not in ("dmy", "mdy", "my", "year"):
            continue
        value = _resolve(match, published) if published else _resolve(match, date.max)
        mentions.append(DateMention(match.start(), match.end(), value))
    return mentions


def _now_is_temporal(text: str, match: re.Match[str]) -> bool:
    # "Now his commander says" is temporal, "now that" is not; "by now" / "until now" are vague.
    following = text[match.end() : match.end() + 5].lower()
    preceding = text[max(0, match.start() - 6) : match.start()].lower()
    return not following.startswith(" that") and not preceding.endswith(("by ", "until "))


_LATER_UNIT: Final = re.compile(r"\+(\d+)(year|month)")


def anchor(mention: DateMention, previous: DateValue | None) -> DateValue | None:
    """Resolve "that same month" against the date mentioned before it."""
    if mention.anchor_unit is None or previous is None:
        return mention.value
    text = previous.text
    if mention.anchor_unit in ("+year", "-year"):
        step = 1 if mention.anchor_unit[0] == "+" else -1
        return year_value(previous.start.year + step, text)
    if mention.anchor_unit in ("+month", "-month"):
        if previous.precision not in ("day", "month"):
            return None
        step = 1 if mention.anchor_unit[0] == "+" else -1
        return month_value(*_shift_months(previous.start, step), text)
    if mention.anchor_unit == "year":
        return year_value(previous.start.year, text)
    later = _LATER_UNIT.fullmatch(mention.anchor_unit)
    if later:
        count, unit = int(later.group(1)), later.group(2)
        if unit == "year":
            return year_value(previous.start.year + count, text)
        if previous.precision not in ("day", "month"):
            return None
        return month_value(*_shift_months(previous.start, count), text)
    if mention.anchor_unit.startswith("month-of-year:"):
        month = int(mention.anchor_unit.split(":", 1)[1])
        return month_value(previous.start.year, month, text)
    if mention.anchor_unit == "month" and previous.precision in ("day", "month"):
        return month_value(previous.start.year, previous.start.month, text)
    if mention.anchor_unit == "day" and previous.precision == "day":
        return previous
    return previous
