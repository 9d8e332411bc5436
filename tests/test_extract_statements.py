"""Extractor 1.6 rules for statements, speakers and background clauses (made-up sentences)."""

from __future__ import annotations

from datetime import UTC, datetime

from policytrace.documents import Document
from policytrace.extract import extract_document
from policytrace.topic import load_topic

PUBLISHED = datetime(2023, 11, 10, 12, 0, tzinfo=UTC)
TOPIC_CONTEXT = (
    "Wagner recruited prisoners in penal colonies and promised them a pardon "
    "after six months at the front in Ukraine.\n\n"
)


def extract(text: str):
    document = Document(
        text=text,
        document_format="text",
        file_path="test.txt",
        raw_sha256="0" * 64,
        published_at=PUBLISHED,
    )
    return extract_document(document, load_topic())


def statements(extraction) -> list:
    return [e for e in extraction.events if e.event_type == "statement"]


def speaker_names(extraction) -> list[str]:
    by_key = {actor.key: actor.name for actor in extraction.actors}
    return sorted(by_key.get(e.claimant_key, "") for e in statements(extraction))


def test_a_definite_description_that_speaks_is_an_actor():
    extraction = extract(
        TOPIC_CONTEXT + "Six people were hurt when the bridge collapsed, the transport ministry said."
    )
    assert "transport ministry" in {a.name for a in extraction.actors}
    assert speaker_names(extraction) == ["transport ministry"]


def test_a_state_owned_body_keeps_its_possessive_and_a_lowercase_owner_is_dropped():
    extraction = extract(
        TOPIC_CONTEXT + "The flight was cancelled, Norway's civil aviation authority said. "
        "Water rose two metres, according to the town's harbour authority."
    )
    names = {a.name for a in extraction.actors}
    assert "Norway's civil aviation authority" in names
    assert "harbour authority" in names


def test_according_to_a_body_is_its_statement_even_with_news_in_the_sentence():
    extraction = extract(
        TOPIC_CONTEXT + "Forty prisoners were killed near Bakhmut, according to the Fiction Ministry."
    )
    assert "casualties" in {e.event_type for e in extraction.events}
    assert len(statements(extraction)) == 1


def test_coordinated_sources_after_according_to_are_each_cited():
    extraction = extract(
        TOPIC_CONTEXT + "Many recruits were killed, according to relatives and Ukrainian officials."
    )
    cited = {c.name for c in extraction.cited_sources}
    assert {"Ukrainian officials"} <= cited
    by_key = {actor.key: actor.name for actor in extraction.actors}
    (statement,) = statements(extraction)  # relatives (a population) make no statement
    assert [by_key[k] for k, role in statement.actors if role == "claimant"] == [
        "Ukrainian officials"
    ]


def test_declined_to_comment_is_no_statement():
    extraction = extract(TOPIC_CONTEXT + "The Fiction Ministry declined to comment.")
    assert statements(extraction) == []


def test_estimates_including_a_body_are_its_statement():
    extraction = extract(
        TOPIC_CONTEXT + "Various estimates, including from Ukrainian intelligence, put the number "
        "of convicts sent to fight at 100,000."
    )
    assert speaker_names(extraction) == ["Ukrainian military intelligence"]  # registry name


def test_a_later_occasion_of_the_same_speaker_is_another_statement():
    # docs/annotation.md 2.2: one statement per speaker per occasion
    extraction = extract(
        TOPIC_CONTEXT + "Anna Petrova, a lawyer, said the contracts were secret. "
        "She later said that 500 prisoners had signed. In March she said the colony was empty."
    )
    assert len(statements(extraction)) >= 2


def test_an_unknown_subject_before_that_is_not_replaced_by_the_content():
    extraction = extract(TOPIC_CONTEXT + "A blogger claimed that Storm V units were near Avdiivka.")
    assert "Storm V" not in speaker_names(extraction)


def test_he_added_is_the_speaker_of_the_sentence_before_not_the_person_spoken_about():
    extraction = extract(
        TOPIC_CONTEXT + "Kremlin spokesman Dmitry Peskov said the decrees were signed by "
        "President Vladimir Putin. Those decrees, he added, are secret."
    )
    assert "Vladimir Putin" not in speaker_names(extraction)


def test_pronoun_after_what_or_as_is_the_subject_of_the_speech_verb():
    extraction = extract(
        TOPIC_CONTEXT + "Relatives of inmates wrote to President Vladimir Putin about what they "
        "say was promised to the men."
    )
    assert "Vladimir Putin" not in speaker_names(extraction)


def test_reduced_relatives_after_a_plural_are_background():
    # docs/annotation.md 2.1: "convicts recruited since the autumn no longer get pardons"
    extraction = extract("Convicts recruited since the autumn serve in Storm V units.\n\n" + TOPIC_CONTEXT)
    recruitments = [e for e in extraction.events if e.event_type == "recruitment"]
    assert all(e.evidence.sentence_index != 0 for e in recruitments)


def test_a_date_before_comma_and_dates_the_clause_before():
    extraction = extract(
        TOPIC_CONTEXT + "Prigozhin toured colonies in 2022, and the defence ministry took over "
        "after Wagner stopped enlisting convicts the following year."
    )
    start = next(e for e in extraction.events if e.event_type == "policy_start")
    assert start.date is not None and start.date.value.year == 2023


def test_a_single_name_with_an_age_is_a_person():
    extraction = extract(TOPIC_CONTEXT + "Zorin, 41, who was pardoned in January, said he was free.")
    assert "Zorin" in {a.name for a in extraction.actors if a.actor_type == "person"}


def test_an_ampersand_joins_one_organisation_name():
    extraction = extract(TOPIC_CONTEXT + "Work will start in May, Hollin & Webb Engineering said.")
    assert "Hollin & Webb Engineering" in {a.name for a in extraction.actors}


def test_sources_listed_with_including_are_each_cited():
    extraction = extract(
        TOPIC_CONTEXT + "The number of inmates fell by 2,000, according to figures cited by rights "
        "activists, including the Fiction Institute."
    )
    assert "Fiction Institute" in {c.name for c in extraction.cited_sources}


def test_a_nominal_trigger_after_a_preposition_and_the_is_background():
    extraction = extract(TOPIC_CONTEXT + "The agency publishes no figures on the recruitment of women.")
    assert all(e.evidence.sentence_index == 0 for e in extraction.events if e.event_type == "recruitment")


def test_a_nominal_with_a_modifier_after_of_is_background_but_after_after_it_counts():
    extraction = extract(TOPIC_CONTEXT + "The scale of convict recruitment remains unclear.")
    assert all(e.evidence.sentence_index == 0 for e in extraction.events if e.event_type == "recruitment")


def test_a_first_person_grievance_in_a_quote_is_the_speakers_complaint():
    extraction = extract(
        TOPIC_CONTEXT + "Anna Petrova, a lawyer, lost touch with her son. "
        '"I wrote to the ministry and nobody answered," Petrova said.'
    )
    by_key = {actor.key: actor.name for actor in extraction.actors}
    complaints = [e for e in extraction.events if e.event_type == "complaint"]
    assert [[by_key[k] for k, _ in e.actors] for e in complaints] == [["Anna Petrova"]]


def test_a_third_person_grievance_in_a_quote_stays_background():
    extraction = extract(
        TOPIC_CONTEXT + 'Anna Petrova, a lawyer, said: "They wrote to the ministry."'
    )
    assert "complaint" not in {e.event_type for e in extraction.events}
