"""Build a deterministic synthetic corpus by recombining the development set's articles."""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from policytrace.ingest import ingest_folder

DEVSET_DIR = Path(__file__).resolve().parent.parent / "tests" / "devset"
GENERATOR_VERSION = "4"
# Hidden, so that ingestion skips it.
MANIFEST_NAME = ".corpus.json"
FILES_PER_FOLDER = 1000
# Out of every GROUP_SIZE documents, JSONL_RECORDS go into one JSONL file (10%); the rest are .txt files.
GROUP_SIZE = 50
JSONL_RECORDS = 5
FIRST_DAY = datetime(2022, 9, 1, tzinfo=UTC)
LAST_DAY = datetime(2025, 12, 30, tzinfo=UTC)
MIN_PARAGRAPH_WORDS = 12
PARAGRAPHS_PER_DOCUMENT = (4, 12)

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
MONTH_ABBREVIATIONS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
SEASON_FIRST_MONTH = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FURNITURE_LINES = ["Trending Now", "Most Read", "Read more: what we know so far", "Advertisement"]
HEADLINE_PREFIXES = ["", "", "", "Update: ", "Analysis: ", "Explainer: ", "Live: "]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'\u201c(A-Z])")
# One pass over a sentence: a month name (with its day and year, if written), a weekday, or a number
# (integers with thousands separators, decimals, plain integers; four-digit years among them).
# Full month names, then abbreviations as wire datelines write them ("MOSCOW, Jan 10 -", "Sept. 4").
MONTH_NUMBER = {name: number for number, name in enumerate(MONTHS, 1)} | {
    name: number for number, name in enumerate(MONTH_ABBREVIATIONS, 1)} | {"Sept": 9}
_DATE_OR_NUMBER = re.compile(
    r"\b(?P<month>" + "|".join(sorted(MONTH_NUMBER, key=len, reverse=True)) + r")\b(?P<dot>\.)?"
    r"(?:\s+(?P<day>\d{1,2})\b)?(?:(?P<sep>,?\s+)(?P<year>\d{4})\b)?"
    r"|\b(?P<this>[Tt]his) (?P<season>spring|summer|autumn|fall|winter)\b"
    r"|\b(?P<weekday>" + "|".join(WEEKDAYS) + r")\b"
    r"|(?<![\w.,:/-])(?P<number>\d{1,3}(?:,\d{3})+|\d+\.\d+|\d+)(?![\w:/-]|,\d|\.\d)")


@dataclass(frozen=True)
class SourceArticle:
    """A devset article cut into paragraphs of sentences, with its publication date."""

    published: datetime
    title: str | None
    paragraphs: list[list[str]]


@dataclass(frozen=True)
class SourcePool:
    """What synthetic documents are drawn from: articles, and the bylines and publishers seen."""

    articles: list[SourceArticle]
    authors: list[str]
    publishers: list[str]


def load_pool(devset: Path = DEVSET_DIR) -> SourcePool:
    """Read the development set through the ingestion readers and cut it into reusable pieces."""
    ingested = ingest_folder(devset)
    articles, authors, publishers = [], set(), set()
    for document in ingested.documents:
        paragraphs = [_SENTENCE_END.split(p) for p in document.text.split("\n\n")
                      if len(p.split()) >= MIN_PARAGRAPH_WORDS]
        if paragraphs and document.published_at:
            articles.append(SourceArticle(document.published_at, document.title, paragraphs))
        authors.update(a for a in document.authors if not a.lower().startswith("the "))
        if document.publisher:
            publishers.add(document.publisher)
    if len(articles) < PARAGRAPHS_PER_DOCUMENT[1]:
        raise SystemExit(f"{devset}: {len(articles)} usable articles, need {PARAGRAPHS_PER_DOCUMENT[1]}")
    return SourcePool(articles, sorted(authors), sorted(publishers))


def years_back_to(source: datetime, published: datetime) -> int:
    """Whole years to add to a source's dates so that none falls after the new publication date."""
    later_in_year = (source.month, source.day) > (published.month, published.day)
    return published.year - source.year - int(later_in_year)


