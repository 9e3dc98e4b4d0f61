"""The e-visa (`visas.evisa_pdf`): the page in the holder's language with the time of issue in
the mission's zone, east or west of UTC; its seal, read back from the PDF by the verifier's
own code, checked at HQ against the register once the issue is projected: VALID, INVALID for
one byte changed or another mission's key, REVOKED once revoked, EXPIRED after its last day."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context
from pypdf import PdfReader

from consulate.kernel.errors import ApplicationError
from consulate.kernel.seal import SealError, SealStatus, VisaContent, seal_extract
from missions.models import Mission
from passports.register.verification import document_number_check, seal_check
from sync.registry import events_project
from tests.conftest import make_staff
from tests.passports.seals import signer_issue
from tests.registers import outbox_on_the_wire
from tests.visas.factories_casework import visa_recommended
from tests.visas.test_issuance import block, decide
from visas.evisa_pdf import evisa_pdf, evisa_seal, stay_duration
from visas.models import VisaApplication
from visas.register import issued_projector
from visas.services import casework
from visas.services.issuance import visa_numbers_left

pytestmark = pytest.mark.django_db
# 23:30 UTC: already the next day in Tokyo, still the same evening in New York
MOMENT = dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)


def issued(mission: Mission, **fields: Any) -> VisaApplication:
    with schema_context(mission.schema_name):
        numbers = visa_numbers_left()
    if not numbers:
        block(mission)
    return decide(mission, visa_recommended(mission, **fields))


def to_hq(mission: Mission) -> None:
    """The mission's visa events applied at HQ, as its apply does."""
    with schema_context(mission.schema_name):
        wire = [e for e in outbox_on_the_wire("visas.") if e["topic"] in issued_projector.TOPICS]
    events_project(mission=mission.code, events=wire)


def pdf_of(mission: Mission, application: VisaApplication, **changes: Any) -> bytes:
    with schema_context(mission.schema_name):
        if changes:
            VisaApplication.objects.filter(pk=application.pk).update(**changes)
        application = VisaApplication.objects.get(pk=application.pk)
        return evisa_pdf(application=application)


def text_of(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        ("Asia/Tokyo", "en", ["Sunday 29 March 2026, 08:30 (Asia/Tokyo)", "15 June 1985"]),
        ("Asia/Tokyo", "tr", ["29 Mart 2026 Pazar, 08:30 (Asia/Tokyo)", "15 Haziran 1985"]),
        (
            "America/New_York",
            "en",
            ["Saturday 28 March 2026, 19:30 (America/New_York)", "15 June 1985"],
        ),
        (
            "America/New_York",
            "tr",
            ["28 Mart 2026 Cumartesi, 19:30 (America/New_York)", "15 Haziran 1985"],
        ),
    ],
)
def test_the_page_is_in_the_holders_language_in_the_missions_zone(
    mission_a, zone, language, expected
):
    # given a mission east or west of UTC with its signing key, and a visa issued there
    Mission.objects.filter(pk=mission_a.pk).update(timezone=zone)
    mission = Mission.objects.get(pk=mission_a.pk)
    signer_issue(mission)
    application = issued(mission, surname="Öztürk")
    # when its holder's e-visa is printed, issued at a moment that is two days in two zones
    text = text_of(pdf_of(mission, application, language=language, issued_at=MOMENT))
    # then the time of issue is the mission's, the zone named, the dates in their language
    for words in expected:
        assert words in text
    assert "Öztürk" in text
    assert application.visa_number in text
    assert application.passport_number in text
    for line in application.visa_mrz.splitlines():
        assert line in text
    if language == "en":
        assert "Electronic visa" in text
        assert "Single entry" in text
        assert "14 days" in text
        assert "Short-stay visa (C)" in text


def test_the_holders_photo_and_the_seal_are_printed(mission_b):
    signer_issue(mission_b)
    application = issued(mission_b)
    reader = PdfReader(io.BytesIO(pdf_of(mission_b, application)))
    assert len(reader.pages[0].images) == 2
    assert "/verify/" in text_of(pdf_of(mission_b, application))


def test_the_seal_verifies_at_hq_and_any_change_does_not(mission_b):
    # given a visa issued at mission B (Tokyo), its issue projected at HQ
    signer_issue(mission_b)
    application = issued(mission_b)
    to_hq(mission_b)
    # when a verifier reads the seal out of the e-visa
    data = seal_extract(pdf_of(mission_b, application))
    verdict = seal_check(data=data)
    # then it is genuine and in force, and says what the visa is
    assert verdict.status is SealStatus.VALID, verdict.reason
    assert verdict.document is not None
    assert verdict.document.kind == "visa"
    content = verdict.seal.content
    assert isinstance(content, VisaContent)
    assert content.valid_until == application.visa_valid_until
    assert content.lines[0] == application.visa_mrz.splitlines()[0]
    assert content.passport_number == application.passport_number
    assert content.entries == 1
    assert content.duration_of_stay == stay_duration(14)
    assert not verdict.notes
    # and a typed visa number finds it too
    assert document_number_check(number=application.visa_number).status is SealStatus.VALID
    # and one byte changed anywhere is never valid
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        try:
            other = seal_check(data=bytes(changed))
        except SealError:
            continue  # refused as malformed: not valid either
        assert other.status is SealStatus.INVALID, position


