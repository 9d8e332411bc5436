"""Unit tests of the rule-based extractor on small sentences written for the purpose."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from policytrace.documents import Document
from policytrace.extract import EXTRACTOR_NAME, EXTRACTOR_VERSION, extract_document
from policytrace.extract.dates import find_dates
from policytrace.extract.lexicon import PhraseIndex, inflect
from policytrace.extract.numbers import find_numbers
from policytrace.topic import load_topic

PUBLISHED = datetime(2023, 11, 10, 12, 0, tzinfo=UTC)  # a Friday


def make_document(text: str, published: datetime | None = PUBLISHED) -> Document:
    return Document(
        text=text,
        document_format="text",
        file_path="test.txt",
        raw_sha256="0" * 64,
        published_at=published,
    )


def extract(text: str, published: datetime | None = PUBLISHED):
    document = make_document(text, published)
    return document, extract_document(document, load_topic())


def names(extraction) -> set[str]:
    return {actor.name for actor in extraction.actors}


def actor_keys(extraction, event) -> set[str]:
    by_key = {actor.key: actor.name for actor in extraction.actors}
    return {by_key[key] for key, _role in event.actors}


# A paragraph that makes a document count as being about the topic.
TOPIC_CONTEXT = (
    "Wagner recruited prisoners in penal colonies and promised them a pardon "
    "after six months at the front in Ukraine.\n\n"
)


# --- dates ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "precision", "start", "end"),
    [
        ("in August", "month", date(2023, 8, 1), date(2023, 8, 31)),
        ("in December", "month", date(2022, 12, 1), date(2022, 12, 31)),
        ("last year", "year", date(2022, 1, 1), date(2022, 12, 31)),
        ("in the fall of 2023", "season", date(2023, 9, 1), date(2023, 11, 30)),
        ("in the summer of last year", "season", date(2022, 6, 1), date(2022, 8, 31)),
        ("on Thursday", "day", date(2023, 11, 9), date(2023, 11, 9)),
        ("on Friday", "day", date(2023, 11, 10), date(2023, 11, 10)),
        ("last month", "month", date(2023, 10, 1), date(2023, 10, 31)),
        ("in January last year", "month", date(2022, 1, 1), date(2022, 1, 31)),
        ("two months ago", "month", date(2023, 9, 1), date(2023, 9, 30)),
        ("on 23 August 2023", "day", date(2023, 8, 23), date(2023, 8, 23)),
        ("last November", "month", date(2022, 11, 1), date(2022, 11, 30)),
    ],
)
def test_dates_resolve_against_publication(expression, precision, start, end):
    text = f"It happened {expression}."
    mentions = [m for m in find_dates(text, 0, len(text), PUBLISHED.date()) if m.value]
    assert len(mentions) == 1
    value = mentions[0].value
    assert (value.precision, value.start, value.end) == (precision, start, end)
    assert text[mentions[0].start : mentions[0].end].endswith(expression.split()[-1])


def test_month_names_that_are_verbs_are_not_dates():
    text = "Officials may march to the square and sign a decree."
    assert find_dates(text, 0, len(text), PUBLISHED.date()) == []


def test_that_same_month_takes_the_date_before_it():
    _, extraction = extract(
        TOPIC_CONTEXT + "In January, Dmitry Peskov confirmed the pardons. "
        "The first recruits were released that same month."
    )
    release = next(e for e in extraction.events if e.event_type == "release" and e.date)
    assert (release.date.precision, release.date.start) == ("month", date(2023, 1, 1))


# --- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value", "low", "high", "unit"),
    [
        ("Prigozhin said 50,000 prisoners went to war.", 50000, None, None, "prisoners"),
        ("Estimates range between 100,000 and 180,000 convicts.", None, 100000, 180000, "convicts"),
        ("Tens of thousands of inmates signed up.", None, 20000, 90000, "inmates"),
        ("He brought about two dozen former inmates.", 24, None, None, "former inmates"),
        ("They sign a one-year contract.", 1, None, None, "year"),
        ("Her 34-year-old son signed.", 34, None, None, "year"),
        ("The deal lasted half a year.", 6, None, None, "month"),
        ("He has served fourteen months.", 14, None, None, "month"),
        ("They were paid 200,000 roubles.", 200000, None, None, "RUB"),
    ],
)
def test_numbers_values_ranges_and_units(text, value, low, high, unit):
    (number,) = find_numbers(text, 0, len(text))
    assert (number.value, number.value_low, number.value_high, number.unit) == (
        value,
        low,
        high,
        unit,
    )


def test_side_counts_in_words_are_not_quantities_and_compared_numbers_share_a_unit():
    _, extraction = extract(
        TOPIC_CONTEXT + "Two lawyers gave two reasons. The minister said prisons held about "
        "266,000 people, down from about 420,000 before the war. Four inmates signed."
    )
    found = {(q.value, q.unit) for q in extraction.quantities}
    assert (2, "lawyers") not in found and (2, "reasons") not in found
    assert {(266000, "people"), (420000, "people"), (4, "inmates")} <= found


def test_how_many_names_the_counted_noun():
    _, extraction = extract(
        TOPIC_CONTEXT + "Estimates of how many convicts have been sent to the front run "
        "between 100,000 and 180,000."
    )
    ranges = [q for q in extraction.quantities if q.value_low == 100000]
    assert ranges and ranges[0].unit == "convicts"


def test_labels_and_years_are_not_amounts():
    text = "Penal Colony No. 17 reopened in 2023."
    assert find_numbers(text, 0, len(text)) == []


# --- lexicon -------------------------------------------------------------------------------------
def test_inflection_of_regular_and_irregular_verbs():
    assert {"stops", "stopped", "stopping"} <= set(inflect("stop"))
    assert {"recruits", "recruited", "recruiting"} <= set(inflect("recruit"))
    assert "fought" in inflect("fight")
    # 1.5: verbs stressed on their last syllable double it too
    assert {"admitted", "admitting"} <= set(inflect("admit"))
    assert {"transferred", "committed", "acquitted"} <= {
        form for verb in ("transfer", "commit", "acquit") for form in inflect(verb)
    }


def test_phrase_index_matches_gaps_and_numbers():
    index = PhraseIndex()
    index.add("sign", ["sign+ * contract"])
    index.add("term", ["# month|months"])
    words = "he signed a new contract for six months".split()
    hits = {
        (label, first, last) for label, first, last in index.matches(words, [True] * len(words))
    }
    assert ("sign", 1, 5) in hits
    assert ("term", 6, 8) in hits


# --- actors --------------------------------------------------------------------------------------
def test_registry_aliases_and_role_references_resolve_to_canonical_actors():
    _, extraction = extract(
        "Wagner's founder toured the colonies. The Kremlin spokesman declined "
        "to comment, and the defence ministry said nothing."
    )
    assert {"Yevgeny Prigozhin", "Dmitry Peskov", "Russian Ministry of Defence"} <= names(
        extraction
    )
    prigozhin = next(a for a in extraction.actors if a.name == "Yevgeny Prigozhin")
    assert prigozhin.is_registered and prigozhin.key == "reg:yevgeny_prigozhin"


def test_unregistered_people_with_titles_and_appositions():
    _, extraction = extract(
        "Irina Sokolova, a lawyer in Perm, said the deal was unfair. "
        "Deputy Governor Pavel Lomov declined to comment. Sokolova said later "
        "that she would appeal."
    )
    people = {a.name for a in extraction.actors if a.actor_type == "person"}
    assert {"Irina Sokolova", "Pavel Lomov"} <= people
    sokolova = [a for a in extraction.actors if a.name == "Irina Sokolova"]
    assert {a.surface for a in sokolova} == {"Irina Sokolova", "Sokolova"}
    assert all(not a.is_registered and a.key == "txt:person:irina sokolova" for a in sokolova)


def test_a_local_person_beats_a_registry_alias_with_the_same_surname():
    _, extraction = extract(
        'Defenceman Lukas Wagner scored in overtime. "I owed them one," Wagner said.'
    )
    wagner = {a.name for a in extraction.actors if a.surface == "Wagner"}
    assert wagner == {"Lukas Wagner"}


def test_definite_role_nouns_refer_to_the_latest_matching_actor():
    _, extraction = extract(
        "The Federal Penitentiary Service was asked about the figures. "
        "The service declined to comment."
    )
    service = [a for a in extraction.actors if a.surface == "The service"]
    assert [a.name for a in service] == ["Federal Penitentiary Service"]


def test_groups_named_by_origin_and_organisations_by_head_word():
    _, extraction = extract(
        "Ukrainian officials said so. The Ozyorny District Court ruled on "
        "Tuesday, and Penal Colony No. 12 did not comment."
    )
    types = {a.name: a.actor_type for a in extraction.actors}
    assert types["Ukrainian officials"] == "government_body"
    assert types["Ozyorny District Court"] == "court_or_prosecutor"
    assert types["Penal Colony No. 12"] == "government_body"


# --- events, attribution, negation ---------------------------------------------------------------
def test_event_type_actors_and_date_from_one_sentence():
    _, extraction = extract(
        TOPIC_CONTEXT + "Prigozhin led a rebellion against the Russian military leadership in June."
    )
    mutiny = next(e for e in extraction.events if e.event_type == "mutiny")
    assert {"Yevgeny Prigozhin", "Russian military leadership"} <= actor_keys(extraction, mutiny)
    assert (mutiny.date.precision, mutiny.date.start) == ("month", date(2023, 6, 1))


def test_attribution_gives_claimant_statement_and_cited_source():
    _, extraction = extract(
        TOPIC_CONTEXT + "Recruitment into Storm Z has stopped, according to the BBC."
    )
    policy_end = next(e for e in extraction.events if e.event_type == "policy_end")
    assert policy_end.claimant_key == "reg:bbc"
    assert policy_end.attribution == "according to"
    assert "BBC" in {c.name for c in extraction.cited_sources}


def test_pronoun_speaker_is_the_last_person_outside_quotes():
    _, extraction = extract(
        'Anna Petrova, a lawyer, described the case. "Only the president can sign it," she said.'
    )
    statements = [e for e in extraction.events if e.event_type == "statement"]
    assert {e.claimant_key for e in statements} == {"txt:person:anna petrova"}


def test_negation_and_hedging_are_kept_on_the_event():
    _, extraction = extract(
        TOPIC_CONTEXT + "The ministry has not recruited women, and Wagner "
        "reportedly deployed convicts near Bakhmut."
    )
    by_type = {e.event_type: e for e in extraction.events}
    assert by_type["recruitment"].is_negated
    assert by_type["combat"].is_hedged and not by_type["combat"].is_negated


def event_types(text: str) -> list[str]:
    return [e.event_type for e in extract(TOPIC_CONTEXT + text)[1].events]


@pytest.mark.parametrize(
    "text",
    [
        "Peskov said that convicts who fight atone for their crimes.",  # relative clause
        "The men who had come home were celebrated in their villages.",
        "Many men left the colonies to fight in the war.",  # purpose infinitive
        "Convicts could go home after half a year.",  # modal
        "The lawyer spoke about the pay and six months of fighting.",  # gerund
    ],
)
def test_background_clauses_are_not_combat_or_release_events(text):
    types = event_types(text)
    assert "combat" not in types and "release" not in types


def test_main_clause_events_are_kept():
    assert "combat" in event_types("Wagner fought near Bakhmut in January.")
    assert "release" in event_types("Anna Petrova, a lawyer, was released in the summer.")


def test_no_longer_with_a_release_trigger_is_the_end_of_a_policy():
    types = event_types("Rights groups said convict recruits were no longer being pardoned.")
    assert "policy_end" in types and "release" not in types


def test_quotes_of_a_named_speaker_and_non_answers_are_not_statements():
    _, extraction = extract(
        "Anna Petrova, a lawyer, described the case to reporters. "
        '"Whatever the recruiter said, what counts is the paper," she said. '
        "The Federal Penitentiary Service did not respond to a request for comment. "
        "The Kremlin has never confirmed the change."
    )
    statements = [e for e in extraction.events if e.event_type == "statement"]
    assert [e.trigger for e in statements] == ["described"]
    assert "Federal Penitentiary Service" not in {c.name for c in extraction.cited_sources}


def test_a_bare_group_is_an_actor_as_the_subject_of_a_reporting_verb():
    _, extraction = extract(
        TOPIC_CONTEXT + "In December, reporters counted 190 criminal cases against returnees."
    )
    assert "reporters" in names(extraction)
    statement = next(e for e in extraction.events if e.event_type == "statement")
    assert "reporters" in actor_keys(extraction, statement)


def test_he_was_killed_is_a_death_not_casualties():
    types = event_types(
        "Wagner's founder led a short-lived mutiny in June and was killed in a plane crash in August."
    )
    assert "death" in types and "casualties" not in types


# --- policy conditions ---------------------------------------------------------------------------
def test_exit_renewal_and_term_conditions_with_values():
    _, extraction = extract(
        TOPIC_CONTEXT + "Now inmates sign a contract with the defence "
        "ministry for one year, and the contract is extended automatically. "
        "They can leave only if they are badly wounded, get a state award, "
        "reach the age limit, or when the war is over."
    )
    storm_v = [c for c in extraction.conditions if c.policy_key == "storm_v_contracts"]
    types = sorted(c.condition_type for c in storm_v)
    assert types.count("exit") == 4
    assert "renewal" in types
    term = next(c for c in storm_v if c.condition_type == "obligation")
    assert (term.value, term.unit) == (1, "year")


def test_a_negated_condition_is_flagged():
    _, extraction = extract(
        TOPIC_CONTEXT + "Officials have not said that pardons ended for the new recruits."
    )
    termination = next(c for c in extraction.conditions if c.condition_type == "termination")
    assert termination.status == "ended" and termination.is_negated


def test_a_term_after_a_denied_verb_of_its_clause_is_not_a_condition():
    # 1.5: the denial reaches a term of service further on in its clause.
    _, extraction = extract(
        TOPIC_CONTEXT + "The ministry contract did not guarantee his freedom after six months."
    )
    assert not any(
        c.condition_type == "obligation" and (c.value, c.unit) == (6.0, "month")
        for c in extraction.conditions
        if c.policy_key == "storm_v_contracts"
    )
    assert not any(c.condition_type == "termination" for c in extraction.conditions)


def test_a_term_named_after_instead_of_is_denied():
    document, extraction = extract(
        TOPIC_CONTEXT + "Under the new ministry contract, inmates sign for one year "
        "instead of six months, and instead of a pardon they get conditional release."
    )
    storm_v = [c for c in extraction.conditions if c.policy_key == "storm_v_contracts"]
    terms = {(c.value, c.unit) for c in storm_v if c.condition_type == "obligation"}
    assert (1.0, "year") in terms and (6.0, "month") not in terms
    benefits = [
        document.text[c.evidence.span_start : c.evidence.span_end]
        for c in storm_v
        if c.condition_type == "benefit"
    ]
    assert benefits == ["conditional release"]


def test_a_termination_belongs_to_what_it_ends():
    # docs/annotation.md 3: "no pardon" ends the pardon deal, even in a paragraph about the
    # ministry's one-year contracts that replaced it.
    _, extraction = extract(
        TOPIC_CONTEXT + "Since the autumn, convicts sign one-year Storm V contracts with the "
        "ministry. No pardon."
    )
    termination = next(c for c in extraction.conditions if c.condition_type == "termination")
    assert termination.policy_key == "wagner_pardon_for_service"


def test_nobody_signed_into_a_unit_any_more_ends_its_recruitment():
    _, extraction = extract(
        TOPIC_CONTEXT + "Since this autumn, nobody is being signed into Storm Z any more."
    )
    termination = next(c for c in extraction.conditions if c.condition_type == "termination")
    assert termination.policy_key == "storm_z_ministry_recruitment"
    assert "policy_end" in [e.event_type for e in extraction.events]


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("Since March, suspects have been able to escape prosecution by enlisting.",
         "suspect_contracts"),
        ("Since March, a suspect or a defendant can make a criminal case go away.",
         "suspect_contracts"),
        ("Women prisoners are now being recruited as well.", "women_prisoner_recruitment"),
        ("Olga Petrova said women had been offered contracts as medics.",
         "women_prisoner_recruitment"),
    ],
)
def test_who_a_policy_is_opened_to_is_an_eligibility_condition(text, policy):
    _, extraction = extract(TOPIC_CONTEXT + text)
    assert any(
        c.condition_type == "eligibility" and c.policy_key == policy
        for c in extraction.conditions
    )


def test_liability_exemption_and_self_renewing_contracts_are_conditions():
    _, extraction = extract(
        TOPIC_CONTEXT + "Defendants are exempted from criminal liability after their service. "
        "Since last year convicts sign one-year contracts that renew themselves.\n\n"
        "Desertion, alcohol and drugs are banned."
    )
    found = {(c.condition_type, c.policy_key) for c in extraction.conditions}
    assert ("benefit", "suspect_contracts") in found
    assert ("renewal", "storm_v_contracts") in found
    assert any(kind == "obligation" for kind, _ in found)


def test_off_topic_documents_get_counts_but_no_conditions_or_durations():
    _, extraction = extract(
        "The council said the bridge will close for eight weeks. Councillor "
        "Jane Hart said 12 buses would replace the trams."
    )
    assert extraction.conditions == []
    assert [(q.value, q.unit) for q in extraction.quantities] == [(12, "buses")]
    assert any(e.event_type == "statement" for e in extraction.events)


def test_a_denied_term_is_not_a_condition():
    _, extraction = extract(
        TOPIC_CONTEXT + "Under the new arrangement the contract is for a year, not six months."
    )
    terms = {(c.value, c.unit) for c in extraction.conditions if c.policy_key == "storm_v_contracts"}
    assert (1.0, "year") in terms and (6.0, "month") not in terms


def test_hyphenated_terms_of_every_unit_are_conditions():
    _, extraction = extract(TOPIC_CONTEXT + "Inmates now sign a one-year contract with the ministry.")
    assert any(
        c.condition_type == "obligation" and (c.value, c.unit) == (1.0, "year")
        for c in extraction.conditions
    )


# --- evidence ------------------------------------------------------------------------------------
def test_every_record_has_exact_evidence_spans():
    document, extraction = extract(
        TOPIC_CONTEXT + "Prigozhin claimed that 50,000 prisoners "
        "joined Wagner, according to the BBC. In February, the defence "
        "ministry took over recruitment with Storm Z."
    )
    text = document.text
    records = [
        *extraction.actors,
        *extraction.events,
        *extraction.conditions,
        *extraction.quantities,
        *extraction.cited_sources,
    ]
    assert records
    for record in records:
        evidence = record.evidence
        assert (
            0 <= evidence.char_start <= evidence.span_start < evidence.span_end <= evidence.char_end
        )
        assert (
            text[evidence.char_start : evidence.char_end].strip()
            == text[evidence.char_start : evidence.char_end]
        )
    for actor in extraction.actors:
        assert text[actor.evidence.span_start : actor.evidence.span_end] == actor.surface
    for quantity in extraction.quantities:
        assert text[quantity.evidence.span_start : quantity.evidence.span_end] == quantity.text
    keys = {a.key for a in extraction.actors}
    for event in extraction.events:
        assert {key for key, _ in event.actors} <= keys
        assert event.claimant_key is None or event.claimant_key in keys


def test_extraction_is_deterministic_and_versioned():
    document = make_document(TOPIC_CONTEXT + "Putin signed the decree in March.")
    first = extract_document(document, load_topic())
    second = extract_document(document, load_topic())
    assert first == second
    assert (first.extractor, first.extractor_version) == (EXTRACTOR_NAME, EXTRACTOR_VERSION)


def test_documents_without_a_publication_date_keep_only_absolute_dates():
    _, extraction = extract(
        TOPIC_CONTEXT + "Wagner stopped recruiting in February 2023. "
        "The ministry took over recruitment last year.",
        published=None,
    )
    dated = {e.event_type: e.date for e in extraction.events}
    assert dated["policy_end"].start == date(2023, 2, 1)
    assert all(
        e.date is None
        for e in extraction.events
        if e.event_type == "recruitment" and "last year" in e.description
    )


# --- 1.2.0 ----------------------------------------------------------------------------------------
def _events(extraction, event_type: str):
    return [event for event in extraction.events if event.event_type == event_type]


def test_a_count_of_cases_is_a_statement_and_the_cases_a_legal_event():
    _, extraction = extract(
        TOPIC_CONTEXT + "Reporters counted about 190 criminal cases against pardoned Wagner fighters."
    )
    assert _events(extraction, "statement") and _events(extraction, "legal")


def test_the_following_year_is_resolved_against_the_date_before_it():
    _, extraction = extract(
        TOPIC_CONTEXT + "Prigozhin toured colonies in 2021, and Wagner stopped enlisting convicts "
        "the following year."
    )
    ended = _events(extraction, "policy_end")
    assert ended and ended[0].date is not None and ended[0].date.start == date(2022, 1, 1)
    assert not _events(extraction, "recruitment") or all(
        e.trigger != "enlisting" for e in _events(extraction, "recruitment")
    )


def test_a_weekday_with_an_indefinite_article_is_not_a_date():
    assert find_dates("on a Tuesday in April", 0, 21, date(2023, 11, 10))[0].value.precision == "month"


def test_conditions_and_predictions_are_not_events():
    _, extraction = extract(
        TOPIC_CONTEXT + "They may leave unless they are seriously wounded. "
        "The Kremlin will say that the men chose to fight. He later said 50,000 prisoners joined."
    )
    assert not _events(extraction, "casualties")
    claimants = {actor_keys(extraction, e).pop() for e in _events(extraction, "statement") if e.actors}
    assert "Kremlin" not in claimants


def test_recruiters_are_an_event_only_with_what_they_did():
    _, quiet = extract(TOPIC_CONTEXT + "The families say the recruiters promised them safe posts.")
    assert not [e for e in _events(quiet, "recruitment") if "recruiters" in e.trigger]
    _, active = extract(TOPIC_CONTEXT + "Recruiters arrived at Penal Colony No. 5 in April.")
    assert any("recruiters" in e.trigger.lower() for e in _events(active, "recruitment"))


def test_a_law_opening_contracts_to_suspects_is_an_eligibility_condition():
    _, extraction = extract(
        TOPIC_CONTEXT + "Since March, the law has allowed suspects and defendants to avoid "
        "prosecution by signing a military contract."
    )
    assert any(
        c.condition_type == "eligibility" and c.policy_key == "suspect_contracts"
        for c in extraction.conditions
    )


# --- 1.3.0 ----------------------------------------------------------------------------------------
def test_a_statement_is_dated_by_when_it_was_made_not_by_what_it_reports():
    _, extraction = extract(
        TOPIC_CONTEXT + "In February, the investigative outlet Mediazona and the BBC found that "
        "convicts recruited in 2022 no longer received a pardon."
    )
    said = _events(extraction, "statement")
    assert said and said[0].date is not None and said[0].date.start == date(2023, 2, 1)


def test_a_date_right_after_the_speech_verb_dates_the_statement():
    _, extraction = extract(
        TOPIC_CONTEXT + "Peskov said on Thursday that convicts who fought in 2022 were pardoned."
    )
    said = _events(extraction, "statement")
    assert said and said[0].date is not None and said[0].date.start == date(2023, 11, 9)


# --- 1.4.0 ----------------------------------------------------------------------------------------
def test_a_policy_event_told_again_without_its_owner_is_one_event():
    _, extraction = extract(
        TOPIC_CONTEXT + "The defence ministry ended the pardon offer for convicts in January.\n\n"
        "The pardon deal for convicts has since been scrapped, as reported by Mediazona amid "
        "anger among conscripts."
    )
    ended = _events(extraction, "policy_end")
    assert len(ended) == 1
    assert {"Russian Ministry of Defence", "Mediazona"} <= actor_keys(extraction, ended[0])
    assert ended[0].claimant_key == "reg:mediazona"  # the repeat's reporter reports the event
    assert ended[0].date is not None and ended[0].date.start == date(2023, 1, 1)


def test_a_policy_event_with_its_own_owner_is_not_merged_into_an_earlier_one():
    _, extraction = extract(
        TOPIC_CONTEXT + "The defence ministry ended the pardon offer for convicts in January.\n\n"
        "The practice of President Vladimir Putin signing pardon decrees for convicts has ceased."
    )
    ended = _events(extraction, "policy_end")
    assert len(ended) == 2
    assert "Vladimir Putin" in actor_keys(extraction, ended[1])


def test_an_event_inside_a_claim_is_kept_and_carries_the_claimant():
    _, extraction = extract(
        TOPIC_CONTEXT + "Prigozhin claimed that thousands of convicts were pardoned."
    )
    release = _events(extraction, "release")
    assert release and release[0].claimant_key == "reg:yevgeny_prigozhin"
    assert ("reg:yevgeny_prigozhin", "claimant") in release[0].actors


def test_a_date_after_the_article_does_not_date_an_event():
    # Published 10 November 2023: a recruitment "in March 2024" has not happened yet.
    text = TOPIC_CONTEXT + "The defence ministry enlists more prisoners in March 2024."
    document, extraction = extract(text)
    later = [e for e in extraction.events
             if "March 2024" in document.text[e.evidence.char_start:e.evidence.char_end]]
    assert later and all(e.date is None for e in later)


# --- 1.5.0: events ---------------------------------------------------------------------------------
def sentence_event_types(text: str) -> list[str]:
    """The event types of `text` alone (after the topic paragraph)."""
    document, extraction = extract(TOPIC_CONTEXT + text)
    start = len(TOPIC_CONTEXT)
    return [e.event_type for e in extraction.events if e.evidence.char_start >= start]


def test_a_name_in_a_gap_of_a_trigger_does_not_cancel_it():
    _, extraction = extract(
        TOPIC_CONTEXT + "The court ruled that Ivan Sidorov had beaten Pavel Orlov to death."
    )
    types = [e.event_type for e in extraction.events]
    assert "crime" in types and "death" not in types


def test_a_trigger_that_only_starts_in_a_name_counts():
    assert "recruitment" in event_types(
        "Ivan Sidorov was serving a sentence when Wagner recruiters arrived at his colony."
    )


def test_a_sentence_opening_with_he_gives_its_events_to_the_last_person():
    _, extraction = extract(
        TOPIC_CONTEXT + "Ivan Sidorov, 41, was sentenced in July.\n\n"
        "He spent six months at the front, was pardoned and returned to his village."
    )
    release = next(e for e in extraction.events if e.event_type == "release")
    assert actor_keys(extraction, release) == {"Ivan Sidorov"}


def test_a_pronoun_later_in_the_sentence_does_not_give_the_last_person():
    _, extraction = extract(
        TOPIC_CONTEXT + "Ivan Sidorov, 41, was sentenced in July.\n\n"
        "In September the daughter called: she had been wounded by shrapnel."
    )
    assert not any(
        "Ivan Sidorov" in actor_keys(extraction, e)
        for e in extraction.events
        if e.event_type in ("casualties", "death")
    )


@pytest.mark.parametrize(
    "text",
    [
        "Criminal cases were opened against fighters who came back after being pardoned.",
        "The lawyer asked the judge so that his client could sign a contract with the ministry.",
        "The law frees defendants if they sign a contract with the ministry.",
        "Russian convicts who enlist no longer get pardons, the lawyer said.",
    ],
)
def test_passive_gerunds_modals_conditions_and_relatives_are_background(text):
    types = sentence_event_types(text)
    assert "release" not in types and "recruitment" not in types


def test_an_act_followed_by_an_ending_verb_is_the_end_of_its_policy():
    types = sentence_event_types("In the autumn, recruitment into Storm Z reportedly stopped.")
    assert "policy_end" in types and "recruitment" not in types


def test_a_date_before_a_coordinated_clause_does_not_date_it():
    _, extraction = extract(
        TOPIC_CONTEXT
        + "Prigozhin went on to lead a mutiny in June and was killed in a plane crash in August."
    )
    death = next(e for e in extraction.events if e.event_type == "death")
    assert death.date.start == date(2023, 8, 1)


def test_an_assessment_is_a_statement():
    _, extraction = extract(
        TOPIC_CONTEXT + "The Institute for the Study of War assesses that the Kremlin "
        "ended pardons."
    )
    statement = next(e for e in extraction.events if e.event_type == "statement")
    assert statement.claimant_key == "reg:institute_for_the_study_of_war"


def test_an_indirect_question_is_not_an_event():
    types = sentence_event_types(
        "Nobody outside the government knows how many prisoners have been sent to the front."
    )
    assert "combat" not in types
    types = sentence_event_types("Families are not told whether the killers have been released.")
    assert "release" not in types


def test_a_gerund_after_on_is_background():
    types = sentence_event_types(
        "The officials who sign off on sending prisoners to the front are named in the report."
    )
    assert "combat" not in types


def test_gone_home_is_a_release_and_a_rule_extended_a_policy_change():
    assert "release" in sentence_event_types(
        "Anna Petrova, a lawyer, said the first group had gone home."
    )
    assert "policy_change" in sentence_event_types(
        "In the autumn the rule has been extended to defendants whose cases reached court."
    )


def test_an_institution_and_its_spokesperson_retelling_one_statement_are_one_event():
    _, extraction = extract(
        TOPIC_CONTEXT + "The Kremlin on Tuesday confirmed that the pardons are secret. "
        "Kremlin spokesman Dmitry Peskov told reporters that the decrees are not published."
    )
    statements = [e for e in extraction.events if e.event_type == "statement"]
    assert len(statements) == 1
    assert {"Kremlin", "Dmitry Peskov"} <= actor_keys(extraction, statements[0])


def test_two_people_in_consecutive_sentences_make_two_statements():
    _, extraction = extract(
        TOPIC_CONTEXT + "Anna Petrova, a lawyer, said the pardons are secret. "
        "Ivan Sidorov, a judge, told reporters that Anna Petrova was wrong."
    )
    assert len([e for e in extraction.events if e.event_type == "statement"]) == 2


def test_giving_a_figure_is_a_statement():
    _, extraction = extract(
        TOPIC_CONTEXT + "In October the deputy justice minister, Vsevolod Vukolov, gave a "
        "figure of about 266,000."
    )
    statement = next(e for e in extraction.events if e.event_type == "statement")
    assert statement.claimant_key == "reg:vsevolod_vukolov"


@pytest.mark.parametrize(
    ("text", "kind", "policy"),
    [
        ("In the autumn lawmakers extended the option to defendants at any stage of a trial.",
         "eligibility", "suspect_contracts"),
        ("The pardon decrees are not published.", "approval", "wagner_pardon_for_service"),
        ("A Storm V recruit was sent back because a medical commission did not classify the "
         "wound as severe.", "approval", "storm_v_contracts"),
        ("Their Storm V contracts run until the end of the war unless they are seriously "
         "wounded.", "exit", "storm_v_contracts"),
        ("Their Storm V contracts run until the end of the war.", "obligation",
         "storm_v_contracts"),
    ],
)
def test_widened_eligibility_approvals_and_open_ended_terms(text, kind, policy):
    _, extraction = extract(TOPIC_CONTEXT + text)
    assert any(
        c.condition_type == kind and c.policy_key == policy for c in extraction.conditions
    )


def test_a_term_named_with_what_it_earns_is_an_obligation():
    _, extraction = extract(TOPIC_CONTEXT.replace("after six months", "soon") + (
        "Lawyer Anna Petrova summed up the Wagner deal: six months, then a pardon and home."
    ))
    assert any(
        c.condition_type == "obligation" and (c.value, c.unit) == (6.0, "month")
        for c in extraction.conditions
    )


def test_the_rest_of_a_prison_sentence_is_not_a_term_of_service():
    _, extraction = extract(
        TOPIC_CONTEXT + "Her son signed a Storm V contract with seven years of a ten-year "
        "sentence still to serve."
    )
    assert not any(c.value == 7.0 for c in extraction.conditions)


def test_an_ending_of_another_event_is_not_the_end_of_a_policy():
    types = sentence_event_types("The uprising ended within a day under a deal.")
    assert "policy_end" not in types


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("The mothers asked the president to let the men come home.", "release"),
        ("Western officials put the number of convicts fighting for Wagner at 40,000.",
         "combat"),
        ("The prison service said it had no information about recruitment in its colonies.",
         "recruitment"),
    ],
)
def test_requests_participles_and_topics_of_information_are_not_events(text, absent):
    assert absent not in sentence_event_types(text)


def test_what_follows_that_is_not_the_speaker():
    _, extraction = extract(
        TOPIC_CONTEXT + "In reports published last week, the outlets IStories and Mediazona, "
        "working separately, found that convicts no longer receive pardons."
    )
    statement = next(e for e in extraction.events if e.event_type == "statement")
    assert statement.claimant_key in {"reg:istories", "reg:mediazona"}
    assert "Russian prisoners" not in {c.name for c in extraction.cited_sources}


def test_what_a_denied_cue_reports_is_not_an_event():
    types = sentence_event_types(
        "Oleg Shatunov, a prison official, did not confirm that pardons had stopped."
    )
    assert "policy_end" not in types and "statement" not in types


def test_a_takeover_of_recruitment_starts_a_policy():
    # docs/annotation.md 2.3: "X took over prison recruitment" is X's policy_start
    types = sentence_event_types("The defence ministry has since taken over the recruitment of inmates.")
    assert "policy_start" in types and "recruitment" not in types


def test_restrictive_relatives_are_background_and_non_restrictive_ones_are_events():
    # docs/annotation.md 2.1: "a convict who was pardoned" identifies him; ", who was released
    # in the summer," tells an occurrence of its own
    assert "release" not in sentence_event_types(
        "A court sentenced a former convict who was pardoned in the spring."
    )
    assert "release" in sentence_event_types(
        "Anna Petrova, who was released in the summer, described the colony."
    )


def test_each_outlet_of_a_coordinated_subject_has_its_own_statement():
    # docs/annotation.md 2.2: "IStories, BBC Russian and Mediazona reported" is three statements
    _, extraction = extract(
        TOPIC_CONTEXT + "In reports published last week, the independent outlets IStories, "
        "the BBC and Mediazona, working separately, found that convicts no longer receive pardons."
    )
    statements = [e for e in extraction.events if e.event_type == "statement"]
    assert sorted(e.claimant_key for e in statements) == ["reg:bbc", "reg:istories", "reg:mediazona"]
    assert {"IStories", "BBC", "Mediazona"} <= {c.name for c in extraction.cited_sources}


def test_the_policy_vote_picks_the_leader_as_counter_most_common_does():
    """`_leader` (the compiled policy vote) agrees with `Counter.most_common` on counts with ties."""
    import random
    from collections import Counter

    from policytrace.extract.extractor import _leader

    assert _leader({}) == (-1, False)
    draw = random.Random(7)
    for _ in range(2_000):
        counts = Counter(draw.choice(range(5)) for _ in range(draw.randint(1, 8)))
        ranked = counts.most_common(2)
        expected_alone = len(ranked) == 1 or ranked[0][1] > ranked[1][1]
        assert _leader(dict(counts)) == (ranked[0][0], expected_alone), counts
