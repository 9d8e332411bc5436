"""Extractor 1.7 rules: grievances, cited reports, pronoun and group subjects (made-up sentences)."""

from __future__ import annotations

from datetime import UTC, datetime

from policytrace.documents import Document
from policytrace.extract import extract_document
from policytrace.topic import load_topic

PUBLISHED = datetime(2024, 10, 3, 12, 0, tzinfo=UTC)
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


def events_of(extraction, event_type: str) -> list:
    return [e for e in extraction.events if e.event_type == event_type]


def actor_names(extraction, event) -> set[str]:
    by_key = {actor.key: actor.name for actor in extraction.actors}
    return {by_key.get(key, key) for key, _ in event.actors}


def test_a_speaker_voicing_a_grievance_makes_a_complaint_not_a_statement():
    extraction = extract(
        TOPIC_CONTEXT + "Marta Kovalenko said the families of the victims had not been told that the men were free."
    )
    assert not events_of(extraction, "statement")
    [complaint] = events_of(extraction, "complaint")
    assert "Marta Kovalenko" in actor_names(extraction, complaint)


def test_a_plain_statement_stays_a_statement():
    extraction = extract(TOPIC_CONTEXT + "Marta Kovalenko, a lawyer in Kazan, said the men had returned home.")
    assert len(events_of(extraction, "statement")) == 1
    assert not events_of(extraction, "complaint")


def test_each_outlet_cited_for_another_assessment_has_its_own_statement():
    extraction = extract(
        TOPIC_CONTEXT + "Mediazona said in May that recruiters had visited two colonies. "
        "Analysts at the Fiction Institute assessed in February that convicts no longer receive "
        "pardons, an assessment consistent with reporting by Mediazona and the BBC."
    )
    by_key = {actor.key: actor.name for actor in extraction.actors}
    speakers = [by_key.get(e.claimant_key) for e in events_of(extraction, "statement")]
    # Mediazona's earlier report and the report cited in the assessment are two occasions
    assert speakers.count("Mediazona") == 2
    assert "BBC" in speakers


def test_a_pronoun_right_before_the_trigger_is_the_last_person_named():
    extraction = extract(
        TOPIC_CONTEXT + "Yevgeny Prigozhin led the mutiny in June 2023. "
        "By the time the columns reached Moscow, the deal was done, and two months later he was "
        "dead."
    )
    deaths = events_of(extraction, "death")
    assert deaths and "Yevgeny Prigozhin" in actor_names(extraction, deaths[-1])


def test_a_pronoun_after_a_noun_for_a_person_is_not_the_last_person():
    extraction = extract(
        TOPIC_CONTEXT + "Yevgeny Prigozhin led the mutiny in June 2023. "
        "A neighbour said the fighter came back in May and that later he was killed."
    )
    for event in events_of(extraction, "death") + events_of(extraction, "casualties"):
        assert "Yevgeny Prigozhin" not in actor_names(extraction, event)


def test_many_of_them_are_the_group_of_the_sentence_before():
    extraction = extract(
        TOPIC_CONTEXT + "Officials put the number of convicts at the front at 40,000. "
        "Many of them have been killed, according to relatives."
    )
    [casualties] = events_of(extraction, "casualties")
    assert "Russian prisoners" in actor_names(extraction, casualties)


def test_recruitment_into_new_units_instead_is_a_change_of_the_policy():
    extraction = extract(TOPIC_CONTEXT + "Since the autumn, inmates have been signed up for Storm V units instead.")
    assert events_of(extraction, "policy_change")
    # the context sentence recruits; the sentence with "instead" does not
    assert all(e.evidence.sentence_index == 0 for e in events_of(extraction, "recruitment"))


def test_pardons_signed_by_decree_are_no_new_law():
    extraction = extract(
        TOPIC_CONTEXT + "The president's spokesman admitted that the pardons were being signed by decree."
    )
    assert not events_of(extraction, "policy_start")
    signed = extract(TOPIC_CONTEXT + "Vladimir Putin signed a law on October 2.")
    assert events_of(signed, "policy_start")


