"""The emergency travel document's services: the request (online and at the counter), the
consul's issue (four eyes, paid first, numbered from the mission's block, sealed) and
revocation; each check is attacked, and a refusal changes nothing.

Until `passports.register.seals.document_signer_active` lands (the signing keys, built in
parallel), the tests certify a signer of their own and put it in its place (`etd_signer`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from consulate.kernel.errors import ApplicationError
from consulate.kernel.seal import (
    SealStatus,
    SealTrust,
    seal_decode,
    seal_revocation_list,
    seal_root_create,
    seal_signer_certify,
    seal_verify,
)
from fees.models import Assessment
from missions.models import Mission
from passports import services
from passports.models import DocumentReport, EmergencyTravelDocument, EtdNumberBlock, EtdStatus
from passports.mrz import check_digit
from sync.models import OutboxEvent
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.fees.conftest import pay_cash
from tests.fees.factories import seed_fee_reference

pytestmark = pytest.mark.django_db


# --- helpers shared by the ETD tests ----------------------------------------------------------


class Signer:
    """A test root and a mission signer certified by it, standing in for HQ's keys."""

    def __init__(self) -> None:
        self.root_key, self.root = seal_root_create(country="TUR", name="Test root", valid_years=5)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.certificate = seal_signer_certify(
            root_key=self.root_key,
            root_certificate=self.root,
            public_key=self.key.public_key(),
            signer_identifier="TRB1",
            certificate_reference="1B1",
            not_before=now - dt.timedelta(days=1),
            not_after=now + dt.timedelta(days=365),
        )

    def trust(self, *, revoked: bool = False) -> SealTrust:
        crl = seal_revocation_list(
            root_key=self.root_key,
            root_certificate=self.root,
            revoked=[(self.certificate.serial_number, dt.datetime.now(dt.UTC))] if revoked else [],
        )
        return SealTrust(root=self.root, signers=(self.certificate,), revocations=crl)


def signer_install(monkeypatch: pytest.MonkeyPatch) -> Signer:
    """A test signer in the place of `document_signer_active` (HQ's keys, not merged yet)."""
    signer = Signer()
    monkeypatch.setattr(
        services.etd, "document_signer_active", lambda: (signer.key, signer.certificate)
    )
    return signer


@pytest.fixture
def etd_signer(monkeypatch: pytest.MonkeyPatch) -> Signer:
    return signer_install(monkeypatch)


@pytest.fixture
def eager_tasks() -> Any:
    """Run queued tasks in-process (the worker's job), so their e-mails can be checked."""
    from consulate.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def today() -> dt.date:
    from missions.selectors import current_mission

    return timezone.localdate(timezone.now(), current_mission().zone)


def request_values(**changes: Any) -> dict[str, Any]:
    day = today()
    return {
        "surname": "Yılmaz",
        "given_names": "Ayşe Gül",
        "birth_date": "1988-04-12",
        "sex": "F",
        "nationality": "TUR",
        "lost_document": f"U{uuid.uuid4().hex[:8].upper()}",
        "report_kind": "stolen",
        "circumstances": "Bag taken at the station",
        "destination_country": "TUR",
        "destination_city": "İstanbul",
        "journey_date": (day + dt.timedelta(days=1)).isoformat(),
        "valid_until": (day + dt.timedelta(days=3)).isoformat(),
        **changes,
    }


def block_allocate(mission: Mission, first: int = 1, last: int = 100, prefix: str = "E") -> None:
    from consulate.kernel.actors import SYSTEM

    services.etd_block_allocate(
        mission_code=mission.code, first=first, last=last, prefix=prefix, acting_user=SYSTEM
    )


def etd_requested(
    mission: Mission, *, officer: Any = None, **changes: Any
) -> EmergencyTravelDocument:
    seed_fee_reference()
    return services.etd_request_record(
        values=request_values(**changes),
        email="holder@example.org",
        language="en",
        acting_user=officer or make_staff(mission, "officer"),
    )


def etd_paid(mission: Mission, **kwargs: Any) -> EmergencyTravelDocument:
    etd = etd_requested(mission, **kwargs)
    pay_cash(Assessment.objects.get(pk=etd.assessment_id), make_staff(mission, "cashier"))
    return etd