def test_the_e_visa_verifies_offline_with_hqs_trust_bundle(mission_b, tmp_path):
    # given a visa issued at mission B, its e-visa as a file, and HQ's trust bundle exported
    signer_issue(mission_b)
    application = issued(mission_b)
    evisa = tmp_path / "evisa.pdf"
    evisa.write_bytes(pdf_of(mission_b, application))
    trust = tmp_path / "trust.pem"
    call_command("seal", "export-trust", str(trust), stdout=io.StringIO())
    # when `manage.py seal verify` reads it with nothing but the bundle
    out = io.StringIO()
    call_command("seal", "verify", str(evisa), "--trust", str(trust), stdout=out)
    # then it is valid and prints the visa's MRZ
    assert "VALID" in out.getvalue()
    assert application.visa_mrz.splitlines()[0] in out.getvalue()
    # and one byte changed in the seal is refused
    seal = bytearray(seal_extract(evisa.read_bytes()))
    seal[-1] ^= 0x01
    forged = tmp_path / "forged.bin"
    forged.write_bytes(bytes(seal))
    with pytest.raises(CommandError, match="INVALID"):
        call_command("seal", "verify", str(forged), "--trust", str(trust), stdout=io.StringIO())


def test_a_visa_sealed_with_another_missions_key_is_invalid(mission_a, mission_b):
    signer_issue(mission_a)
    signer_issue(mission_b)
    application = issued(mission_a)
    to_hq(mission_a)
    with schema_context(mission_b.schema_name):  # B's key over A's visa
        forged = evisa_seal(application=application)
    verdict = seal_check(data=forged)
    assert verdict.status is SealStatus.INVALID
    assert "another mission" in str(verdict.reason)


def test_another_missions_key_is_refused_before_the_visa_reaches_hq(mission_a, mission_b):
    # given a visa of mission A that HQ's register does not hold yet, sealed with B's key
    signer_issue(mission_a)
    signer_issue(mission_b)
    application = issued(mission_a)
    with schema_context(mission_b.schema_name):
        forged = evisa_seal(application=application)
    # then the number was never B's to seal: invalid; A's own seal is valid with a note
    verdict = seal_check(data=forged)
    assert verdict.status is SealStatus.INVALID
    assert "never allocated" in str(verdict.reason)
    with schema_context(mission_a.schema_name):
        genuine = evisa_seal(application=application)
    verdict = seal_check(data=genuine)
    assert verdict.status is SealStatus.VALID
    assert verdict.notes


def test_a_revoked_or_annulled_visa_answers_revoked(mission_b):
    signer_issue(mission_b)
    revoked, annulled = issued(mission_b), issued(mission_b)
    consul = make_staff(mission_b, "consul")
    with schema_context(mission_b.schema_name):
        for application, revoke in ((revoked, True), (annulled, False)):
            casework.visa_end(
                application=application, revoke=revoke, grounds=["purpose"], note="",
                acting_user=consul,
            )  # fmt: skip
    to_hq(mission_b)
    for application in (revoked, annulled):
        pdf = pdf_of(mission_b, application)
        assert seal_check(data=seal_extract(pdf)).status is SealStatus.REVOKED
        assert "no longer valid" in text_of(pdf)
        assert document_number_check(number=application.visa_number).status is (SealStatus.REVOKED)


def test_a_visa_past_its_last_day_answers_expired(mission_b):
    signer_issue(mission_b)
    application = issued(mission_b)
    to_hq(mission_b)
    data = seal_extract(pdf_of(mission_b, application))
    after = dt.datetime.combine(
        application.visa_valid_until + dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC
    )
    assert seal_check(data=data, at=after).status is SealStatus.EXPIRED
    assert document_number_check(number=application.visa_number, at=after).status is (
        SealStatus.EXPIRED
    )


def test_no_key_no_e_visa(mission_b):
    application = issued(mission_b)
    with pytest.raises(ApplicationError) as refused:
        pdf_of(mission_b, application)
    assert refused.value.code.value == "visas.no_signer"


def test_only_an_issued_visa_is_printed(mission_b):
    signer_issue(mission_b)
    application = visa_recommended(mission_b)
    with pytest.raises(ApplicationError) as refused:
        pdf_of(mission_b, application)
    assert refused.value.http_status == 404


def test_a_long_stay_fits_the_seals_bytes():
    assert stay_duration(90).days == 90
    assert stay_duration(255).days == 255
    long = stay_duration(400)
    assert (long.years, long.months, long.days) == (1, 1, 5)


def test_hqs_verify_page_shows_the_visa(mission_b, client_hq):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import text_of as html_text_of

    signer_issue(mission_b)
    application = issued(mission_b)
    to_hq(mission_b)
    pdf = pdf_of(mission_b, application)
    response = client_hq.post(
        "/verify/", {"file": SimpleUploadedFile("evisa.pdf", pdf, content_type="application/pdf")}
    )
    assert response.status_code == 200
    assert html_text_of(response.content, "h2", id="verdict-status") == "VALID"
    html = response.content.decode()
    assert "Visa" in html
    assert application.visa_mrz.splitlines()[0] in html.replace("&lt;", "<")
    assert "Embassy in Tokyo" in html  # the register's issuer
    typed = client_hq.post("/api/v1/verify/", {"number": application.visa_number})
    assert typed.json()["register"]["kind"] == "visa"