class Variation:
    """One document's controlled changes, applied sentence by sentence.

    Dates stay before publication: each paragraph's years shift so that its source article's date
    falls before the new publication date, month names move back by 0-2 months (with their year;
    without one, to no later than the publication's month and day), and "this autumn" becomes
    "last autumn" when the season has not begun by publication.
    Weekdays rotate, about half of the other numbers are rescaled (keeping their significant digits),
    and half of the paragraphs have their sentences shuffled.
    """

    def __init__(self, rng: random.Random, published: datetime) -> None:
        self.rng = rng
        self.published = published
        self.months_back = rng.randrange(3)
        self.weekday_shift = rng.randrange(7)
        self.number_scale = rng.uniform(0.6, 1.6)
        self.year_shift = 0

    def _replace(self, match: re.Match[str]) -> str:
        if match.group("month"):
            return self._month(match)
        if match.group("season"):
            return self._season(match)
        if match.group("weekday"):
            return WEEKDAYS[(WEEKDAYS.index(match.group("weekday")) + self.weekday_shift) % 7]
        written = match.group("number")
        if len(written) == 4 and 1990 <= int(written) <= 2039:
            return str(int(written) + self.year_shift)
        if self.rng.random() < 0.5:
            return written
        value = float(written.replace(",", ""))
        if "." in written:
            return f"{value * self.number_scale:.1f}"
        significant = len(written.replace(",", "").rstrip("0")) or 1
        scaled = max(1, round(value * self.number_scale, significant - len(str(int(value)))))
        return f"{int(scaled):,}" if "," in written else str(int(scaled))

    def _month(self, match: re.Match[str]) -> str:
        written = match.group("month")
        index = MONTH_NUMBER[written] - 1 - self.months_back
        month, day = index % 12 + 1, min(int(match.group("day")), 28) if match.group("day") else None
        if match.group("year"):
            year = int(match.group("year")) + self.year_shift - (1 if index < 0 else 0)
        elif (month, day or 1) > (self.published.month, self.published.day):
            # Without a year a reader places the date in the publication's year: keep it before publication.
            month, day = self.published.month, min(day, self.published.day) if day else None
        names = MONTHS if written in MONTHS else MONTH_ABBREVIATIONS
        text = names[month - 1] + (match.group("dot") or "") + (f" {day}" if day else "")
        return text + (f"{match.group('sep')}{year}" if match.group("year") else "")

    def _season(self, match: re.Match[str]) -> str:
        season = match.group("season")
        if SEASON_FIRST_MONTH[season] <= self.published.month:
            return match.group(0)
        return ("Last " if match.group("this") == "This" else "last ") + season

    def apply(self, text: str, source_published: datetime) -> str:
        self.year_shift = years_back_to(source_published, self.published)
        return _DATE_OR_NUMBER.sub(self._replace, text)

    def paragraph(self, sentences: list[str], source_published: datetime) -> list[str]:
        if len(sentences) > 1 and self.rng.random() < 0.5:
            sentences = self.rng.sample(sentences, len(sentences))
        return [self.apply(sentence, source_published) for sentence in sentences]


@dataclass
class SyntheticArticle:
    """One generated article before it is written in a file format."""

    number: int
    title: str
    authors: list[str]
    publisher: str
    published: datetime
    zone: str
    paragraphs: list[str]


def _zone(moment: datetime, rng: random.Random) -> tuple[str, timedelta]:
    choice = rng.randrange(4)
    if choice == 0:
        return "UTC", timedelta(0)
    if choice == 1:
        return "GMT", timedelta(0)
    if 4 <= moment.month <= 10:
        return "CEST", timedelta(hours=2)
    return "CET", timedelta(hours=1)


class SentenceTally:
    """How many sentences were written, and how many of them were different."""

    def __init__(self) -> None:
        self.total = 0
        self.hashes: set[int] = set()

    def add(self, sentences: list[str]) -> None:
        self.total += len(sentences)
        self.hashes.update(hash(sentence) for sentence in sentences)