def etd_issued(mission: Mission, **kwargs: Any) -> EmergencyTravelDocument:
    etd = etd_paid(mission, **kwargs)
    return services.etd_issue(etd=etd, acting_user=make_staff(mission, "consul"))


# --- the request --------------------------------------------------------------------------


def test_a_counter_request_reports_the_passport_and_assesses_the_fee(in_mission_a, mission_a):
    # given an officer at the counter
    # when they record a request
    etd = etd_requested(mission_a)
    # then the lost passport is reported (linked), the fee assessed, nothing numbered yet
    report = DocumentReport.objects.get(pk=etd.report_id)
    assert report.kind == "stolen"
    assert report.document_index == etd.lost_document_index != ""
    assert Assessment.objects.get(pk=etd.assessment_id).subject_ref == etd.reference
    assert etd.status == EtdStatus.REQUESTED
    assert etd.number is None
    assert OutboxEvent.objects.filter(topic="passports.document.reported").count() == 1
    # and the holder's data is not stored in clear
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT surname::text, birth_date::text, nationality::text, lost_document::text "
            "FROM passports_emergencytraveldocument WHERE id = %s",
            [etd.pk],
        )
        row = " ".join(cursor.fetchone())
    assert "Yılmaz" not in row
    assert "1988" not in row
    assert etd.lost_document not in row


def test_a_passport_reported_already_keeps_its_first_report(in_mission_a, mission_a):
    officer = make_staff(mission_a, "officer")
    report = services.document_report_take(
        kind="lost", document_number="U7654321", circumstances="", acting_user=officer
    )
    etd = etd_requested(mission_a, lost_document="U7654321", report_kind="stolen")
    assert etd.report_id == report.pk
    assert DocumentReport.objects.count() == 1


def test_a_citizen_applies_online(in_mission_a, mission_a):
    seed_fee_reference()
    citizen = UserFactory()
    etd = services.etd_apply(values=request_values(), acting_user=citizen, language="tr")
    assert etd.user_id == citizen.pk
    assert etd.email == citizen.email
    assert etd.language == "tr"
    assert etd.requested_by_id == citizen.pk


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"surname": "Yıl\x00maz"}, "surname"),
        ({"destination_city": "Ank\x00ara"}, "destination_city"),
        ({"circumstances": "a\x00b"}, "circumstances"),
        ({"surname": ""}, "surname"),
        ({"birth_date": "0001-01-01"}, "birth_date"),
        ({"birth_date": "9999-12-31"}, "birth_date"),
        ({"journey_date": "9999-12-31", "valid_until": "9999-12-31"}, "journey_date"),
        ({"journey_date": "0001-01-01", "valid_until": "0001-01-02"}, "journey_date"),
        ({"journey_date": "2024-02-30"}, "journey_date"),
        ({"valid_until": "9999-12-31"}, "valid_until"),
        ({"nationality": "ABC"}, "nationality"),
        ({"destination_country": ""}, "destination_country"),
        ({"lost_document": "12"}, "lost_document"),
        ({"report_kind": "misplaced"}, "report_kind"),
        ({"sex": "Q"}, "sex"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(in_mission_a, mission_a, changes, field):
    seed_fee_reference()
    officer = make_staff(mission_a, "officer")
    with pytest.raises(ApplicationError) as refused:
        services.etd_request_record(
            values=request_values(**changes), email="", language="en", acting_user=officer
        )
    assert refused.value.field == field
    assert refused.value.http_status == 400
    assert not EmergencyTravelDocument.objects.exists()
    assert not DocumentReport.objects.exists()
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(("journey", "until"), [(0, 16), (1, 17), (16, 16), (14, 16), (3, 2)])
def test_more_than_15_days_or_a_journey_out_of_range_is_refused(
    in_mission_a, mission_a, journey, until
):
    day = today()
    values = request_values(
        journey_date=(day + dt.timedelta(days=journey)).isoformat(),
        valid_until=(day + dt.timedelta(days=until)).isoformat(),
    )
    with pytest.raises(ApplicationError):
        services.etd_request_record(
            values=values, email="", language="en", acting_user=make_staff(mission_a, "officer")
        )
    assert not EmergencyTravelDocument.objects.exists()


def test_fifteen_days_exactly_is_accepted_and_the_mission_may_set_fewer(in_mission_a, mission_a):
    day = today()
    etd = etd_requested(
        mission_a, journey_date=day.isoformat(), valid_until=(day + dt.timedelta(15)).isoformat()
    )
    assert etd.valid_until == day + dt.timedelta(15)
    # when a consul sets the mission's period to 5 days, then 6 is refused
    services.etd_settings_change(max_days=5, acting_user=make_staff(mission_a, "consul"))
    with pytest.raises(ApplicationError) as refused:
        etd_requested(mission_a, valid_until=(day + dt.timedelta(6)).isoformat())
    assert refused.value.field == "valid_until"
    with pytest.raises(ApplicationError):
        services.etd_settings_change(max_days=16, acting_user=make_staff(mission_a, "consul"))


def test_the_database_refuses_more_than_15_days(in_mission_a, mission_a):
    etd = etd_requested(mission_a)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_emergencytraveldocument SET valid_until = journey_date + 16 "
            "WHERE id = %s",
            [etd.pk],
        )