def test_what_a_law_allows_is_its_terms_not_events():
    extraction = extract(
        TOPIC_CONTEXT + "Vladimir Putin signed a law on October 2 allowing defendants whose "
        "criminal cases have reached court to be released from criminal liability."
    )
    types = [e.event_type for e in extraction.events if e.evidence.sentence_index == 1]
    assert types == ["policy_start"]


def test_a_policy_sentence_naming_nobody_belongs_to_the_policy_owner():
    extraction = extract(
        "Russia ended the pardons for convicts who fight in Ukraine, the BBC reported.\n\n"
        "New, stricter regulations have been implemented."
    )
    [change] = events_of(extraction, "policy_change")
    assert actor_names(extraction, change) == {"Russia"}


def _owner_of_change_after(paragraphs: int) -> list[set[str]]:
    filler = "".join(
        f"Relatives of inmates gathered outside colony number {n} on Sunday.\n\n" for n in range(paragraphs)
    )
    extraction = extract(
        "Russia ended the pardons for convicts who fight in Ukraine, the BBC reported.\n\n"
        + filler + "New, stricter regulations have been implemented."
    )
    return [actor_names(extraction, e) for e in events_of(extraction, "policy_change")]


def test_the_policy_owner_is_remembered_for_a_few_paragraphs_only():
    assert _owner_of_change_after(2) == [{"Russia"}]
    # six paragraphs on: the article has moved on, and nobody is named
    assert _owner_of_change_after(6) == []


def test_a_heading_asking_why_reports_no_event():
    extraction = extract(TOPIC_CONTEXT + "Why the terms changed\n\nThe ministry said nothing.")
    assert not events_of(extraction, "policy_change")


INTERVIEW = (
    "Anna Sorel is a lawyer with Fair Trial Watch, a group that advises the families of "
    "prisoners. We spoke to her in Riga.\n\n"
    "How did recruitment in the colonies begin?\n\n"
    "Wagner recruited prisoners in the summer of 2022 and promised them a pardon after six months.\n\n"
    "What changed after that?\n\n"
    "The defence ministry took over. Now the contracts are extended automatically.\n"
)


def test_an_interview_is_a_statement_of_the_interviewee_and_her_body():
    extraction = extract(INTERVIEW)
    interviews = [e for e in events_of(extraction, "statement") if e.attribution == "interview"]
    assert len(interviews) == 1
    assert actor_names(extraction, interviews[0]) == {"Anna Sorel", "Fair Trial Watch"}


def test_an_explainer_with_question_headings_is_no_interview():
    explainer = INTERVIEW.replace("We spoke to her in Riga.", "She is based in Riga.")
    extraction = extract(explainer)
    assert not [e for e in extraction.events if e.attribution == "interview"]


def test_a_source_the_text_does_not_name_is_an_actor_and_speaks():
    extraction = extract(
        TOPIC_CONTEXT + "A Russian milblogger claimed that Storm V units attacked near Pokrovsk. "
        "One independent outlet reported on October 1 that recruiters visited two colonies."
    )
    by_key = {actor.key: actor for actor in extraction.actors}
    speakers = {
        by_key[e.claimant_key].name: by_key[e.claimant_key].actor_type for e in events_of(extraction, "statement")
    }
    assert speakers == {"Russian milblogger": "person", "independent outlet": "media_outlet"}


def test_an_indefinite_noun_that_does_not_report_is_no_actor():
    extraction = extract(TOPIC_CONTEXT + "He started a channel about the war in 2023.")
    assert "channel" not in {a.name for a in extraction.actors}


def test_a_trial_told_step_by_step():
    extraction = extract(
        TOPIC_CONTEXT + "Nikolai Ivanov was found guilty by the Lesnoy District Court on Tuesday. "
        "He spent six months at the front and was pardoned in 2023. "
        "State prosecutor Olga Smirnova had asked for 19 years. "
        "The defence asked to suspend the trial. The judge refused."
    )
    by_sentence = {(e.evidence.sentence_index, e.event_type) for e in extraction.events}
    assert (2, "combat") in by_sentence and (2, "release") in by_sentence
    assert (3, "legal") in by_sentence
    judge = [e for e in extraction.events if e.evidence.sentence_index == 5]
    assert [e.event_type for e in judge] == ["legal"]
    assert actor_names(extraction, judge[0]) == {"Lesnoy District Court"}