def make_article(number: int, pool: SourcePool, rng: random.Random,
                 tally: SentenceTally | None = None) -> SyntheticArticle:
    """Headline, byline, date and 4-12 paragraphs, each from a different devset article."""
    span = int((LAST_DAY - FIRST_DAY).total_seconds() // 60)
    published = FIRST_DAY + timedelta(minutes=rng.randrange(span))
    zone, offset = _zone(published, rng)
    local_time = published.replace(tzinfo=None) + offset
    # Readers (and the extractor) place undated references against the local publication date.
    variation = Variation(rng, local_time)
    sources = rng.sample(pool.articles, rng.randint(*PARAGRAPHS_PER_DOCUMENT))
    paragraphs = []
    for source in sources:
        sentences = variation.paragraph(rng.choice(source.paragraphs), source.published)
        if tally is not None:
            tally.add(sentences)
        paragraphs.append(" ".join(sentences))
    headline_source = rng.choice([a for a in pool.articles if a.title] or pool.articles)
    title = rng.choice(HEADLINE_PREFIXES) + variation.apply(headline_source.title or "News",
                                                            headline_source.published)
    authors = rng.sample(pool.authors, 2 if rng.random() < 0.2 else 1)
    return SyntheticArticle(number, title, authors, rng.choice(pool.publishers),
                            local_time, zone, paragraphs)


def dateline(article: SyntheticArticle) -> str:
    """The seed's dateline style: `Feb.04 - 2024 7:13 PM CET`."""
    local = article.published
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return (f"{MONTH_ABBREVIATIONS[local.month - 1]}.{local.day:02d} - {local.year} "
            f"{hour}:{local.minute:02d} {half} {article.zone}")


def as_text_file(article: SyntheticArticle, rng: random.Random) -> str:
    """A plain-text page like the seed: headline, byline, dateline, paragraphs, some page furniture."""
    paragraphs = list(article.paragraphs)
    if rng.random() < 0.2:
        paragraphs.insert(1, rng.choice(FURNITURE_LINES))
    if rng.random() < 0.2:
        paragraphs.append(rng.choice(FURNITURE_LINES))
    header = [article.title, f"Written by {' and '.join(article.authors)}", dateline(article)]
    return "\n\n".join(header + paragraphs) + "\n"


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")


def as_json_record(article: SyntheticArticle) -> dict[str, str]:
    """An exported article: title, text, author, publisher, url (unique per article), published_at."""
    local = article.published
    offset = {"CET": "+01:00", "CEST": "+02:00"}.get(article.zone, "+00:00")
    url = (f"https://www.{_slug(article.publisher, 30)}.example/{local:%Y/%m/%d}/"
           f"{_slug(article.title)}-{article.number}")
    return {"title": article.title, "text": "\n\n".join(article.paragraphs),
            "author": ", ".join(article.authors), "publisher": article.publisher, "url": url,
            "published_at": local.strftime("%Y-%m-%dT%H:%M:00") + offset}


def read_manifest(out: Path) -> dict | None:
    path = out / MANIFEST_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def generate(docs: int, out: Path, seed: int = 0, devset: Path = DEVSET_DIR) -> dict:
    """Write `docs` documents below out (1,000 files per folder) and a manifest; returns the manifest."""
    started = time.perf_counter()
    pool = load_pool(devset)
    rng = random.Random(seed)
    tally = SentenceTally()
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    for old_folder in out.glob("[0-9][0-9][0-9][0-9]"):
        shutil.rmtree(old_folder)
    files = text_files = jsonl_files = number = 0

    def next_file(name: str) -> Path:
        folder = out / f"{files // FILES_PER_FOLDER:04d}"
        folder.mkdir(exist_ok=True)
        return folder / name

    while number < docs:
        group = min(GROUP_SIZE, docs - number)
        in_jsonl = min(JSONL_RECORDS, group // 2)
        for _ in range(group - in_jsonl):
            article = make_article(number, pool, rng, tally)
            next_file(f"article-{number:07d}.txt").write_text(as_text_file(article, rng), encoding="utf-8")
            files, text_files, number = files + 1, text_files + 1, number + 1
        if in_jsonl:
            records = [as_json_record(make_article(number + i, pool, rng, tally)) for i in range(in_jsonl)]
            lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
            next_file(f"export-{number:07d}.jsonl").write_text(lines, encoding="utf-8")
            files, jsonl_files, number = files + 1, jsonl_files + 1, number + in_jsonl
    manifest = {"generator_version": GENERATOR_VERSION, "docs": docs, "seed": seed, "files": files,
                "text_files": text_files, "jsonl_files": jsonl_files,
                "jsonl_documents": docs - text_files, "devset_articles": len(pool.articles),
                "sentences": tally.total, "distinct_sentences": len(tally.hashes),
                "seconds": round(time.perf_counter() - started, 2)}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, required=True, help="number of documents")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the corpus into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same corpus)")
    args = parser.parse_args(argv)
    if any(args.out.iterdir() if args.out.exists() else []):
        if read_manifest(args.out) is None:
            parser.error(f"{args.out} is not empty and holds no {MANIFEST_NAME}: refusing to write into it")
    manifest = generate(args.docs, args.out, args.seed)
    print(json.dumps(manifest), file=sys.stderr)


if __name__ == "__main__":
    main()
