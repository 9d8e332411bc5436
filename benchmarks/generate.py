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
GENERATOR_VERSION = "1"
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
FURNITURE_LINES = ["Trending Now", "Most Read", "Read more: what we know so far", "Advertisement"]
HEADLINE_PREFIXES = ["", "", "", "Update: ", "Analysis: ", "Explainer: ", "Live: "]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'\u201c(A-Z])")
_MONTH_DAY = re.compile(r"\b(" + "|".join(MONTHS) + r")\b(\s+\d{1,2}\b)?")
# Integers with thousands separators, decimals and plain integers (years among them are shifted).
_NUMBER = re.compile(r"(?<![\w.,:/-])(\d{1,3}(?:,\d{3})+|\d+\.\d+|\d+)(?![\w:/-]|,\d|\.\d)")


@dataclass(frozen=True)
class SourcePool:
    """What synthetic documents are drawn from: sentences of paragraphs per article, titles, people."""

    articles: list[list[list[str]]]  # article -> paragraph -> sentences
    titles: list[str]
    authors: list[str]
    publishers: list[str]


def load_pool(devset: Path = DEVSET_DIR) -> SourcePool:
    """Read the development set through the ingestion readers and cut it into reusable pieces."""
    ingested = ingest_folder(devset)
    articles, titles, authors, publishers = [], [], set(), set()
    for document in ingested.documents:
        paragraphs = [_SENTENCE_END.split(p) for p in document.text.split("\n\n")
                      if len(p.split()) >= MIN_PARAGRAPH_WORDS]
        if paragraphs:
            articles.append(paragraphs)
        if document.title:
            titles.append(document.title)
        authors.update(a for a in document.authors if not a.lower().startswith("the "))
        if document.publisher:
            publishers.add(document.publisher)
    if len(articles) < PARAGRAPHS_PER_DOCUMENT[1]:
        raise SystemExit(f"{devset}: {len(articles)} usable articles, need {PARAGRAPHS_PER_DOCUMENT[1]}")
    return SourcePool(articles, titles, sorted(authors), sorted(publishers))


class Variation:
    """One document's controlled changes: months rotated, years shifted, some numbers rescaled."""

    def __init__(self, rng: random.Random, published: datetime) -> None:
        self.rng = rng
        self.month_shift = rng.randrange(12)
        self.year_shift = rng.choice((-1, 0, 0, 1))
        self.latest_year = published.year
        self.number_scale = rng.uniform(0.6, 1.6)

    def _month_day(self, match: re.Match[str]) -> str:
        month = MONTHS[(MONTHS.index(match.group(1)) + self.month_shift) % 12]
        if match.group(2) is None:
            return month
        return f"{month} {min(int(match.group(2)), 28)}"

    def _number(self, match: re.Match[str]) -> str:
        written = match.group(1)
        if len(written) == 4 and 2010 <= int(written) <= 2029:
            return str(min(max(int(written) + self.year_shift, 2022), self.latest_year))
        if self.rng.random() < 0.5:
            return written
        value = float(written.replace(",", ""))
        if "." in written:
            return f"{value * self.number_scale:.1f}"
        # Keep as many significant digits as the original, so "about 420,000" stays round.
        significant = len(written.replace(",", "").rstrip("0")) or 1
        scaled = max(1, round(value * self.number_scale, significant - len(str(int(value)))))
        return f"{int(scaled):,}" if "," in written else str(int(scaled))

    def apply(self, text: str) -> str:
        if any(c.isdigit() for c in text):
            text = _NUMBER.sub(self._number, text)
        return _MONTH_DAY.sub(self._month_day, text)

    def paragraph(self, sentences: list[str]) -> str:
        if len(sentences) > 1 and self.rng.random() < 0.5:
            sentences = self.rng.sample(sentences, len(sentences))
        return " ".join(self.apply(s) for s in sentences)


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


def make_article(number: int, pool: SourcePool, rng: random.Random) -> SyntheticArticle:
    """Headline, byline, date and 4-12 paragraphs, each from a different devset article."""
    span = int((LAST_DAY - FIRST_DAY).total_seconds() // 60)
    published = FIRST_DAY + timedelta(minutes=rng.randrange(span))
    zone, offset = _zone(published, rng)
    variation = Variation(rng, published)
    count = rng.randint(*PARAGRAPHS_PER_DOCUMENT)
    sources = rng.sample(pool.articles, count)
    paragraphs = [variation.paragraph(rng.choice(article)) for article in sources]
    title = rng.choice(HEADLINE_PREFIXES) + variation.apply(rng.choice(pool.titles))
    authors = rng.sample(pool.authors, 2 if rng.random() < 0.2 else 1)
    return SyntheticArticle(number, title, authors, rng.choice(pool.publishers),
                            published.astimezone(UTC).replace(tzinfo=None) + offset, zone, paragraphs)


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
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    for old_folder in out.glob("[0-9][0-9][0-9][0-9]"):
        shutil.rmtree(old_folder)
    files = text_files = jsonl_files = 0
    folder: Path | None = None
    number = 0
    while number < docs:
        group = min(GROUP_SIZE, docs - number)
        in_jsonl = min(JSONL_RECORDS, group // 2)
        for _ in range(group - in_jsonl):
            if files % FILES_PER_FOLDER == 0:
                folder = out / f"{files // FILES_PER_FOLDER:04d}"
                folder.mkdir(exist_ok=True)
            article = make_article(number, pool, rng)
            (folder / f"article-{number:07d}.txt").write_text(as_text_file(article, rng), encoding="utf-8")
            files, text_files, number = files + 1, text_files + 1, number + 1
        if in_jsonl:
            if files % FILES_PER_FOLDER == 0:
                folder = out / f"{files // FILES_PER_FOLDER:04d}"
                folder.mkdir(exist_ok=True)
            records = [as_json_record(make_article(number + i, pool, rng)) for i in range(in_jsonl)]
            lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
            (folder / f"export-{number:07d}.jsonl").write_text(lines, encoding="utf-8")
            files, jsonl_files, number = files + 1, jsonl_files + 1, number + in_jsonl
    manifest = {"generator_version": GENERATOR_VERSION, "docs": docs, "seed": seed, "files": files,
                "text_files": text_files, "jsonl_files": jsonl_files,
                "jsonl_documents": docs - text_files, "devset_articles": len(pool.articles),
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