def test_ages_and_monthly_pay_are_quantities_with_their_units():
    extraction = extract(
        TOPIC_CONTEXT + "Galina Rudneva, 58, said recruiters promised 200,000 roubles a month. "
        "A 74-year-old man was injured."
    )
    found = {(q.value, q.unit) for q in extraction.quantities}
    assert (58.0, "year") in found
    assert (200000.0, "RUB per month") in found
    assert (74.0, "year") in found
    assert (58.0, "month") not in found  # not the unit of the "six months" before it


def test_a_count_of_who_went_to_the_front_is_no_fighting():
    extraction = extract(
        TOPIC_CONTEXT + "Prigozhin claimed that 50,000 prisoners were sent to the front. "
        "Between 100,000 and 180,000 have been sent to the front in total. "
        "Storm Z units fought near Bakhmut in March 2023."
    )
    combat = [e.evidence.sentence_index for e in events_of(extraction, "combat")]
    assert combat == [3]


def test_recruited_for_the_fight_is_a_purpose():
    extraction = extract("Wagner recruited prisoners for the fight in Ukraine.")
    assert not events_of(extraction, "combat")
    assert events_of(extraction, "recruitment")


def test_many_were_killed_is_the_group_before():
    extraction = extract(
        TOPIC_CONTEXT + "He later said 50,000 prisoners had joined Wagner. Many were killed near Bakhmut."
    )
    [casualties] = events_of(extraction, "casualties")
    assert "Russian prisoners" in actor_names(extraction, casualties)


def test_a_participle_after_a_policy_event_is_what_the_policy_does():
    extraction = extract(
        TOPIC_CONTEXT + "The defence ministry has since taken over that role, sending convicts to "
        "the front in its own units."
    )
    second = [e.event_type for e in extraction.events if e.evidence.sentence_index == 1]
    assert second == ["policy_start"]


def test_a_recruit_of_no_named_group_is_of_the_group_the_article_is_about():
    extraction = extract(TOPIC_CONTEXT + "One woman said her husband signed up in September 2023.")
    [recruitment] = [e for e in events_of(extraction, "recruitment") if e.evidence.sentence_index == 1]
    assert "Russian prisoners" in actor_names(extraction, recruitment)


def test_recruiting_offices_are_no_recruitment():
    extraction = extract(TOPIC_CONTEXT + "Lawyers say this has turned detention centres into recruiting offices.")
    assert all(e.evidence.sentence_index == 0 for e in events_of(extraction, "recruitment"))


def test_an_interviewers_question_reports_nothing():
    extraction = extract(
        INTERVIEW + "\nAre women recruited too?\n\nYes. Women prisoners signed up this spring, mostly as medics.\n"
    )
    recruited = events_of(extraction, "recruitment")
    assert not [e for e in recruited if e.description.endswith("?")]
    assert any("this spring" in e.description for e in recruited)


def test_a_second_speech_verb_joined_by_but_keeps_the_first_speaker():
    extraction = extract(
        "The Kremlin on Tuesday confirmed that prisoners who fought in Ukraine are freed by "
        "pardon, but said the decrees are not published."
    )
    cited = {c.name for c in extraction.cited_sources}
    assert "Kremlin" in cited and "Ukraine" not in cited


def test_numbers_written_in_words_with_scales():
    extraction = extract(
        TOPIC_CONTEXT + "Recruits were offered two hundred thousand roubles a month. "
        "Journalists counted one hundred and ninety criminal cases. "
        "Fifty thousand convicts joined Wagner."
    )
    found = {(q.value, q.unit) for q in extraction.quantities}
    assert (200000.0, "RUB per month") in found
    assert (190.0, "criminal cases") in found
    assert (50000.0, "convicts") in found


STRIKE = (
    "Bus and tram drivers in Harwick walked out on Monday in a dispute over shift patterns. "
    "Drivers say they have become prisoners of a rota that changes every few days. The operator "
    "said it had recruited 45 new drivers this year and that the timetable would return to normal "
    "within six months. Services at the Storm Lane interchange were suspended for the day. "
    "Police said two commuters were treated for minor injuries after a crush at Central Station, "
    "where hundreds of passengers waited for replacement buses. The mayor urged both sides to "
    "return to talks, saying residents could not be left without transport for another week. "
    "Union officials said more walkouts were planned for later in the month if no deal was reached. "
    "Shops near the station reported fewer customers, and schools asked parents to plan ahead."
)


