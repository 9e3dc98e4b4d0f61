"""One person, one passport on its way, system-wide: the same national ID applying at two
missions (alpha in Berlin, beta in Tokyo). HQ, which prints every passport, holds the second
case while the first passport is printed and not handed over (its database refuses a second
one too, whatever the writer or the timing), and its queue flags each waiting case with the
person's other open applications before anything is printed; the second mission's officer is
told, in their language, which mission holds it; and before the biometrics the officer is warned
of the other mission's open application, from HQ's register, or told the check could not be
made."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from passports import services
from passports.models import Application
from passports.register import selectors as register_selectors
from passports.register import services as register_services
from passports.register.models import (
    IssuedDocument,
    NumberBlock,
    OpenApplication,
    PersonalisationCase,
)
from passports.register.open_applications_projector import open_applications_rebuild
from passports.services.report import person_index
from sync.hq.models import SkippedEvent
from tests.conftest import make_staff, text_of, texts_of
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.factories import application_submitted, national_id
from tests.passports.test_personalisation import _approved, _to_hq, handed_over
from tests.registers import outbox_on_the_wire

pytestmark = pytest.mark.django_db

BERLIN_TR = "Berlin Başkonsolosluğu"
TOKYO_TR = "Tokyo Büyükelçiliği"


@pytest.fixture
def named_in_turkish(mission_a, mission_b):  # type: ignore[no-untyped-def]
    Mission.objects.filter(pk=mission_a.pk).update(name_tr=BERLIN_TR)
    Mission.objects.filter(pk=mission_b.pk).update(name_tr=TOKYO_TR)


def _case(application: Application) -> PersonalisationCase:
    return PersonalisationCase.objects.get(reference=application.reference)


def _approved_at_both(mission_a, mission_b, person):  # type: ignore[no-untyped-def]
    """The same person approved at alpha and at beta, both cases at HQ."""
    first, events_a = _approved(mission_a, national_id=person)
    second, events_b = _approved(mission_b, national_id=person)
    _to_hq(mission_a, events_a)
    _to_hq(mission_b, events_b)
    return first, second


# --- what a key is where ------------------------------------------------------------------------


def test_a_person_has_one_index_at_hq_and_another_at_each_mission(mission_a, mission_b):
    # given the same national ID submitted at two missions
    person = national_id()
    with schema_context(mission_a.schema_name):
        at_a = application_submitted(national_id=person)
        event_a = outbox_on_the_wire("passports.application.submitted")[-1]
    with schema_context(mission_b.schema_name):
        at_b = application_submitted(national_id=person)
        event_b = outbox_on_the_wire("passports.application.submitted")[-1]
    # then each mission's own index differs (its key), so no mission's constraint sees the other
    assert at_a.national_id_index != at_b.national_id_index
    # and the events carry the one index HQ's key gives, the same from both, nothing in clear
    assert event_a["payload"]["holder_index"] == event_b["payload"]["holder_index"]
    assert event_a["payload"]["holder_index"] == person_index(person)
    assert person not in str(event_a)


# --- HQ: the invariant ----------------------------------------------------------------------------


def test_hq_prints_one_passport_and_holds_the_other_missions_case(
    mission_a, mission_b, hq_admin, block
):
    # given the same person approved at Berlin and at Tokyo
    first, second = _approved_at_both(mission_a, mission_b, national_id())
    # when HQ prints Berlin's, then Tokyo's
    register_services.personalisation_run(case=_case(first), acting_user=hq_admin)
    with pytest.raises(ApplicationError) as refused:
        register_services.personalisation_run(case=_case(second), acting_user=hq_admin)
    # then the second is refused, naming the mission and the case that holds it
    assert refused.value.code.value == "passports.held_same_person"
    assert str(refused.value.message) == (
        "Not printed: the same person (national ID) has a passport printed for "
        f"Consulate-General in Berlin (reference {first.reference}) that is not handed over "
        "yet. This case is held, not lost: personalise it again once that passport is handed "
        "over."
    )
    # and it is held, not lost: kept with what holds it; one passport, the number given back
    held = _case(second)
    assert (held.status, held.held_mission, held.held_reference) == (
        "held",
        "alpha",
        first.reference,
    )
    assert IssuedDocument.objects.count() == 1
    assert NumberBlock.objects.get().next_value == 101
    # when Berlin hands its passport over, HQ prints Tokyo's
    handed_over(mission_a, first)
    assert _case(first).status == "collected"
    printed = register_services.personalisation_run(case=_case(second), acting_user=hq_admin)
    assert (printed.status, printed.document_number, printed.held_reference) == (
        "printed",
        "U00000101",
        "",
    )


def test_two_people_are_printed_side_by_side(mission_a, mission_b, hq_admin, block):
    first, _ = _approved(mission_a)
    second, _ = _approved(mission_b)
    with schema_context(mission_a.schema_name):
        events_a = outbox_on_the_wire("passports.")
    with schema_context(mission_b.schema_name):
        events_b = outbox_on_the_wire("passports.")
    _to_hq(mission_a, events_a)
    _to_hq(mission_b, events_b)
    for application in (first, second):
        case = register_services.personalisation_run(case=_case(application), acting_user=hq_admin)
        assert case.status == "printed"


@pytest.mark.parametrize(
    ("language", "status", "note", "message"),
    [
        (
            "en",
            "Held: the same person's passport is not handed over yet",
            "The same person's passport for Consulate-General in Berlin (reference {ref}) is "
            "printed and not handed over yet.",
            "Not printed: the same person (national ID) has a passport printed for "
            "Consulate-General in Berlin (reference {ref}) that is not handed over yet. This case "
            "is held, not lost: personalise it again once that passport is handed over.",
        ),
        (
            "tr",
            "Bekletiliyor: aynı kişinin pasaportu henüz teslim edilmedi",
            f"Aynı kişinin {BERLIN_TR} için basılan pasaportu (referans {{ref}}) henüz teslim "
            "edilmedi.",
            f"Basılmadı: aynı kişinin (aynı kimlik numarası) {BERLIN_TR} için basılmış ve henüz "
            "teslim edilmemiş bir pasaportu var (referans {ref}). Bu başvuru silinmedi, "
            "bekletiliyor: o pasaport teslim edilince yeniden kişiselleştirin.",
        ),
    ],
)
def test_hqs_operator_reads_why_a_case_is_held(
    mission_a,
    mission_b,
    hq_admin,
    block,
    client_hq,
    named_in_turkish,
    language,
    status,
    note,
    message,
):
    # given Berlin's passport printed for a person who applied at Tokyo too
    first, second = _approved_at_both(mission_a, mission_b, national_id())
    register_services.personalisation_run(case=_case(first), acting_user=hq_admin)
    # when HQ's admin asks to print Tokyo's
    login_with_second_factor(client_hq, hq_admin)
    response = client_hq.post(
        f"/hq/passports/{_case(second).pk}/personalise/", HTTP_ACCEPT_LANGUAGE=language
    )
    # then the page refuses, in the reader's language, naming the other mission and case
    assert response.status_code == 400
    html = response.content.decode()
    assert texts_of(html, "li", **{"class": "message error"}) == [
        message.format(ref=first.reference)
    ]
    # and the queue shows the case held, with why, and a button to try again
    assert status in texts_of(html, "span", **{"class": "status"})
    assert note.format(ref=first.reference) in texts_of(html, "p", **{"class": "notice"})
    assert f"/hq/passports/{_case(second).pk}/personalise/" in html
    assert IssuedDocument.objects.count() == 1


ALSO_OPEN = {
    "en": "Another open application: {mission} (reference {ref})",
    "tr": "Başka bir açık başvuru: {mission} (referans {ref})",
}
BERLIN = {"en": "Consulate-General in Berlin", "tr": BERLIN_TR}
TOKYO = {"en": "Embassy in Tokyo", "tr": TOKYO_TR}


def _queue_flags(html: str) -> dict[str, list[str]]:
    """HQ's queue as its reader sees it: each case's reference and the flags on its row."""
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.DOTALL)
    return {
        text_of(row, "code"): texts_of(row, "p", class_="also-open")
        for row in rows
        if "<code>" in row
    }


@pytest.mark.parametrize("language", ["en", "tr"])
def test_hqs_queue_flags_one_persons_cases_at_two_missions_before_printing(
    mission_a, mission_b, hq_admin, client_hq, named_in_turkish, language
):
    # given the same person approved at Berlin and at Tokyo, both cases waiting at HQ, and
    # another person's case at Berlin
    first, second = _approved_at_both(mission_a, mission_b, national_id())
    other, events = _approved(mission_a, national_id=national_id())
    _to_hq(mission_a, events)
    # when HQ's admin opens the queue
    login_with_second_factor(client_hq, hq_admin)
    html = client_hq.get("/hq/passports/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then each of the person's cases names the other's mission and reference, in the reader's
    # language; the other person's case has no flag
    also_open = ALSO_OPEN[language]
    assert _queue_flags(html) == {
        first.reference: [also_open.format(mission=TOKYO[language], ref=second.reference)],
        second.reference: [also_open.format(mission=BERLIN[language], ref=first.reference)],
        other.reference: [],
    }
    # and the flag only tells: both cases are still waiting, each with its button
    for application in (first, second):
        assert _case(application).status == "queued"
        assert f"/hq/passports/{_case(application).pk}/personalise/" in html


def test_hqs_queue_flags_what_is_open_now(mission_a, mission_b, hq_admin, client_hq, block):
    # given a person's passport printed for Berlin (not handed over) and their case queued for
    # Tokyo; and another person's case queued for Berlin, whose application at Tokyo is
    # submitted and not yet approved
    first, second = _approved_at_both(mission_a, mission_b, national_id())
    register_services.personalisation_run(case=_case(first), acting_user=hq_admin)
    person = national_id()
    third, events = _approved(mission_a, national_id=person)
    _to_hq(mission_a, events)
    fourth = _submitted_at(mission_b, person)
    login_with_second_factor(client_hq, hq_admin)
    # when HQ's admin opens the queue
    flags = _queue_flags(client_hq.get("/hq/passports/").content.decode())
    # then each waiting case names the person's other open application, printed or not yet
    # approved; the printed case itself is not flagged
    also_open = ALSO_OPEN["en"]
    assert flags == {
        first.reference: [],
        second.reference: [also_open.format(mission=BERLIN["en"], ref=first.reference)],
        third.reference: [also_open.format(mission=TOKYO["en"], ref=fourth.reference)],
    }
    # when Berlin's passport is handed over and Tokyo's application withdrawn, and HQ learns both
    handed_over(mission_a, first)
    with schema_context(mission_b.schema_name):
        services.application_withdraw(application=fourth, acting_user=_owner(fourth))
        events = outbox_on_the_wire("passports.application.withdrawn")
    _to_hq(mission_b, events)
    # then nothing else is open for either person: no flag
    flags = _queue_flags(client_hq.get("/hq/passports/").content.decode())
    assert flags == {first.reference: [], second.reference: [], third.reference: []}


def test_hqs_queue_reads_every_cases_other_applications_in_one_query(
    mission_a, mission_b, hq_admin, client_hq, django_assert_num_queries
):
    # given one person's cases at both missions
    _approved_at_both(mission_a, mission_b, national_id())
    login_with_second_factor(client_hq, hq_admin)

    def page_cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            client_hq.get("/hq/passports/")
        return len(queries)

    client_hq.get("/hq/passports/")  # the session's first read
    few = page_cost()
    # when two more people have cases at both, and one more at one mission
    _approved_at_both(mission_a, mission_b, national_id())
    _approved_at_both(mission_a, mission_b, national_id())
    _, events = _approved(mission_b, national_id=national_id())
    _to_hq(mission_b, events)
    # then the selector reads every case's flags in one query, and the page costs the same
    cases = register_selectors.personalisation_queue()
    assert len(cases) == 7
    with django_assert_num_queries(1):
        also_open = register_selectors.personalisation_queue_also_open(cases=cases)
    assert sorted(len(others) for others in also_open.values()) == [1] * 6
    assert page_cost() == few


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "HQ holds this passport: the same person's passport for Consulate-General in Berlin "
            "(reference {ref}) is printed and not handed over yet. HQ prints this one once it is.",
        ),
        (
            "tr",
            f"Merkez (HQ) bu pasaportu bekletiyor: aynı kişinin {BERLIN_TR} için basılan "
            "pasaportu (referans {ref}) henüz teslim edilmedi. Merkez bu pasaportu, o teslim "
            "edilince basar.",
        ),
    ],
)
def test_the_second_missions_officer_reads_that_hq_holds_the_case(
    mission_a, mission_b, hq_admin, block, client_b, named_in_turkish, language, expected
):
    # given Tokyo's case held at HQ behind Berlin's printed passport
    first, second = _approved_at_both(mission_a, mission_b, national_id())
    register_services.personalisation_run(case=_case(first), acting_user=hq_admin)
    with pytest.raises(ApplicationError):
        register_services.personalisation_run(case=_case(second), acting_user=hq_admin)
    # when Tokyo's officer opens the case
    login_with_second_factor(client_b, make_staff(mission_b, "officer"))
    html = client_b.get(
        f"/staff/passports/{second.reference}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    # then the page says HQ holds it and which mission's case holds it
    assert expected.format(ref=first.reference) in texts_of(html, "p", role="alert")
    # and Berlin's case itself is not Tokyo's to open
    assert client_b.get(f"/staff/passports/{first.reference}/").status_code == 404


# --- the database says no too --------------------------------------------------------------------


def _printed_and_queued(mission_a, mission_b, hq_admin):  # type: ignore[no-untyped-def]
    first, second = _approved_at_both(mission_a, mission_b, national_id())
    printed = register_services.personalisation_run(case=_case(first), acting_user=hq_admin)
    return printed, _case(second)


def _refused(sql: str, params: list[object]) -> str:
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as c:
        c.execute(sql, params)
    return str(refused.value)


def test_raw_sql_cannot_print_a_second_passport_for_one_person(
    mission_a, mission_b, hq_admin, block
):
    # given one printed passport and the same person's other case waiting
    printed, waiting = _printed_and_queued(mission_a, mission_b, hq_admin)
    # when a writer that skips the service marks the second printed too
    error = _refused(
        "UPDATE passports_register_personalisationcase SET status = 'printed',"
        " document_number = 'U99999999', printed_at = now(), expires_on = '2036-01-01',"
        " holder_index = %s WHERE id = %s",
        [printed.holder_index, waiting.pk],
    )
    # then the database refuses it
    assert "passports_register_case_one_printed_per_person" in error
    # and a printed row inserted by hand for that person is refused the same way
    error = _refused(
        "INSERT INTO passports_register_personalisationcase (mission, seq, application_id,"
        " reference, kind, sealed, received_at, status, document_number, mrz, expires_on,"
        " printed_at, holder_index, held_mission, held_reference)"
        " VALUES ('beta', 999, '999', 'PZZZZZZZZZ', 'first', '{}', now(), 'printed',"
        " 'U99999998', '', '2036-01-01', now(), %s, '', '')",
        [printed.holder_index],
    )
    assert "passports_register_case_one_printed_per_person" in error
    # a printed case without its holder, or a hold that names no case, is refused too
    assert "passports_register_case_printed_holder" in _refused(
        "UPDATE passports_register_personalisationcase SET holder_index = '' WHERE id = %s",
        [printed.pk],
    )
    assert "passports_register_case_held_by" in _refused(
        "UPDATE passports_register_personalisationcase SET status = 'held' WHERE id = %s",
        [waiting.pk],
    )
    waiting.refresh_from_db()
    assert waiting.status == "queued"
    # once the first is handed over (its case collected), the second may be printed
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_register_personalisationcase SET status = 'collected' WHERE id = %s",
            [printed.pk],
        )
    assert register_services.personalisation_run(case=waiting, acting_user=hq_admin).status == (
        "printed"
    )


# --- the warning before the biometrics ----------------------------------------------------------


def _submitted_at(mission, person):  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name):
        application = application_submitted(national_id=person)
        events = outbox_on_the_wire("passports.application.")
    _to_hq(mission, events)
    return application


WARNING = {
    "en": "This person has an open application at Consulate-General in Berlin (reference {ref}).",
    "tr": f"Bu kişinin açık bir başvurusu var: {BERLIN_TR}, referans {{ref}}.",
}
NONE_KNOWN = {
    "en": "HQ's register knows no open application of this person at another mission (it learns "
    "of a case once that mission's events reach HQ).",
    "tr": "Merkezin (HQ) kütüğünde bu kişinin başka bir temsilcilikte açık başvurusu görünmüyor "
    "(Merkez bir başvuruyu, o temsilciliğin kayıtları kendisine ulaşınca öğrenir).",
}
NOT_CHECKED = {
    "en": "Other missions' applications could not be checked: this mission cannot read HQ's "
    "register from here. Ask HQ whether this person has an open application elsewhere.",
    "tr": "Diğer temsilciliklerdeki başvurular denetlenemedi: bu temsilcilik Merkezin (HQ) "
    "kütüğünü buradan okuyamıyor. Bu kişinin başka bir yerde açık başvurusu olup olmadığını "
    "Merkeze (HQ) sorun.",
}


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_second_missions_officer_is_warned_before_the_biometrics(
    mission_a, mission_b, client_b, named_in_turkish, language
):
    # given a person's application submitted at Berlin, which HQ's register knows
    person = national_id()
    first = _submitted_at(mission_a, person)
    # when the same person applies at Tokyo and Tokyo's officer opens the case
    second = _submitted_at(mission_b, person)
    login_with_second_factor(client_b, make_staff(mission_b, "officer"))
    page = f"/staff/passports/{second.reference}/"
    html = client_b.get(page, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the page names Berlin and the reference, and nothing else of Berlin's case
    assert WARNING[language].format(ref=first.reference) in texts_of(html, "p", role="alert")
    assert NONE_KNOWN[language] not in html
    # when Berlin's application is withdrawn and HQ learns it
    with schema_context(mission_a.schema_name):
        services.application_withdraw(application=first, acting_user=_owner(first))
        events = outbox_on_the_wire("passports.application.withdrawn")
    _to_hq(mission_a, events)
    # then the warning is gone, and the page says what HQ's register knows
    html = client_b.get(page, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert texts_of(html, "p", role="alert") == []
    assert text_of(html, "p", **{"class": "help"}) == NONE_KNOWN[language]


def _owner(application: Application) -> User:
    return User.objects.get(pk=application.user_id)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_mission_that_cannot_read_hqs_register_says_the_check_was_not_made(
    mission_a, mission_b, client_b, language
):
    # given the same person's application open at Berlin, known to HQ
    person = national_id()
    _submitted_at(mission_a, person)
    second = _submitted_at(mission_b, person)
    login_with_second_factor(client_b, make_staff(mission_b, "officer"))
    # when Tokyo runs on its own node (HQ is reached over HTTPS, its register is not here)
    with override_settings(SYNC_HQ_URL="https://hq.invalid"):
        html = client_b.get(
            f"/staff/passports/{second.reference}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
    # then the page says the check could not be made, never that there is no other case
    assert NOT_CHECKED[language] in texts_of(html, "p", role="status")
    assert NONE_KNOWN[language] not in html


def test_the_register_of_open_applications_is_the_same_in_any_order(mission_a):
    # given a submission and its withdrawal
    person = national_id()
    with schema_context(mission_a.schema_name):
        application = application_submitted(national_id=person)
        services.application_withdraw(application=application, acting_user=_owner(application))
        events = outbox_on_the_wire("passports.application.")
    # when HQ gets the withdrawal before the submission, and each again
    closing = [e for e in events if e["topic"] == "passports.application.withdrawn"]
    opening = [e for e in events if e["topic"] == "passports.application.submitted"]
    _to_hq(mission_a, closing)
    _to_hq(mission_a, opening + closing)
    # then one row, closed, with the person's index
    row = OpenApplication.objects.get(mission="alpha")
    assert (row.reference, row.holder_index) == (application.reference, person_index(person))
    assert row.opened_seq is not None
    assert row.closed_seq is not None
    # and a rebuild from HQ's central log gives the same row
    open_applications_rebuild(mission="alpha")
    again = OpenApplication.objects.get(mission="alpha")
    assert (again.holder_index, again.opened_seq, again.closed_seq) == (
        row.holder_index,
        row.opened_seq,
        row.closed_seq,
    )


def test_a_submission_whose_person_is_not_an_index_is_skipped_with_its_reason(mission_a):
    with schema_context(mission_a.schema_name):
        application_submitted()
        (event,) = outbox_on_the_wire("passports.application.submitted")
    event["payload"]["holder_index"] = "12345678901"  # a national ID in clear
    _to_hq(mission_a, [event])
    assert not OpenApplication.objects.exists()
    skipped = SkippedEvent.objects.get(projector="passports.open_applications")
    assert skipped.reason == "holder_index is not 64 lowercase hexadecimal digits"
