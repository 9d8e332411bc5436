"""Shared helpers for the format readers: decoding, text cleaning, dates, language, metadata."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

import dateparser
from dateparser.timezone_parser import pop_tz_offset_from_string

from policytrace.documents import Document
from policytrace.ids import sha256_hex
from policytrace.ingest.language import language_scorer


class RejectError(ValueError):
    """Raised by a reader when a document cannot be used; the message is the reason users see."""


# Page furniture that news sites put between paragraphs: whole lines that carry no reporting.
_FURNITURE = re.compile(
    r"""^(
        trending(\s+now)? | most\s+read | most\s+popular | popular\s+now | top\s+stories |
        related(\s+(stories|articles|news))? | recommended(\s+for\s+you)? | advertisement |
        sponsored(\s+content)? | (share|post)(\s+(on|to)\s+\w+)? | tweet | print | email |
        (read|see)\s+(more|also)\b.* | sign\s+up\b.* | subscribe\b.* | follow\s+us\b.* |
        (\d+\s+)?comments? | skip\s+to\s+(main\s+)?content | copyright\b.* | ©.* |
        all\s+rights\s+reserved\.?
    )[\s.:!]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING_FURNITURE = re.compile(
    r"(trending now|most read|read more|advertisement)[\s{}\[\]]*$", re.IGNORECASE
)
_WORD = re.compile(r"\w+")