def test_a_cashier_cannot_record_a_request(in_mission_a, mission_a):
    seed_fee_reference()
    with pytest.raises(ApplicationError) as refused:
        services.etd_request_record(
            values=request_values(), email="", language="en",
            acting_user=make_staff(mission_a, "cashier"),
        )  # fmt: skip
    assert refused.value.http_status == 403
    assert not EmergencyTravelDocument.objects.exists()


# --- the issue ----------------------------------------------------------------------------


def test_a_consul_issues_a_numbered_sealed_document(
    in_mission_a, mission_a, etd_signer, eager_tasks, django_capture_on_commit_callbacks
):
    # given a paid request and a block of numbers
    block_allocate(mission_a, first=41, last=50, prefix="TE")
    etd = etd_paid(mission_a)
    consul = make_staff(mission_a, "consul")
    mail.outbox.clear()
    # when a consul issues it
    with django_capture_on_commit_callbacks(execute=True):
        etd = services.etd_issue(etd=etd, acting_user=consul)
    # then it has the block's first number, the MRZ is a valid TD2, and the seal verifies
    assert etd.status == EtdStatus.ISSUED
    assert etd.number == "TE0000041"
    assert etd.issued_on == today()
    seal = seal_decode(services.etd_seal(etd=etd))
    verdict = seal_verify(seal=seal, trust=etd_signer.trust(), at=dt.datetime.now(dt.UTC))
    assert verdict.status is SealStatus.VALID, verdict.reason
    line1, line2 = verdict.content.lines
    assert line1.startswith("PETURYILMAZ<<AYSE<GUEL")
    assert line2[:9] == "TE0000041"
    assert line2[9] == check_digit("TE0000041")
    assert line2[21:27] == etd.valid_until.strftime("%y%m%d")
    assert line2[35] == check_digit(line2[0:10] + line2[13:20] + line2[21:35])
    # and the event HQ projects carries the facts, not the person
    event = OutboxEvent.objects.get(topic="passports.etd.issued")
    assert event.payload == {
        "number": "TE0000041",
        "valid_until": etd.valid_until.isoformat(),
        "issued_on": today().isoformat(),
        "signer_serial": "1B1",
    }
    assert EtdNumberBlock.objects.get().next_number == 42
    assert etd.history.count() == 2
    # and the holder is told, in the mission's time zone
    (message,) = mail.outbox
    assert "TE0000041" in message.body
    assert "(Europe/Berlin)" in message.body


def test_the_person_who_recorded_the_request_cannot_issue_it(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    consul = make_staff(mission_a, "consul")
    etd = etd_paid(mission_a, officer=consul)
    with pytest.raises(ApplicationError) as refused:
        services.etd_issue(etd=etd, acting_user=consul)
    assert refused.value.code.value == "passports.four_eyes"
    etd.refresh_from_db()
    assert etd.status == EtdStatus.REQUESTED
    assert etd.number is None
    assert EtdNumberBlock.objects.get().next_number == 1
    assert not OutboxEvent.objects.filter(topic="passports.etd.issued").exists()


def test_the_database_keeps_four_eyes_too(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    etd = etd_issued(mission_a)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_emergencytraveldocument SET issued_by_id = requested_by_id "
            "WHERE id = %s",
            [etd.pk],
        )
    # and an issued document without its seal or number cannot exist
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE passports_emergencytraveldocument SET signer_serial = '' WHERE id = %s",
            [etd.pk],
        )


