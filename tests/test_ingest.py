"""Ingestion of every supported format, the seed's metadata, duplicates and bad input."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policytrace.ingest import ingest_folder
from tests.conftest import FIXTURES, ROOT, SEEDS


def by_name(result, name):
    return next(d for d in result.documents if d.file_path == name)


def test_seed_metadata_and_clean_text():
    result = ingest_folder(SEEDS)
    assert not result.rejections and not result.duplicates
    (seed,) = result.documents
    assert seed.title == "Russia Ends Amnesty Program for Prisoner Soldiers"
    assert seed.authors == ["Henrik Rothen"]
    assert seed.published_at == datetime(2024, 2, 4, 18, 13, tzinfo=UTC)
    assert seed.published_timezone == "CET"
    assert seed.published_local == "2024-02-04T19:13:00+01:00"
    assert "Trending Now" not in seed.text and "Most Read" not in seed.text
    assert seed.text.startswith("Russia Ends Amnesty Program for Prisoner Soldiers.\n\nRussia has concluded")
    assert seed.text.endswith("murderers and sex offenders.")
    assert seed.language == "en"
    assert seed.source_id.startswith("src_") and len(seed.source_id) == 20


def test_plain_text_with_two_authors_and_furniture():
    doc = by_name(ingest_folder(FIXTURES / "formats"), "wire_report.txt")
    assert doc.title == "Regional Court Hears Case of Returned Convict Fighter"
    assert doc.authors == ["Maria Kolesnikova", "Pavel Dorn"]
    assert doc.published_at == datetime(2024, 3, 15, 7, 2, tzinfo=UTC)
    assert doc.published_timezone == "EET"
    for furniture in ("Share on Facebook", "Read more", "Most Read"):
        assert furniture not in doc.text
    assert doc.text.count("\n\n") == 1  # two paragraphs left


def test_markdown_front_matter_and_body():
    doc = by_name(ingest_folder(FIXTURES / "formats"), "explainer.md")
    assert doc.title == "Explainer: what Storm V contracts promise convicts"
    assert doc.authors == ["Lena Hart", "Omar Said"]
    assert doc.publisher == "Policy Desk"
    assert doc.url == "https://policydesk.example.org/explainers/storm-v-contracts/"
    assert doc.published_at == datetime(2024, 6, 2, 6, 0, tzinfo=UTC)
    assert doc.published_timezone == "+02:00"
    assert "**" not in doc.text and "> " not in doc.text and "- a severe" not in doc.text
    assert "a one-year contract that is extended automatically" in doc.text
    assert "a state award" in doc.text


def test_html_main_text_and_metadata():
    doc = by_name(ingest_folder(FIXTURES / "formats"), "longread.html")
    assert doc.title == "Inside the penal colonies that emptied for the front"
    assert doc.authors == ["Ruth Adeyemi"]
    assert doc.publisher == "Northern Ledger"
    assert doc.url == "https://ledger.example.com/2023/11/inside-the-colonies"
    assert doc.published_at == datetime(2023, 11, 14, 7, 30, tzinfo=UTC)
    assert "recruiters from the Wagner Group arrived" in doc.text
    assert "Relatives of the recruits" in doc.text
    for boilerplate in ("cookies", "Advertisement", "winter tyres", "Floods hit", "All rights reserved", "Home"):
        assert boilerplate not in doc.text
    assert doc.language == "en"


def test_json_and_jsonl_exports():
    result = ingest_folder(FIXTURES / "formats")
    single = by_name(result, "export.json")
    assert single.title == "Kremlin declines to comment on pardon decrees"
    assert single.retrieved_at == datetime(2023, 1, 16, 12, 0, tzinfo=UTC)
    assert single.published_at == datetime(2023, 1, 16, 11, 5, tzinfo=UTC)
    lines = sorted((d for d in result.documents if d.file_path == "feed.jsonl"), key=lambda d: d.record_index)
    assert [d.record_index for d in lines] == [0, 2]  # the blank line 1 is not a record
    assert lines[0].title == "Mediazona counts convict deaths" and lines[0].authors == ["A. Writer"]
    assert lines[1].publisher is None and lines[1].url == "https://wire.example.net/prison-numbers"
    assert len(result.documents) == 6 and not result.rejections


def test_offsets_refer_to_cleaned_text_and_ids_are_stable():
    first = ingest_folder(FIXTURES / "formats")
    second = ingest_folder(FIXTURES / "formats")
    assert [d.source_id for d in first.documents] == [d.source_id for d in second.documents]
    assert len({d.source_id for d in first.documents}) == len(first.documents)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("image.txt", "binary file"),
        ("latin1.txt", "cannot decode as UTF-8"),
        ("empty.md", "empty after cleaning"),
        ("furniture_only.txt", "empty"),
        ("invalid.json", "invalid JSON"),
        ("no_text.json", "no text field"),
        ("table.csv", "unknown format '.csv'"),
        ("mixed.jsonl#1", "invalid JSON on line 2"),
        ("mixed.jsonl#2", "no text field"),
    ],
)
def test_bad_input_is_rejected_with_reason(name, reason):
    result = ingest_folder(FIXTURES / "bad")
    reasons = {r.location: r.reason for r in result.rejections}
    assert name in reasons, reasons
    assert reason in reasons[name]


def test_bad_input_loses_nothing():
    result = ingest_folder(FIXTURES / "bad")
    # The one good record of mixed.jsonl is kept; every other input is accounted for as rejected.
    assert [d.location for d in result.documents] == ["mixed.jsonl#0"]
    assert len(result.rejections) == 9


def test_duplicates_are_ingested_once_and_reported(tmp_path: Path):
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", tmp_path / "a.txt")
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", tmp_path / "b_copy.txt")
    # Same article with different page furniture: the same cleaned text, so also a duplicate.
    text = (SEEDS / "000_f6ab4e6e68746e43.txt").read_text(encoding="utf-8")
    (tmp_path / "c_reprint.txt").write_text(text.replace("Trending Now", "Share on X"), encoding="utf-8")
    result = ingest_folder(tmp_path)
    assert [d.file_path for d in result.documents] == ["a.txt"]
    assert sorted((d.file_path, d.duplicate_of) for d in result.duplicates) == [
        ("b_copy.txt", "a.txt"), ("c_reprint.txt", "a.txt")]


def test_annotation_and_notes_files_are_skipped_not_ingested(tmp_path: Path):
    shutil.copy(SEEDS / "000_f6ab4e6e68746e43.txt", tmp_path / "a.txt")
    (tmp_path / "a.facts.json").write_text("{}", encoding="utf-8")
    (tmp_path / "README.md").write_text("# notes", encoding="utf-8")
    result = ingest_folder(tmp_path)
    assert [d.file_path for d in result.documents] == ["a.txt"]
    assert sorted(result.skipped) == ["README.md", "a.facts.json"]


@pytest.mark.parametrize(("line", "utc", "zone", "local"), [
    ("Feb.04 - 2024 7:13 PM", datetime(2024, 2, 4, 19, 13, tzinfo=UTC), None, "2024-02-04T19:13:00"),
    ("March 3, 2024, 09:15 CET", datetime(2024, 3, 3, 8, 15, tzinfo=UTC), "CET", "2024-03-03T09:15:00+01:00"),
    ("Nov 1 2023 at 10:00 am UTC+3", datetime(2023, 11, 1, 7, 0, tzinfo=UTC), "+03:00",
     "2023-11-01T10:00:00+03:00"),
    ("Jan 5, 2024 23:30 +05:00", datetime(2024, 1, 5, 18, 30, tzinfo=UTC), "+05:00", "2024-01-05T23:30:00+05:00"),
    ("Jan 5 2024, 10:00 a.m. ET", datetime(2024, 1, 5, 15, 0, tzinfo=UTC), "ET", "2024-01-05T10:00:00-05:00"),
    # A negative offset straight after the date is a zone, not a time of 05:00.
    ("Feb 4, 2024 -05:00", datetime(2024, 2, 4, 5, 0, tzinfo=UTC), "-05:00", "2024-02-04T00:00:00-05:00"),
    # Not a shape read directly: dateparser reads it.
    ("Friday, 9 June 2023 20:05 GMT", datetime(2023, 6, 9, 20, 5, tzinfo=UTC), "GMT", "2023-06-09T20:05:00+00:00"),
])
def test_datelines_with_and_without_a_zone(tmp_path: Path, line: str, utc: datetime, zone: str | None, local: str):
    (tmp_path / "story.txt").write_text(f"Headline of the story\n{line}\n\nBody text of the story goes here.\n")
    (doc,) = ingest_folder(tmp_path).documents
    assert (doc.published_at, doc.published_timezone, doc.published_local) == (utc, zone, local)
    assert "Body text" in doc.text and line not in doc.text


@pytest.mark.parametrize("line", ["March 3, 2024, 09:15 CET", "Nov 1 2023 at 10:00 am UTC+3",
                                  "Jan 5, 2024 23:30 +05:00", "Feb 4, 2024 -05:00", "Feb.04 - 2024 7:13 PM"])
def test_usual_datelines_are_read_without_dateparsers_full_parse(line: str):
    # dateparser's full parse costs milliseconds a line; the usual shapes must not need it.
    from policytrace.ingest.common import _parse_common_forms

    assert _parse_common_forms(line) is not None


def test_a_time_glued_to_a_zone_is_not_read_as_a_dateline(tmp_path: Path):
    (tmp_path / "story.txt").write_text("Headline\nFeb 4, 2024 7:13 PMEST\n\nBody text of the story.\n")
    (doc,) = ingest_folder(tmp_path).documents
    assert doc.published_at is None and doc.published_timezone is None


NON_ENGLISH = [
    ("de", "Das Gericht in der Stadt hat am Montag entschieden, dass die Männer, die aus der Haft an die "
           "Front geschickt wurden, nach ihrer Rückkehr wieder vor Gericht stehen müssen. Die Angehörigen "
           "sagten, sie hätten keine Nachricht von den Behörden erhalten."),
    ("ru", "Суд в городе в понедельник решил, что мужчины, которых отправили из колонии на фронт, после "
           "возвращения снова предстанут перед судом. Родственники сказали, что не получили никаких "
           "сообщений от властей."),
    # Ukrainian shares most of its letters with Russian: the sample must still tell them apart.
    ("uk", "Суд у місті в понеділок вирішив, що чоловіки, яких відправили з колонії на фронт, після "
           "повернення знову постануть перед судом. Родичі сказали, що не отримали жодних повідомлень "
           "від влади."),
]


@pytest.mark.parametrize(("language", "text"), NON_ENGLISH)
def test_language_of_a_non_english_article(tmp_path: Path, language: str, text: str):
    # Long enough that only the beginning is sampled.
    body = "\n\n".join([text] * 6)
    (tmp_path / "story.txt").write_text(f"Headline\n\n{body}\n")
    (doc,) = ingest_folder(tmp_path).documents
    assert len(doc.text) > 1000 and doc.language == language


def test_the_language_scorer_agrees_with_py3langid():
    # LanguageScorer reads py3langid's model itself (cheaper): its languages and leads must be the
    # ones py3langid's own rank and classify give, on texts of several languages and lengths,
    # shouting, digits only, and an empty text.
    import py3langid

    from policytrace.ingest.language import language_scorer

    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "tests" / "devset").iterdir())
             if not path.name.endswith(".facts.json")]
    texts += [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    texts += [text for _, text in NON_ENGLISH]
    # Serbian is the model's one label with two columns (Cyrillic and Latin), merged into one.
    serbian = ("Суд у граду је у понедељак одлучио да мушкарци који су послати из затвора на фронт "
               "морају поново да изађу пред суд.")
    texts += [serbian, "Sud u gradu je u ponedeljak odlučio da muškarci koji su poslati iz zatvora na front "
              "moraju ponovo da izađu pred sud."]
    # Shouting, digits only, empty, decomposed accents (normalised first), a lone surrogate.
    texts += ["THE MINISTRY SAID ON MONDAY THAT THE MEN WERE FREED", "12 34 56 78", "", "Суд решил.",
              "Cafe\u0301 de la gare : le tribunal a de\u0301cide\u0301 lundi que les hommes seront libe\u0301re\u0301s.",
              "\ud800 the ministry said on monday that the men were freed"]
    scorer = language_scorer()
    compared = 0
    for text in texts:
        for length in (60, 400, 800):
            sample = text[:length]
            ranked = py3langid.rank(sample)
            assert scorer.best_with_lead(sample) == (ranked[0][0], ranked[0][1] - ranked[1][1]), sample
            assert scorer.best(sample) == py3langid.classify(sample)[0], sample
            compared += 1
    assert compared >= 3 * 30
    assert {scorer.best(text) for _, text in NON_ENGLISH} == {"de", "ru", "uk"}
    assert scorer.best(serbian) == "sr"


def test_language_of_an_article_that_opens_with_a_long_link(tmp_path: Path):
    # Fewer than five words in the first 400 characters: the longer sample decides.
    link = "https://example.org/" + "archive" * 54
    body = ("Das Gericht in der Stadt hat am Montag entschieden, dass die Männer vor Gericht stehen "
            "müssen. Die Angehörigen sagten, sie hätten keine Nachricht von den Behörden erhalten. ") * 4
    (tmp_path / "story.txt").write_text(f"Headline\n\n{link}\n\n{body}\n")
    (doc,) = ingest_folder(tmp_path).documents
    assert doc.text.startswith(link) and doc.language == "de"


def test_a_documents_hash_and_id_follow_an_edited_text(tmp_path: Path):
    # text_sha256 is kept after the first call: an edit of the text must still be seen.
    import dataclasses
    import hashlib

    (tmp_path / "story.txt").write_text("Headline\n\nThe ministry said on Monday that the men were freed.\n")
    (doc,) = ingest_folder(tmp_path).documents
    first_hash, first_id = doc.text_sha256, doc.source_id
    assert first_hash == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    doc.text = doc.text.replace("Monday", "Tuesday")
    assert doc.text_sha256 == hashlib.sha256(doc.text.encode("utf-8")).hexdigest() != first_hash
    assert doc.source_id != first_id
    # The kept hash is not a field: copies and comparisons see only the document's own fields.
    assert dataclasses.replace(doc).text_sha256 == doc.text_sha256 and dataclasses.replace(doc) == doc


def test_input_files_are_found_in_path_order_with_their_names(tmp_path: Path):
    # Planning walks the folder with strings (os.walk); the order, names and skipped files must be
    # those of the Paths a user would list: sorted part by part, so "a/z.txt" before "a.txt".
    import fnmatch
    import os

    from policytrace.ingest import DEFAULT_EXCLUDE, discover_files, walk_files

    root = tmp_path / "in"
    for name in ["a.txt", "a/z.txt", "a/b/c.md", "A.json", "a-1.txt", "a 2.txt", "été.txt", "b/README.md",
                 "b/x.facts.json", ".hidden/y.txt", "c/.notes.txt", "c/d.jsonl", "10.txt", "9.txt"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x", encoding="utf-8")
    (root / "c" / "empty").mkdir()
    os.symlink(root / "a.txt", root / "link.txt")  # a link to a file is a file
    os.symlink(root / "a", root / "linked_folder")  # not visited, as rglob does not visit it
    os.symlink(root / "missing.txt", root / "dangling.txt")  # not a file

    expected_files, expected_skipped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in DEFAULT_EXCLUDE):
            expected_skipped.append(relative.as_posix())
        else:
            expected_files.append((path, relative.as_posix()))
    files, skipped = walk_files(root)
    assert files == expected_files and skipped == expected_skipped
    assert [name for _path, name in files][:3] == ["10.txt", "9.txt", "A.json"]
    assert "a/z.txt" in [name for _path, name in files] and ".hidden/y.txt" in skipped
    assert discover_files(root) == ([path for path, _name in files], skipped)
    assert walk_files(root / "a.txt") == ([(root / "a.txt", "a.txt")], [])
