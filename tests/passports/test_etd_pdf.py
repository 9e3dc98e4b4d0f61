"""The printed ETD: its seal read back from the PDF by the verifier's own code and checked
against the trust HQ publishes; any byte changed is not valid; the page in the holder's language
with the time in the mission's zone."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from consulate.kernel.actors import SYSTEM
from consulate.kernel.seal import SealError, SealStatus, seal_decode, seal_extract, seal_verify
from passports import services
from passports.etd_pdf import etd_pdf
from tests.passports.test_etd_services import (
    Signer,
    block_allocate,
    etd_issued,
    signer_install,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def etd_signer(monkeypatch: pytest.MonkeyPatch) -> Signer:
    return signer_install(monkeypatch)


def _verdict(data: bytes, signer):  # type: ignore[no-untyped-def]
    return seal_verify(seal=seal_decode(data), trust=signer.trust(), at=NOW)


def test_the_pdfs_seal_reads_back_and_verifies(in_mission_a, mission_a, etd_signer):
    # given an issued ETD, printed
    block_allocate(mission_a)
    etd = etd_issued(mission_a)
    pdf = etd_pdf(etd=etd, mission=mission_a)
    # when a verifier reads the seal out of the PDF
    data = seal_extract(pdf)
    # then it is the seal issued, genuine, with the document's MRZ and validity
    assert data == services.etd_seal(etd=etd)
    verdict = _verdict(data, etd_signer)
    assert verdict.status is SealStatus.VALID, verdict.reason
    assert verdict.content.valid_until == etd.valid_until
    assert etd.number in verdict.content.lines[1]
    # and the page shows the MRZ exactly as sealed
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for line in verdict.content.lines:
        assert line in text
    # and once the signer's certificate is revoked, the same seal answers so
    revoked = seal_verify(seal=seal_decode(data), trust=etd_signer.trust(revoked=True), at=NOW)
    assert revoked.status is SealStatus.REVOKED


def test_any_byte_changed_is_not_valid(in_mission_a, mission_a, etd_signer):
    block_allocate(mission_a)
    data = services.etd_seal(etd=etd_issued(mission_a))
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        try:
            verdict = _verdict(bytes(changed), etd_signer)
        except SealError:
            continue  # refused as malformed: not valid either
        assert verdict.status is not SealStatus.VALID, position


def test_the_pdf_is_in_the_holders_language_with_the_missions_zone(
    in_mission_a, mission_a, etd_signer
):
    block_allocate(mission_a)
    etd = etd_issued(mission_a)
    etd.language = "tr"
    text = PdfReader(io.BytesIO(etd_pdf(etd=etd, mission=mission_a))).pages[0].extract_text()
    assert "12 Nisan 1988" in text  # the date of birth, in Turkish
    assert "(Europe/Berlin)" in text
    assert "Yılmaz" in text
    assert "İstanbul" in text


def test_the_holders_photo_is_printed_on_the_document(in_mission_a, mission_a, monkeypatch):
    # given a request whose holder's photo was taken at the counter, then issued
    from tests.conftest import make_staff
    from tests.passports.photos import photo_bytes
    from tests.passports.test_etd_services import etd_paid, signer_install

    signer_install(monkeypatch)
    services.etd_block_allocate(
        mission_code=mission_a.code, first=501, last=510, prefix="P", acting_user=SYSTEM
    )
    etd = etd_paid(mission_a)
    etd = services.etd_photo_add(
        etd=etd, data=photo_bytes(), acting_user=make_staff(mission_a, "officer")
    )
    etd = services.etd_issue(etd=etd, acting_user=make_staff(mission_a, "consul"))
    # then the PDF holds two pictures: the photo and the seal
    reader = PdfReader(io.BytesIO(etd_pdf(etd=etd, mission=mission_a)))
    assert len(reader.pages[0].images) == 2


def test_a_bad_photo_is_refused_with_its_reason(in_mission_a, mission_a):
    from consulate.kernel.errors import ApplicationError
    from tests.conftest import make_staff
    from tests.passports.photos import photo_bytes, spec_vary
    from tests.passports.test_etd_services import etd_paid

    etd = etd_paid(mission_a)
    with pytest.raises(ApplicationError) as refused:
        services.etd_photo_add(
            etd=etd,
            data=photo_bytes(spec_vary(head_fraction=0.45)),
            acting_user=make_staff(mission_a, "officer"),
        )
    assert "too small" in str(refused.value.message)
    etd.refresh_from_db()
    assert not etd.photo_jpeg