def test_an_article_using_three_topic_words_in_passing_is_off_topic():
    extraction = extract(STRIKE)
    assert not events_of(extraction, "recruitment")
    assert not extraction.conditions


def test_a_later_law_on_a_policy_already_started_changes_it():
    extraction = extract(
        TOPIC_CONTEXT + "Since March 2024, Russian law has allowed suspects to avoid prosecution "
        "by signing a military contract. On October 2, 2024, Vladimir Putin signed a law that "
        "lets defendants whose cases are before a court do the same."
    )
    types = {e.evidence.sentence_index: e.event_type for e in extraction.events if e.event_type.startswith("policy_")}
    assert types == {1: "policy_start", 2: "policy_change"}


def test_a_month_of_that_year_takes_the_year_before_it():
    extraction = extract(
        TOPIC_CONTEXT + "Wagner stopped recruiting prisoners in May 2023. In January of that year "
        "the Kremlin had confirmed that the pardons came by decree."
    )
    [statement] = events_of(extraction, "statement")
    assert (statement.date.start.isoformat(), statement.date.precision) == ("2023-01-01", "month")


def test_two_months_later_in_his_death():
    extraction = extract(
        TOPIC_CONTEXT + "Prigozhin's feud with the military leadership ended in a mutiny in June "
        "2023 and, two months later, in his death."
    )
    types = {e.event_type: e for e in extraction.events if e.evidence.sentence_index == 1}
    assert "policy_end" not in types  # "ended in a mutiny" is an outcome
    assert types["death"].date.start.isoformat() == "2023-08-01"
    assert types["mutiny"].date.start.isoformat() == "2023-06-01"


def test_a_prison_term_and_time_served_are_no_terms_of_service():
    extraction = extract(
        TOPIC_CONTEXT + "He was 41, four years into an eleven-year term for armed robbery, when "
        "Wagner offered him a pardon after six months at the front."
    )
    values = {(c.value, c.unit) for c in extraction.conditions if c.value is not None}
    assert (11.0, "year") not in values and (4.0, "year") not in values
    assert (6.0, "month") in values


def test_outlets_listed_with_a_possessive_or_after_published_by_each_report():
    extraction = extract(
        TOPIC_CONTEXT + "In January, the outlet IStories, the BBC's Russian service and Mediazona "
        "each reported that the pardons had stopped."
    )
    by_key = {actor.key: actor.name for actor in extraction.actors}
    speakers = {by_key.get(e.claimant_key) for e in events_of(extraction, "statement")}
    assert {"IStories", "BBC", "Mediazona"} <= speakers
    passive = extract(TOPIC_CONTEXT + "Similar findings were published by IStories and Mediazona in February.")
    assert {"IStories", "Mediazona"} <= {c.name for c in passive.cited_sources}


def test_the_founder_is_the_person_whose_role_that_is():
    extraction = extract(
        TOPIC_CONTEXT + "Yevgeny Prigozhin led a mutiny in June 2023. A deal brokered by the "
        "Belarusian leader, Alexander Lukashenko, ended it, and the founder moved to Belarus. "
        "On 23 August he was killed when his plane crashed."
    )
    [death] = events_of(extraction, "death")
    assert "Yevgeny Prigozhin" in actor_names(extraction, death)
    assert "Alexander Lukashenko" not in actor_names(extraction, death)


def test_crimes_committed_by_pardoned_veterans_are_crimes_not_releases():
    extraction = extract(
        TOPIC_CONTEXT + "Russian media have documented murders and assaults committed by pardoned "
        "veterans of the group."
    )
    types = {e.event_type for e in extraction.events if e.evidence.sentence_index == 1}
    assert "crime" in types
    assert not types & {"release", "combat"}


def test_an_endnote_reports_nothing():
    extraction = extract(
        TOPIC_CONTEXT + "Sources:\n\n- [8] Count of criminal cases by independent journalists, December 2023.\n"
    )
    assert all(e.evidence.sentence_index == 0 for e in extraction.events)