def test_a_citizens_own_online_request_is_not_theirs_to_issue(in_mission_a, mission_a, etd_signer):
    # a consul who applies online for themselves is the requester: another consul issues
    block_allocate(mission_a)
    seed_fee_reference()
    consul = make_staff(mission_a, "consul")
    etd = services.etd_apply(values=request_values(), acting_user=consul, language="en")
    pay_cash(Assessment.objects.get(pk=etd.assessment_id), make_staff(mission_a, "cashier"))
    with pytest.raises(ApplicationError):
        services.etd_issue(etd=etd, acting_user=consul)
    assert services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "consul")).number


def test_an_unpaid_request_is_not_issued(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    etd = etd_requested(mission_a)
    with pytest.raises(ApplicationError) as refused:
        services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "consul"))
    assert refused.value.code.value == "passports.not_paid"
    etd.refresh_from_db()
    assert etd.status == EtdStatus.REQUESTED
    assert EtdNumberBlock.objects.get().next_number == 1


def test_an_officer_cannot_issue(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    etd = etd_paid(mission_a)
    with pytest.raises(ApplicationError) as refused:
        services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "officer"))
    assert refused.value.http_status == 403


def test_an_exhausted_block_is_a_clear_error_and_the_next_block_follows(
    in_mission_a, mission_a, etd_signer
):
    # given a block of two numbers
    block_allocate(mission_a, first=1, last=2, prefix="X")
    first, second = etd_issued(mission_a), etd_issued(mission_a)
    assert (first.number, second.number) == ("X00000001", "X00000002")
    # when a third is issued, then it is refused with a message that says what to do
    third = etd_paid(mission_a)
    with pytest.raises(ApplicationError) as refused:
        services.etd_issue(etd=third, acting_user=make_staff(mission_a, "consul"))
    assert refused.value.code.value == "passports.etd_no_numbers"
    assert "HQ" in str(refused.value.message)
    third.refresh_from_db()
    assert third.status == EtdStatus.REQUESTED
    # and once HQ allocates another block, it goes on from there
    block_allocate(mission_a, first=500, last=501, prefix="X")
    assert services.etd_issue(etd=third, acting_user=make_staff(mission_a, "consul")).number == (
        "X00000500"
    )


def test_blocks_never_overlap_and_only_hq_admins_allocate(mission_a, mission_b):
    from consulate.kernel.accounts.models import HqRole

    admin = UserFactory(hq_role=HqRole.ADMIN)
    services.etd_block_allocate(
        mission_code=mission_a.code, first=1, last=100, prefix="Z", acting_user=admin
    )
    # an overlapping range at another mission is refused
    with pytest.raises(ApplicationError) as overlap:
        services.etd_block_allocate(
            mission_code=mission_b.code, first=100, last=200, prefix="Z", acting_user=admin
        )
    assert overlap.value.code.value == "passports.etd_block_overlap"
    # a range too wide for nine characters, a bad prefix, an empty range
    for first, last, prefix in [(1, 10**8, "Z"), (1, 5, "Z9"), (5, 1, "Z"), (0, 5, "Z")]:
        with pytest.raises(ApplicationError):
            services.etd_block_allocate(
                mission_code=mission_b.code, first=first, last=last, prefix=prefix,
                acting_user=admin,
            )  # fmt: skip
    # a mission's own admin, a consul, an HQ analyst may not
    for actor in (make_staff(mission_b, "mission_admin"), make_staff(mission_b, "consul")):
        with pytest.raises(ApplicationError):
            services.etd_block_allocate(
                mission_code=mission_b.code, first=300, last=400, prefix="Z", acting_user=actor
            )
    with pytest.raises(ApplicationError) as unknown:
        services.etd_block_allocate(
            mission_code="nowhere", first=300, last=400, prefix="Z", acting_user=admin
        )
    assert unknown.value.http_status == 404
    services.etd_block_allocate(
        mission_code=mission_b.code, first=101, last=200, prefix="Z", acting_user=admin
    )
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{mission_b.schema_name}".passports_etdnumberblock')
        assert cursor.fetchone() == (1,)