def decode_bytes(raw: bytes) -> str:
    """Decode UTF-8 (with or without BOM), refusing binary data."""
    if b"\x00" in raw[:8192]:
        raise RejectError("binary file (contains NUL bytes), not a text document")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RejectError(
            f"cannot decode as UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from None


def is_furniture(line: str) -> bool:
    """True for a line that is page furniture (share buttons, 'Most Read', 'Read more: ...')."""
    stripped = line.strip()
    return bool(stripped) and bool(_FURNITURE.match(stripped))


def clean_paragraphs(paragraphs: list[str]) -> str:
    """Join paragraphs into the cleaned text: NFC, single spaces, furniture removed, blank-line separated."""
    kept = []
    for paragraph in paragraphs:
        text = " ".join(unicodedata.normalize("NFC", paragraph).split())
        # A furniture word glued to the last paragraph (e.g. "Most Read{" at the end of a page dump).
        text = _TRAILING_FURNITURE.sub("", text).strip() if len(text) < 40 else text
        if text and not is_furniture(text):
            kept.append(text)
    return "\n\n".join(kept)


def split_paragraphs(text: str) -> list[str]:
    """Split plain text into paragraphs at blank lines (single newlines join lines of a paragraph)."""
    return [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")) if p.strip()]


def word_count(text: str) -> int:
    """Number of words (runs of letters, digits or underscores)."""
    return len(_WORD.findall(text))


_DATE_SETTINGS = {"PREFER_DAY_OF_MONTH": "first", "DATE_ORDER": "MDY"}
_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for name in names}
# Datelines as news pages print them: "Feb.04 - 2024 7:13 PM", "March 3, 2024, 09:15"; a zone may
# follow. A "-" glued to digits is a UTC offset ("-05:00"), not a separator before the time, and
# "PM" must end its word ("PMEST" is not a time and a zone).
_DATELINE = re.compile(
    r"^(?P<month>[A-Za-z]{3,9})\.?\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*[,-]?\s*(?P<year>\d{4})"
    r"(?:\s*(?:,|-(?!\d))?\s*(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"\s*(?P<half>[AaPp]\.?[Mm](?:\.|(?![A-Za-z])))?)?")


def parse_datetime(value: Any) -> tuple[datetime | None, str | None, str | None]:
    """Parse a date or timestamp as written; return (UTC instant, zone as written, local ISO text)."""
    if value is None or value == "":
        return None, None, None
    if isinstance(value, (int, float)):
        instant = datetime.fromtimestamp(value, tz=UTC)
        return instant, "UTC", instant.isoformat()
    return _parse_text_datetime(str(value).strip())


@lru_cache(maxsize=4096)
def _parse_text_datetime(text: str) -> tuple[datetime | None, str | None, str | None]:
    parsed = _parse_common_forms(text)
    if parsed is None:
        # dateparser reads almost anything, at a few milliseconds a call: only for the rest.
        parsed = dateparser.parse(text, languages=["en"], settings=_DATE_SETTINGS)
    if parsed is None:
        return None, None, None
    if parsed.tzinfo is None:
        # No zone in the source: keep the wall-clock time as UTC and say the zone is unknown.
        return parsed.replace(tzinfo=UTC), None, parsed.isoformat()
    zone = _zone_as_written(text, parsed)
    return parsed.astimezone(UTC), zone, parsed.isoformat()


def _parse_common_forms(text: str) -> datetime | None:
    """ISO 8601 and the usual dateline shapes, without dateparser (zones from its table)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _DATELINE.match(text)
    if not match or match.group("month").lower() not in _MONTHS:
        return None
    zone = None
    if tail := text[match.end():].strip():
        # Whatever follows the date and time must be one time zone ("CET", "UTC+3", "+03:00").
        zone = _zone_token(tail)
        if zone is None:
            return None
    hour = int(match.group("hour") or 0)
    half = (match.group("half") or "").lower().replace(".", "")
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    try:
        return datetime(int(match.group("year")), _MONTHS[match.group("month").lower()],
                        int(match.group("day")), hour, int(match.group("minute") or 0), tzinfo=zone)
    except ValueError:
        return None


@lru_cache(maxsize=512)
def _zone_token(text: str) -> tzinfo | None:
    """The zone a dateline ends with, from dateparser's table; None unless the text is only that.

    Searching dateparser's hundreds of zone patterns costs about a millisecond, so only the short
    tail after the date is searched, and each distinct tail once.
    """
    # dateparser's patterns want a separator before the zone, as it has in a whole dateline.
    rest, zone = pop_tz_offset_from_string(" " + text, as_offset=True)
    return zone if rest.strip() == "" else None


def _zone_as_written(text: str, parsed: datetime) -> str:
    abbreviation = re.search(r"\b([A-Z]{2,5})\s*$", text)
    if abbreviation and abbreviation.group(1) not in {"AM", "PM"}:
        return abbreviation.group(1)
    if text.endswith("Z"):
        return "UTC"
    offset = parsed.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def looks_like_date_line(line: str) -> bool:
    """A short line with a year or a month name and a digit: a candidate dateline."""
    stripped = line.strip()
    if not stripped or len(stripped) > 60:
        return False
    has_year = re.search(r"\b(19|20)\d{2}\b", stripped)
    return bool(has_year and parse_datetime(stripped)[0] is not None)


# py3langid walks its sample byte by byte in Python and scores the sample's features against its
# model's table: ~0.45 ms per document with these samples (`LanguageScorer`). 400 characters gave
# the language that 2,000 give on 5,000 test, development and synthetic documents and on 33
# samples of nine other languages (Russian and Ukrainian among them; even 150 did). The two
# likeliest languages were then at least 150 apart in log-likelihood for prose, 26-43 for texts
# of one sentence. Where they are closer than LANGUAGE_CLEAR_MARGIN, 800 decide.
LANGUAGE_SAMPLE = 400
LANGUAGE_LONG_SAMPLE = 800
LANGUAGE_CLEAR_MARGIN = 50.0


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, from a model that ships inside py3langid."""
    scorer = language_scorer()
    sample = text[:LANGUAGE_SAMPLE]
    if word_count(sample) >= 5:
        language, lead = scorer.best_with_lead(sample)
        if len(text) <= LANGUAGE_SAMPLE or lead >= LANGUAGE_CLEAR_MARGIN:
            return language
    sample = text[:LANGUAGE_LONG_SAMPLE]
    if word_count(sample) < 5:
        return None
    return scorer.best(sample)


def split_authors(value: Any) -> list[str]:
    """Authors from a string ("A and B", "A, B") or a list of strings or {name: ...} objects."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        names = []
        for item in value:
            names.extend(split_authors(item.get("name") if isinstance(item, dict) else item))
        return names
    text = re.sub(r"^\s*(written\s+)?by\s+", "", str(value), flags=re.IGNORECASE)
    parts = re.split(r"\s*(?:,|;|\band\b|&)\s*", text)
    return [" ".join(p.split()) for p in parts if p.strip()]


def build_document(
    *,
    paragraphs: list[str],
    document_format: str,
    file_path: str,
    raw: bytes,
    record_index: int | None = None,
    title: Any = None,
    authors: Any = None,
    publisher: Any = None,
    url: Any = None,
    language: Any = None,
    published: Any = None,
    retrieved: Any = None,
) -> Document:
    """Assemble a Document from a reader's raw fields, rejecting it if no text is left."""
    text = clean_paragraphs(paragraphs)
    if not text:
        raise RejectError("empty after cleaning: no article text left once boilerplate was removed")
    published_at, zone, local = parse_datetime(published)
    retrieved_at, _, _ = parse_datetime(retrieved)
    language_code = str(language).strip().lower()[:2] if language else detect_language(text)
    return Document(
        text=text,
        document_format=document_format,
        file_path=file_path,
        raw_sha256=sha256_hex(raw),
        record_index=record_index,
        title=" ".join(str(title).split()) if title else None,
        authors=split_authors(authors),
        publisher=" ".join(str(publisher).split()) if publisher else None,
        url=str(url).strip() if url else None,
        language=language_code,
        published_at=published_at,
        published_timezone=zone,
        published_local=local,
        retrieved_at=retrieved_at,
    )
