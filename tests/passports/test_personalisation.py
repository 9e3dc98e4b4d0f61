"""From the consul's approval to the holder's hands: the case reaches HQ through sync with the
holder's data sealed for HQ, HQ personalises it (number from a block, MRZ, central register),
the mission learns it was printed, records its arrival and hands it over; HQ's register then
shows the old passport cancelled."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from passports import services
from passports.models import ApplicationStatus, ApplicationStep, EtdNumberBlock
from passports.mrz import MrzError, MrzErrorCode, mrz_parse
from passports.register import selectors as register_selectors
from passports.register import services as register_services
from passports.register.models import IssuedDocument, NumberBlock, PersonalisationCase
from sync.hq.models import SkippedEvent
from sync.registry import events_project
from tests.conftest import error_summary, make_staff, text_of, texts_of
from tests.factories import UserFactory
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.factories import application_recommended, application_submitted
from tests.passports.test_views import _tag
from tests.registers import central_log, outbox_on_the_wire

pytestmark = pytest.mark.django_db


def _approved(mission, **kwargs):  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name):
        application = application_recommended(mission, **kwargs)
        services.application_decide(
            application=application,
            approve=True,
            reason="",
            acting_user=make_staff(mission, "consul"),
        )
        application.refresh_from_db()
        events = outbox_on_the_wire("passports.")
    return application, events


def _to_hq(mission, events):  # type: ignore[no-untyped-def]
    connection.set_schema_to_public()
    central_log(mission.code, events)
    events_project(mission=mission.code, events=events)


def handed_over(mission, application, *, old_document_cancelled=False):  # type: ignore[no-untyped-def]
    """A printed passport read back by its mission, arrived and handed over; the hand-over's
    event applied at HQ."""
    with schema_context(mission.schema_name):
        services.dispatches_receive()
        application.refresh_from_db()
        officer = make_staff(mission, "officer")
        services.application_arrival_record(application=application, acting_user=officer)
        services.application_collect(
            application=application,
            identity_confirmed=True,
            old_document_cancelled=old_document_cancelled,
            signed_for=True,
            acting_user=officer,
        )
        events = outbox_on_the_wire("passports.application.collected")
    _to_hq(mission, events)


def test_the_holders_data_travels_sealed_for_hq(mission_a):
    application, events = _approved(mission_a)
    approved = next(e for e in events if e["topic"] == "passports.application.approved")
    text = str(approved["payload"])
    assert "sealed" in approved["payload"]
    for clear in ("Yılmaz", "Ayşe", "1988-04-12", application.national_id):
        assert clear not in text


def test_a_case_goes_from_approval_to_collection(mission_a, hq_admin, block):
    # given an approved renewal at the mission, synced to HQ
    application, events = _approved(mission_a)
    _to_hq(mission_a, events)
    case = PersonalisationCase.objects.get(mission="alpha", reference=application.reference)
    # when HQ personalises it
    case = register_services.personalisation_run(case=case, acting_user=hq_admin)
    # then it has the block's first number and an MRZ that checks
    assert case.document_number == "U00000100"
    reading = mrz_parse(case.mrz.splitlines())
    assert reading.valid, reading.problems
    assert reading.fields().surname == "YILMAZ"
    assert IssuedDocument.objects.get(number="U00000100").status == "valid"
    # when the mission reads HQ's register
    with schema_context(mission_a.schema_name):
        services.dispatches_receive()
        application.refresh_from_db()
        assert application.status == ApplicationStatus.DISPATCHED
        assert application.document_number == "U00000100"
        steps = set(
            ApplicationStep.objects.filter(application=application).values_list("step", flat=True)
        )
        assert {"sent", "printed"} <= steps
        officer = make_staff(mission_a, "officer")
        services.application_arrival_record(application=application, acting_user=officer)
        with pytest.raises(ApplicationError) as unsigned:
            services.application_collect(
                application=application,
                identity_confirmed=True,
                old_document_cancelled=True,
                signed_for=False,
                acting_user=officer,
            )
        assert unsigned.value.field == "signed_for"
        services.application_collect(
            application=application,
            identity_confirmed=True,
            old_document_cancelled=True,
            signed_for=True,
            acting_user=officer,
        )
        application.refresh_from_db()
        assert application.status == ApplicationStatus.COLLECTED
        events = outbox_on_the_wire("passports.application.collected")
    # then HQ's register records the hand-over
    _to_hq(mission_a, events)
    assert IssuedDocument.objects.get(number="U00000100").collected_on is not None


def test_a_passport_hq_issued_is_cancelled_when_its_replacement_is_collected(
    mission_a, hq_admin, block
):
    # given a passport HQ issued, and later a renewal of it collected
    first, events = _approved(mission_a)
    _to_hq(mission_a, events)
    case = PersonalisationCase.objects.get(reference=first.reference)
    register_services.personalisation_run(case=case, acting_user=hq_admin)
    second, events = _approved(mission_a, previous_document="U00000100")
    _to_hq(mission_a, [e for e in events if e["payload"].get("reference") == second.reference])
    register_services.personalisation_run(
        case=PersonalisationCase.objects.get(reference=second.reference), acting_user=hq_admin
    )
    handed_over(mission_a, second, old_document_cancelled=True)
    # then the old one is cancelled in the register, the new one valid
    assert register_selectors.issued_document_status(number="U00000100").status == "cancelled"
    assert register_selectors.issued_document_status(number="u00000101").status == "valid"


def test_numbers_follow_without_a_gap_even_when_a_personalisation_fails(
    mission_a, hq_admin, block, monkeypatch
):
    # given three approved cases
    cases = [_approved(mission_a) for _ in range(3)]
    _to_hq(mission_a, [e for _, events in cases for e in events])
    first, second, third = (
        PersonalisationCase.objects.get(reference=application.reference)
        for application, _events in cases
    )
    register_services.personalisation_run(case=first, acting_user=hq_admin)
    # when the second fails after its number was taken (the MRZ cannot be composed)
    real = register_services.td3_compose

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise MrzError(MrzErrorCode.INVALID_CHARACTERS, "refused", field="surname")

    monkeypatch.setattr(register_services, "td3_compose", refuse)
    with pytest.raises(ApplicationError):
        register_services.personalisation_run(case=second, acting_user=hq_admin)
    monkeypatch.setattr(register_services, "td3_compose", real)
    register_services.personalisation_run(case=third, acting_user=hq_admin)
    register_services.personalisation_run(case=second, acting_user=hq_admin)
    # then the numbers follow each other: the failure gave its number back
    numbers = list(IssuedDocument.objects.order_by("number").values_list("number", flat=True))
    assert numbers == ["U00000100", "U00000101", "U00000102"]
    third.refresh_from_db()
    assert third.document_number == "U00000101"


def test_a_changed_sealed_value_or_one_moved_to_another_case_is_refused(mission_a, hq_admin, block):
    application, events = _approved(mission_a)
    _to_hq(mission_a, events)
    case = PersonalisationCase.objects.get(reference=application.reference)
    # a byte of the ciphertext changed
    changed = copy.deepcopy(case.sealed)
    flipped = "0" if changed["ciphertext"][10] != "0" else "1"
    changed["ciphertext"] = changed["ciphertext"][:10] + flipped + changed["ciphertext"][11:]
    PersonalisationCase.objects.filter(pk=case.pk).update(sealed=changed)
    case.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        register_services.personalisation_run(case=case, acting_user=hq_admin)
    assert refused.value.code.value == "passports.sealed_unreadable"
    # the original value, claimed by another application's case, does not open either
    other, other_events = _approved(mission_a)
    _to_hq(mission_a, [e for e in other_events if e["payload"].get("reference") == other.reference])
    original = next(e for e in events if e["topic"] == "passports.application.approved")
    moved = PersonalisationCase.objects.get(reference=other.reference)
    PersonalisationCase.objects.filter(pk=moved.pk).update(sealed=original["payload"]["sealed"])
    moved.refresh_from_db()
    with pytest.raises(ApplicationError):
        register_services.personalisation_run(case=moved, acting_user=hq_admin)
    assert not IssuedDocument.objects.exists()


def test_an_approval_without_a_sealed_value_is_skipped_with_its_reason(mission_a):
    _application, events = _approved(mission_a)
    approved = next(e for e in events if e["topic"] == "passports.application.approved")
    del approved["payload"]["sealed"]
    _to_hq(mission_a, [approved])
    assert not PersonalisationCase.objects.exists()
    assert SkippedEvent.objects.filter(projector="passports.personalisation").exists()


def test_only_an_hq_admin_personalises(mission_a, block):
    application, events = _approved(mission_a)
    _to_hq(mission_a, events)
    case = PersonalisationCase.objects.get(reference=application.reference)
    for actor in (UserFactory(hq_role="analyst"), make_staff(mission_a, "consul")):
        with pytest.raises(ApplicationError):
            register_services.personalisation_run(case=case, acting_user=actor)
    assert not IssuedDocument.objects.exists()
    case.refresh_from_db()
    assert case.status == "queued"


@pytest.mark.parametrize(
    ("language", "first", "refused"),
    [
        (
            "en",
            "First number",
            "These numbers overlap a block already allocated to Consulate-General in Berlin.",
        ),
        (
            "tr",
            "İlk numara",
            "Bu numaralar, Berlin Başkonsolosluğu için ayrılmış bir blokla çakışıyor.",
        ),
    ],
)
def test_hqs_passport_numbers_and_the_missions_numbers_never_meet(
    mission_a, hq_admin, client_hq, language, first, refused
):
    # given HQ's passport numbers U00000001 to U00001000, and alpha named in Turkish too
    connection.set_schema_to_public()
    Mission.objects.filter(pk=mission_a.pk).update(name_tr="Berlin Başkonsolosluğu")
    register_services.number_block_add(
        document_type="P", prefix="U", digits=8, first=1, last=1000, acting_user=hq_admin
    )
    # then none of them goes to a mission as an ETD's number (a number typed into the verifier
    # would answer for the ETD, whatever the passport's state)
    with pytest.raises(ApplicationError) as overlap:
        services.etd_block_allocate(
            mission_code=mission_a.code, first=1000, last=1100, prefix="U", acting_user=hq_admin
        )
    assert overlap.value.code.value == "passports.etd_block_overlap"
    assert str(overlap.value.message) == "These numbers overlap a block of HQ's passport numbers."
    with schema_context(mission_a.schema_name):
        assert not EtdNumberBlock.objects.exists()
    # and the numbers after them do
    services.etd_block_allocate(
        mission_code=mission_a.code, first=1001, last=2000, prefix="U", acting_user=hq_admin
    )
    # when HQ adds passport numbers over alpha's ETD numbers on its page
    login_with_second_factor(client_hq, hq_admin)
    response = client_hq.post(
        "/hq/passports/blocks/",
        {"document_type": "P", "prefix": "u", "digits": "8", "first": "1500", "last": "2500"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then the page refuses at the top of the form, naming the mission, with no banner
    # repeating it, and adds nothing
    assert response.status_code == 400
    assert error_summary(response.content.decode()) == [("#id_first", f"{first}: {refused}")]
    assert texts_of(response.content, "li", class_="message error") == []
    assert NumberBlock.objects.filter(first=1500).count() == 0
    # while numbers of another length never meet the missions' nine characters
    added = register_services.number_block_add(
        document_type="P", prefix="U", digits=7, first=1500, last=2500, acting_user=hq_admin
    )
    assert (added.first_number, added.last_number) == ("U0001500", "U0002500")
    # and a passport block over passport numbers is refused with its own code
    with pytest.raises(ApplicationError) as twice:
        register_services.number_block_add(
            document_type="P", prefix="U", digits=7, first=2500, last=2600, acting_user=hq_admin
        )
    assert twice.value.code.value == "passports.block_overlap"
    assert twice.value.field == "first"


@pytest.mark.parametrize(
    ("language", "reasons"),
    [
        ("en", {
            "prefix": "The prefix is up to three letters, A to Z, or none.",
            "first": "The first number is 0 or more.",
            "last": "The last number is the first one or a later one.",
        }),
        ("tr", {
            "prefix": "Önek en fazla üç Latin harfidir (A–Z; Ç, Ğ, İ, Ö, Ş, Ü olmadan) ya da boş"
            " bırakılır.",
            "first": "İlk numara 0 veya daha büyüktür.",
            "last": "Son numara, ilk numara ya da ondan sonraki bir numaradır.",
        }),
    ],
)  # fmt: skip
def test_a_passport_block_that_cannot_be_names_every_field_at_once(
    hq_admin, client_hq, language, reasons
):
    # given HQ's admin on the passport page
    connection.set_schema_to_public()
    login_with_second_factor(client_hq, hq_admin)
    # when a block is sent with a letter outside A to Z, a first number below 0 and a last one
    # before it
    response = client_hq.post(
        "/hq/passports/blocks/",
        {"document_type": "P", "prefix": "ÜAB", "digits": "6", "first": "-5", "last": "-10"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    # then each reason is beside its field, and nothing is added
    assert response.status_code == 400
    for field, reason in reasons.items():
        assert text_of(response.content, "ul", id=f"id_{field}_errors") == reason
        # a screen reader says why with the input
        box = _tag(response.content.decode(), "input", field)
        assert box["aria-invalid"] == "true"
        assert box["aria-describedby"].split() == [f"id_{field}_errors"]
    assert "aria-describedby" not in _tag(response.content.decode(), "input", "digits")
    assert not NumberBlock.objects.exists()


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"prefix": "UV", "digits": 8}, "digits",
         "A document number has at most 9 characters: the prefix and the digits together."),
        ({"first": 500, "last": 499}, "last", "The last number is the first one or a later one."),
        ({"first": -1}, "first", "The first number is 0 or more."),
        ({"digits": 1, "last": 10}, "last", "The last number has at most 1 digit."),
    ],
)  # fmt: skip
def test_a_passport_blocks_numbers_fit_nine_characters_in_order(hq_admin, values, field, reason):
    connection.set_schema_to_public()
    block = {"document_type": "P", "prefix": "U", "digits": 8, "first": 1, "last": 1000}
    with pytest.raises(ApplicationError) as refused:
        register_services.number_block_add(**{**block, **values}, acting_user=hq_admin)
    assert refused.value.code.value == "passports.invalid"
    assert refused.value.errors == {field: [reason]}
    assert not NumberBlock.objects.exists()


def test_an_etd_block_names_its_prefix_and_range_at_once(mission_a, hq_admin):
    # a missing prefix and a last number before the first: both named, nothing allocated
    connection.set_schema_to_public()
    with pytest.raises(ApplicationError) as refused:
        services.etd_block_allocate(
            mission_code=mission_a.code, first=20, last=10, prefix="", acting_user=hq_admin
        )
    assert refused.value.code.value == "passports.invalid"
    assert refused.value.errors == {
        "prefix": ["The prefix is one to three letters, A to Z."],
        "last": ["The last number is the first one or a later one."],
    }
    # a first number of 0, and a prefix of Turkish letters: the digits wait for a prefix that
    # can be (it sets how many there are), the first is named at once
    with pytest.raises(ApplicationError) as refused:
        services.etd_block_allocate(
            mission_code=mission_a.code, first=0, last=10**9, prefix="ÇŞ", acting_user=hq_admin
        )
    assert refused.value.errors == {
        "prefix": ["The prefix is one to three letters, A to Z."],
        "first": ["The first number is 1 or more."],
    }
    with schema_context(mission_a.schema_name):
        assert not EtdNumberBlock.objects.exists()


def test_a_block_that_runs_out_says_so(mission_a, hq_admin):
    connection.set_schema_to_public()
    register_services.number_block_add(
        document_type="P", prefix="Z", digits=8, first=1, last=1, acting_user=hq_admin
    )
    with pytest.raises(ApplicationError):
        register_services.number_block_add(
            document_type="P", prefix="Z", digits=8, first=1, last=3, acting_user=hq_admin
        )
    cases = [_approved(mission_a) for _ in range(2)]
    _to_hq(mission_a, [e for _, events in cases for e in events])
    first, second = PersonalisationCase.objects.order_by("id")[:2]
    register_services.personalisation_run(case=first, acting_user=hq_admin)
    with pytest.raises(ApplicationError) as refused:
        register_services.personalisation_run(case=second, acting_user=hq_admin)
    assert refused.value.code.value == "passports.no_numbers"
    second.refresh_from_db()
    assert second.status == "queued"


def test_a_second_application_waits_until_the_first_passport_is_handed_over(mission_a):
    # given an approved case for a person
    application, _events = _approved(mission_a, national_id="55566677760")
    # when the same person applies again while it is being printed
    with schema_context(mission_a.schema_name), pytest.raises(ApplicationError) as refused:
        application_submitted(national_id="55566677760")
    # then it is refused: two passports would be printed
    assert refused.value.code.value == "passports.already_open"
    assert application.status == "approved"


def test_the_numbers_and_the_mrz_are_not_in_clear(mission_a, hq_admin, block):
    application, events = _approved(mission_a)
    _to_hq(mission_a, events)
    case = PersonalisationCase.objects.get(reference=application.reference)
    register_services.personalisation_run(case=case, acting_user=hq_admin)
    with connection.cursor() as cursor:
        cursor.execute("SELECT mrz FROM passports_register_personalisationcase")
        (raw,) = cursor.fetchone()
    assert b"YILMAZ" not in bytes(raw)
    with schema_context(mission_a.schema_name):
        services.dispatches_receive()
        with connection.cursor() as cursor:
            cursor.execute("SELECT document_number FROM passports_application")
            assert all(b"U00000100" not in bytes(value) for (value,) in cursor.fetchall())
        dispatched = outbox_on_the_wire("passports.application.dispatched")
    assert "U00000100" not in str(dispatched)


def test_a_mission_cannot_mark_another_missions_passport_collected(
    mission_a, mission_b, hq_admin, block
):
    application, events = _approved(mission_a)
    _to_hq(mission_a, events)
    register_services.personalisation_run(
        case=PersonalisationCase.objects.get(reference=application.reference),
        acting_user=hq_admin,
    )
    forged = {
        "seq": 1,
        "topic": "passports.application.collected",
        "aggregate_type": "application",
        "aggregate_id": "1",
        "version": 1,
        "payload": {
            "reference": "PXXXXXXXXX",
            "document_index": IssuedDocument.objects.get().document_index,
            "collected_on": "2026-12-04",
            "cancelled_index": None,
        },
        "occurred_at": "2026-12-04T10:00:00+00:00",
        "actor_id": None,
    }
    _to_hq(mission_b, [forged])
    assert IssuedDocument.objects.get().collected_on is None


# 17:46 UTC on Sunday 6 December 2026: 20:46 at HQ (Europe/Istanbul, the tests' HQ row)
RECEIVED = dt.datetime(2026, 12, 6, 17, 46, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("language", "label", "written"),
    [
        ("en", "Received", "Sun 6 Dec 2026, 20:46 (Europe/Istanbul)"),
        ("tr", "Alındığı zaman", "6 Ara 2026 Paz, 20:46 (Europe/Istanbul)"),
    ],
)
def test_hqs_queue_writes_when_each_case_arrived_in_hqs_zone(
    mission_a, hq_admin, client_hq, language, label, written
):
    # given an approved passport whose case reached HQ at a known moment
    application, events = _approved(mission_a)
    _to_hq(mission_a, events)
    PersonalisationCase.objects.filter(reference=application.reference).update(received_at=RECEIVED)
    # when HQ's admin opens the queue
    login_with_second_factor(client_hq, hq_admin)
    html = client_hq.get("/hq/passports/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # then the arrival is written in HQ's zone as the dashboard and the sync page write their
    # times (24 hours, reference's short form), the zone named, never UTC
    assert texts_of(html, "td", **{"data-label": label}) == [written]