def test_revocation_needs_a_consul_and_a_reason(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    etd = etd_issued(mission_a)
    consul = make_staff(mission_a, "consul")
    with pytest.raises(ApplicationError) as no_reason:
        services.etd_revoke(etd=etd, reason="  ", acting_user=consul)
    assert no_reason.value.code.value == "passports.reason_required"
    with pytest.raises(ApplicationError):
        services.etd_revoke(etd=etd, reason="Found", acting_user=make_staff(mission_a, "officer"))
    etd = services.etd_revoke(etd=etd, reason="The passport was found", acting_user=consul)
    assert etd.status == EtdStatus.REVOKED
    event = OutboxEvent.objects.get(topic="passports.etd.revoked")
    assert event.payload == {"number": etd.number, "reason": "The passport was found"}
    # and a revoked document is neither revoked again nor issued again
    with pytest.raises(ApplicationError):
        services.etd_revoke(etd=etd, reason="again", acting_user=consul)
    with pytest.raises(ApplicationError):
        services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "consul"))


def test_a_request_for_a_journey_now_past_is_not_issued(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    etd = etd_paid(mission_a)
    with (
        mock.patch(
            "passports.services.etd.timezone.now",
            return_value=timezone.now() + dt.timedelta(days=3),
        ),
        pytest.raises(ApplicationError) as refused,
    ):
        services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "consul"))
    assert refused.value.field == "journey_date"
    assert EtdNumberBlock.objects.get().next_number == 1


def test_issued_while_hq_is_unreachable_then_delivered(
    in_mission_a, mission_a, etd_signer, settings
):
    from sync import export, transport
    from sync.error_codes import SyncError
    from sync.hq.models import CentralEvent

    # given HQ cannot be reached
    settings.SYNC_HQ_URL = "https://hq.example"

    def unreachable(url, body, *, reference_version, down_hashes):  # type: ignore[no-untyped-def]
        raise ApplicationError(SyncError.UNREACHABLE, "down")

    block_allocate(mission_a)
    with mock.patch.object(transport, "_over_http", unreachable):
        # when a consul issues, it works (nothing asks HQ), and the push fails
        etd = etd_issued(mission_a)
        assert not export.push(code="alpha").ok
    # then the event waits in the outbox
    event = OutboxEvent.objects.get(topic="passports.etd.issued")
    connection.set_schema_to_public()
    assert not CentralEvent.objects.filter(mission="alpha", topic="passports.etd.issued").exists()
    connection.set_tenant(mission_a)
    # when the link is back (HQ in this database), the push delivers it once
    settings.SYNC_HQ_URL = ""
    assert export.push(code="alpha").ok
    connection.set_schema_to_public()
    central = CentralEvent.objects.get(mission="alpha", topic="passports.etd.issued")
    assert central.seq == event.seq
    assert central.payload["number"] == etd.number
    connection.set_tenant(mission_a)


def test_the_holder_is_mailed_at_each_step_in_their_language(
    in_mission_a, mission_a, etd_signer, eager_tasks, django_capture_on_commit_callbacks
):
    block_allocate(mission_a)
    with django_capture_on_commit_callbacks(execute=True):
        etd = etd_paid(mission_a)
    (requested,) = mail.outbox
    assert requested.to == ["holder@example.org"]
    assert etd.reference in requested.subject
    assert "Requested" in requested.subject
    with django_capture_on_commit_callbacks(execute=True):
        etd = services.etd_revoke(
            etd=services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "consul")),
            reason="Passport found",
            acting_user=make_staff(mission_a, "consul"),
        )
    assert [m.subject.rsplit(": ", 1)[1] for m in mail.outbox] == ["Requested", "Issued", "Revoked"]
    assert "Passport found" in mail.outbox[2].body
    # a request at the counter without an e-mail sends none
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.etd_request_record(
            values=request_values(), email="", language="en",
            acting_user=make_staff(mission_a, "officer"),
        )  # fmt: skip
    assert mail.outbox == []
    with pytest.raises(ApplicationError) as bad:
        services.etd_request_record(
            values=request_values(), email="not-an-address", language="en",
            acting_user=make_staff(mission_a, "officer"),
        )  # fmt: skip
    assert bad.value.field == "email"
