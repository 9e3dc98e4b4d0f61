"""HQ's public verifier (`/verify/` and `POST /api/v1/verify/`): anyone gives a picture, a PDF,
the seal's bytes or a document number and reads valid, revoked, expired or invalid. Each test
tries to get VALID for what is not, a 500 out of garbage, or past the rate limit."""

from __future__ import annotations

import base64
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from consulate.kernel.actors import SYSTEM
from consulate.kernel.seal import seal_datamatrix_png
from passports.services import etd_block_allocate
from tests.conftest import text_of, texts_of
from tests.consulate.kernel.test_seal_barcode import pdf_with
from tests.consulate.kernel.test_seal_pki import etd_sealed, hq_create
from tests.passports.seals import etd_issued_at_hq, etd_seal, signer_issue

pytestmark = pytest.mark.django_db

PAGE, API = "/verify/", "/api/v1/verify/"


@pytest.fixture
def signed(mission_a):
    """Mission A holds a signer, and the ETD numbers E1 to E9999999 (the verifier refuses a
    sealed number HQ never allocated to the signer's mission)."""
    etd_block_allocate(
        mission_code=mission_a.code, first=1, last=9_999_999, prefix="E", acting_user=SYSTEM
    )
    return signer_issue(mission_a)


def png_upload(data: bytes, name: str = "seal.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def status_shown(response) -> str:
    return text_of(response.content, "h2", id="verdict-status")


def test_the_page_is_public_labelled_and_announces_its_result(client_hq):
    response = client_hq.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("file", "seal", "number"):
        assert f'<label for="id_{name}">' in html
    assert 'id="verify-result" aria-live="polite"' in html
    assert 'enctype="multipart/form-data"' in html


def test_the_verifier_is_at_hq_only_and_a_missions_address_leads_there(client_a):
    # a mission's /verify/ answers nothing itself: it sends the reader to HQ's
    response = client_a.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].endswith("://localhost/verify/")
    assert client_a.post("/api/v1/verify/", {"number": "E1"}).status_code == 404


def test_a_photo_of_a_valid_seal_says_valid_and_shows_the_signed_data(client_hq, signed, mission_a):
    # given an ETD sealed at mission A and recorded at HQ
    etd_issued_at_hq(mission_a, "E1234567")
    png = seal_datamatrix_png(etd_seal(mission_a, "E1234567"))
    # when someone uploads a picture of its seal
    response = client_hq.post(PAGE, {"file": png_upload(png)})
    # then the page says VALID, in green, with the MRZ and what the register says
    assert response.status_code == 200
    assert status_shown(response) == "VALID"
    assert 'class="verdict verdict-valid"' in response.content.decode()
    assert any(value.startswith("I<TURERDEM<<AYSE") for value in texts_of(response.content, "dd"))
    assert mission_a.name in texts_of(response.content, "dd")


def test_a_pdf_and_the_pasted_bytes_verify_too(client_hq, signed, mission_a):
    data = etd_seal(mission_a, "E1234567")
    pdf = SimpleUploadedFile("etd.pdf", pdf_with(seal_datamatrix_png(data)), "application/pdf")
    assert status_shown(client_hq.post(PAGE, {"file": pdf})) == "VALID"
    spaced_hex = " ".join(data.hex().upper()[i : i + 8] for i in range(0, len(data) * 2, 8))
    assert status_shown(client_hq.post(PAGE, {"seal": spaced_hex})) == "VALID"
    urlsafe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert status_shown(client_hq.post(PAGE, {"seal": urlsafe})) == "VALID"


def test_a_seal_not_yet_in_the_register_is_valid_with_a_note(client_hq, signed, mission_a):
    response = client_hq.post(PAGE, {"seal": etd_seal(mission_a, "E7").hex()})
    assert status_shown(response) == "VALID"
    assert "no record of this document yet" in response.content.decode()


def test_a_document_revoked_at_the_mission_is_revoked_though_its_signer_is_not(
    client_hq, signed, mission_a
):
    # given an ETD whose mission revoked it, its signer still in good standing
    etd_issued_at_hq(mission_a, "E1234567", revoked="Issued in error")
    data = etd_seal(mission_a, "E1234567")
    # when its seal, or its number, is checked
    by_seal = client_hq.post(PAGE, {"seal": data.hex()})
    by_number = client_hq.post(PAGE, {"number": "e 1234567"})
    api = client_hq.post(API, {"seal": data.hex()}, content_type="application/json")
    # then each says REVOKED, and the mission's reason is not shown to the public
    assert status_shown(by_seal) == status_shown(by_number) == "REVOKED"
    assert 'class="verdict verdict-revoked"' in by_seal.content.decode()
    assert "Issued in error" not in by_seal.content.decode() + by_number.content.decode()
    assert api.json()["status"] == "revoked"
    assert api.json()["register"]["revoked_on"] == timezone.now().date().isoformat()


def test_a_seal_of_a_number_another_mission_issued_is_invalid(client_hq, mission_a, mission_b):
    # given E1 issued at B, and A's genuine key sealing a document with that number
    signer_issue(mission_a)
    signer_issue(mission_b)
    etd_issued_at_hq(mission_b, "E1")
    response = client_hq.post(
        API, {"seal": etd_seal(mission_a, "E1").hex()}, content_type="application/json"
    )
    assert response.json()["status"] == "invalid"


def test_a_second_paper_under_a_registered_number_is_invalid(client_hq, signed, mission_a):
    # given E1 issued with mission A's first key, then the key rotated
    etd_issued_at_hq(mission_a, "E1")
    first = etd_seal(mission_a, "E1")
    signer_issue(mission_a)
    # when the new key seals another paper with the same number
    second = etd_seal(mission_a, "E1")
    # then only the one the register knows is valid
    answers = [
        client_hq.post(API, {"seal": data.hex()}, content_type="application/json").json()
        for data in (first, second)
    ]
    assert [answer["status"] for answer in answers] == ["valid", "invalid"]
    assert "another key" in answers[1]["reason"]


def test_an_expired_document_says_expired(client_hq, signed, mission_a):
    data = etd_seal(mission_a, "E1", expiry=timezone.now().date() - dt.timedelta(days=1))
    response = client_hq.post(PAGE, {"seal": data.hex()})
    assert status_shown(response) == "EXPIRED"


def test_a_revoked_signer_says_revoked(client_hq, signed, mission_a):
    from passports.register.seal_keys import document_signer_revoke
    from tests.passports.seals import hq_admin

    data = etd_seal(mission_a, "E1")
    document_signer_revoke(
        mission=mission_a, serial=signed.serial, reason="Leaked", acting_user=hq_admin()
    )
    assert (
        client_hq.post(API, {"seal": data.hex()}, content_type="application/json").json()["status"]
        == "revoked"
    )


def test_one_changed_byte_is_never_valid_on_the_page(client_hq, signed, mission_a):
    data = bytearray(etd_seal(mission_a, "E1"))
    data[-5] ^= 0x01  # in the signature
    response = client_hq.post(API, {"seal": bytes(data).hex()}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "invalid"
    data = bytearray(etd_seal(mission_a, "E1"))
    data[30] ^= 0x01  # in the MRZ: either no longer readable (400) or not genuine
    response = client_hq.post(API, {"seal": bytes(data).hex()}, content_type="application/json")
    assert response.status_code in (200, 400)
    assert response.json().get("status") != "valid"
    assert response.json().get("status") or response.json()["message"]


def test_a_typed_number_says_what_the_register_holds(client_hq, signed, mission_a):
    etd_issued_at_hq(mission_a, "E1234567")
    known = client_hq.post(API, {"number": "E1234567"}, content_type="application/json").json()
    assert known["status"] == "valid"
    assert known["register"]["mission"] == "alpha"
    assert known["register"]["issuer"] == "Consulate-General in Berlin"
    assert known["data"] == []  # no seal, no signed data
    assert any("only the seal shows" in note for note in known["notes"])
    unknown = client_hq.post(PAGE, {"number": "E7654321"})
    assert status_shown(unknown) == "NOT FOUND"


def test_the_api_reads_a_file_and_answers_the_signed_data(client_hq, signed, mission_a):
    png = seal_datamatrix_png(etd_seal(mission_a, "E1"))
    answer = client_hq.post(API, {"file": png_upload(png)}).json()
    assert answer["status"] == "valid"
    labels = {row["label"]: row["value"] for row in answer["data"]}
    assert labels["Document type"] == "Emergency travel document"
    assert labels["Issuing country"] == "TUR"


def _cat_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("language", "number", "message"),
    [
        ("en", "E-1/2", "A document number is one to nine letters and digits."),
        ("tr", "E-1/2", "Belge numarası bir ile dokuz arasında harf ve rakamdan oluşur."),
        ("en", "U1" * 5000, "Ensure this value has at most 20 characters (it has 10000)."),
    ],
)
def test_a_number_that_cannot_be_one_is_refused_beside_its_field(
    client_hq, signed, language, number, message
):
    response = client_hq.post(PAGE, {"number": number}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert text_of(response.content, "span", id="id_number-message") == message
    assert '<div class="field field-error" data-field="number">' in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"number": ""},
        {"number": "E1", "seal": "DC03"},  # two things at once
        {"number": "E1\x00"},
        {"number": "E" * 21},
        {"number": "U1" * 5000},  # ten thousand characters
        {"number": "U1000\x0000"},
        {"number": "E-1/2"},
        {"seal": "not a seal at all"},
        {"seal": "DC0"},  # odd hex
        {"seal": "DC" + "00" * 10},  # a seal's magic, then nothing sensible
        {"seal": "QUJD"},  # base64 of "ABC"
        {"seal": "F" * 5000},
    ],
)
def test_garbage_typed_in_gets_a_message_and_a_4xx(client_hq, signed, data):
    page = client_hq.post(PAGE, data)
    assert page.status_code == 400
    # the form's message, or the site's own for a NUL byte (its middleware answers first)
    nul = any("\x00" in value for value in data.values())
    assert text_of(page.content, "p" if nul else "div", role="alert")
    api = client_hq.post(API, data)
    assert api.status_code == 400
    assert api.json()["message"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 100,
        b"%PDF-1.4 broken",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,  # a PNG's signature and nothing
        _cat_png(),  # a picture without a barcode
        b"GIF89a" + bytes(range(256)) * 4,
    ],
)
def test_garbage_uploads_get_a_message_and_a_4xx(client_hq, signed, content):
    page = client_hq.post(PAGE, {"file": png_upload(content)})
    assert page.status_code == 400
    assert text_of(page.content, "div", role="alert")
    api = client_hq.post(API, {"file": png_upload(content)})
    assert api.status_code == 400
    assert api.json()["message"]


def test_a_file_over_the_limit_is_refused_before_it_is_read(client_hq, signed):
    big = png_upload(b"\x89PNG" + b"\x00" * (10 * 1024 * 1024 + 1))
    page = client_hq.post(PAGE, {"file": big})
    assert page.status_code == 400
    assert "10 MB" in text_of(page.content, "div", role="alert")
    big.seek(0)
    assert client_hq.post(API, {"file": big}).status_code == 400


def test_the_page_checks_csrf(signed):
    from django.test import Client

    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    assert client.post(PAGE, {"number": "E1"}).status_code == 403
    client.get(PAGE)
    token = client.cookies["csrftoken"].value
    response = client.post(PAGE, {"number": "E1", "csrfmiddlewaretoken": token})
    assert response.status_code == 200


def test_json_that_is_not_an_object_of_texts_is_refused(client_hq, signed):
    for body in ('["DC03"]', '{"seal": ["DC"]}', '{"number": 5}', "{not json", "null"):
        response = client_hq.post(API, body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["message"]


def test_without_a_root_the_page_says_so_and_does_not_fail(client_hq):
    # a well-formed seal from somebody's root, before HQ made its own
    foreign = etd_sealed(hq_create())
    response = client_hq.post(PAGE, {"seal": foreign.hex()})
    assert response.status_code == 400
    assert "no seal root" in text_of(response.content, "div", role="alert")
    response = client_hq.post(PAGE, {"number": "E1"})
    assert response.status_code == 200  # the register alone answers a number
    assert status_shown(response) == "NOT FOUND"


def test_checks_are_rate_limited_per_address(client_hq, signed, settings):
    settings.APPOINTMENTS_RATE_LIMITS = {"verify": (3, 60)}
    for _ in range(3):
        assert client_hq.post(PAGE, {"number": "E1"}).status_code == 200
    refused = client_hq.post(PAGE, {"number": "E1"})
    assert refused.status_code == 429
    assert "Too many requests" in text_of(refused.content, "div", role="alert")
    assert client_hq.post(API, {"number": "E1"}).status_code == 429


# --- a typed number: passports, and numbers HQ's registers do not hold (yet) -----------------


def verdict_text(response) -> str:
    """The verdict as a reader of the page meets it: inside the region announced on arrival."""
    html = response.content.decode()
    region = html[html.index('<div id="verify-result" aria-live="polite"') :]
    return " ".join(texts_of(region[: region.index("</section>")], "section"))


@pytest.fixture
def passport_handed_over(mission_b, hq_admin, block):
    """A passport HQ personalised (U00000100) for Tokyo, printed and handed over there."""
    from passports.register.models import IssuedDocument, PersonalisationCase
    from passports.register.services import personalisation_run
    from tests.passports.test_personalisation import _approved, _to_hq, handed_over

    application, events = _approved(mission_b)
    _to_hq(mission_b, events)
    case = PersonalisationCase.objects.get(mission="beta", reference=application.reference)
    personalisation_run(case=case, acting_user=hq_admin)
    handed_over(mission_b, application)
    document = IssuedDocument.objects.get(number="U00000100")
    assert document.collected_on is not None
    return document


@pytest.mark.parametrize(
    ("language", "status", "words"),
    [
        ("en", "VALID", ["A document with this number was issued and is in force.", "Passport"]),
        ("tr", "GEÇERLİ", ["Bu numarayla bir belge düzenlenmiştir ve geçerlidir.", "Pasaport"]),
    ],
)
def test_a_passport_hq_issued_is_valid_with_its_expiry_as_the_site_writes_days(
    client_hq, passport_handed_over, language, status, words
):
    from django.utils import translation

    from consulate.kernel import reference

    # given a passport HQ personalised and Tokyo handed over
    expires_on = passport_handed_over.expires_on
    with translation.override(language):
        expiry = reference.day_written_short(expires_on)
        issued = reference.day_written_short(passport_handed_over.issued_on)
    # when someone types its number, in lower case and with spaces
    response = client_hq.post(PAGE, {"number": "u 0000 0100"}, HTTP_ACCEPT_LANGUAGE=language)
    # then the page says what HQ's own register page says: valid, until when, issued by Tokyo
    assert response.status_code == 200
    assert status_shown(response) == status
    shown = verdict_text(response)
    for word in words:
        assert word in shown
    assert "Embassy in Tokyo" in texts_of(response.content, "dd")
    assert expiry in texts_of(response.content, "dd")
    assert issued in texts_of(response.content, "dd")
    assert expires_on.isoformat() not in shown  # the site's format, not ISO
    assert 'class="verdict verdict-valid"' in response.content.decode()
    # and nothing of its holder
    for personal in ("YILMAZ", "Yılmaz", "Ayşe", "1988"):
        assert personal not in shown


def test_the_api_answers_a_passport_with_iso_days(client_hq, passport_handed_over):
    answer = client_hq.post(API, {"number": "U00000100"}, content_type="application/json").json()
    assert answer["status"] == "valid"
    assert answer["register"]["kind"] == "passport"
    assert answer["register"]["mission"] == "beta"
    assert answer["register"]["valid_until"] == passport_handed_over.expires_on.isoformat()


@pytest.mark.parametrize(
    ("language", "status", "reason"),
    [
        ("en", "INVALID", "This passport was reported lost or stolen: it is no longer valid."),
        (
            "tr",
            "GEÇERSİZ",
            "Bu pasaportun kaybolduğu ya da çalındığı bildirildi: artık geçerli değil.",
        ),
    ],
)
def test_a_passport_reported_lost_is_not_valid_and_says_why(
    client_hq, passport_handed_over, mission_b, language, status, reason
):
    from sync.registry import events_project
    from tests.passports.test_register import reports_at

    # given the passport reported lost at Tokyo, the report applied at HQ
    events = reports_at(mission_b.schema_name, ("U00000100", "lost", timezone.now()))
    events_project(mission=mission_b.code, events=events)
    # when its number is typed
    response = client_hq.post(PAGE, {"number": "U00000100"}, HTTP_ACCEPT_LANGUAGE=language)
    # then it is not valid, and the page says why
    assert status_shown(response) == status
    assert text_of(response.content, "p", class_="verdict-reason") == reason
    assert 'class="verdict verdict-invalid"' in response.content.decode()


def test_a_cancelled_passport_is_not_valid(client_hq, passport_handed_over):
    from passports.register.models import IssuedDocument

    IssuedDocument.objects.filter(pk=passport_handed_over.pk).update(
        status="cancelled", cancelled_on=timezone.now().date()
    )
    response = client_hq.post(PAGE, {"number": "U00000100"})
    assert status_shown(response) == "INVALID"
    assert "cancelled" in text_of(response.content, "p", class_="verdict-reason")


@pytest.mark.parametrize(
    ("language", "status", "words", "not_words"),
    [
        (
            "en",
            "NOT FOUND",
            [
                "HQ's register holds no document with this number. A document issued in the"
                " last days may not be recorded yet.",
                # on this page: it stands below the verdict, and the API says it too
                "upload its PDF or a photo of its seal on this page",
                "ask the mission that issued it",
            ],
            ["INVALID"],
        ),
        (
            "tr",
            "BULUNAMADI",
            [
                "Merkez kütüğünde bu numarayla bir belge yok.",
                "PDF'sini ya da mührünün fotoğrafını bu sayfadan yükleyin",
                "belgeyi düzenleyen temsilciliğe sorun",
            ],
            ["GEÇERSİZ"],
        ),
    ],
)
def test_a_number_no_register_holds_is_not_found_not_invalid(
    client_hq, signed, language, status, words, not_words
):
    response = client_hq.post(PAGE, {"number": "E7654321"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert status_shown(response) == status
    shown = verdict_text(response)  # inside the region a screen reader announces
    for word in words:
        assert word in shown
    for word in not_words:
        assert word not in response.content.decode()
    # neutral, not the red of a document known to be bad
    assert 'class="verdict verdict-not_found"' in response.content.decode()
    api = client_hq.post(API, {"number": "E7654321"}, content_type="application/json").json()
    assert (api["status"], api["register"]) == ("not_found", None)


def test_a_visa_hq_has_not_heard_of_yet_is_not_found_then_valid(client_hq, mission_a):
    from tests.visas.test_evisa_pdf import issued, to_hq

    # given a visa just issued at Berlin, its events not at HQ yet
    application = issued(mission_a)
    # when its number is typed, it is not found (not invalid)
    before = client_hq.post(PAGE, {"number": application.visa_number})
    assert status_shown(before) == "NOT FOUND"
    # and once the mission's events reach HQ, it is valid
    to_hq(mission_a)
    after = client_hq.post(PAGE, {"number": application.visa_number})
    assert status_shown(after) == "VALID"
    assert "Visa" in texts_of(after.content, "dd")


def test_the_seals_days_are_written_as_the_site_writes_them(client_hq, signed, mission_a):
    from django.utils import translation

    from consulate.kernel import reference

    expiry = timezone.now().date() + dt.timedelta(days=20)
    data = etd_seal(mission_a, "E1", expiry=expiry)
    for language in ("en", "tr"):
        response = client_hq.post(PAGE, {"seal": data.hex()}, HTTP_ACCEPT_LANGUAGE=language)
        with translation.override(language):
            assert reference.day_written_short(expiry) in texts_of(response.content, "dd")
        assert expiry.isoformat() not in verdict_text(response)
    # the API keeps ISO 8601 for programs
    api = client_hq.post(API, {"seal": data.hex()}, content_type="application/json").json()
    assert expiry.isoformat() in [row["value"] for row in api["data"]]


# --- ETDs and visas reported lost or stolen ---------------------------------------------------

DOCUMENT_REPORTED = {
    "en": ("INVALID", "This document was reported lost or stolen: it is no longer valid."),
    "tr": ("GEÇERSİZ", "Bu belgenin kaybolduğu ya da çalındığı bildirildi: artık geçerli değil."),
}


def reported_at_hq(mission, number: str, kind: str) -> None:
    """`number` reported lost or stolen at `mission`, the report applied at HQ."""
    from sync.registry import events_project
    from tests.passports.test_register import reports_at

    events = reports_at(mission.schema_name, (number, kind, timezone.now()))
    events_project(mission=mission.code, events=events)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_an_etd_reported_stolen_is_not_valid_by_its_number_or_its_seal(
    client_hq, signed, mission_a, mission_b, language
):
    # given an ETD Berlin issued, recorded at HQ, then reported stolen at Tokyo
    etd_issued_at_hq(mission_a, "E1234567")
    reported_at_hq(mission_b, "E1234567", "stolen")
    status, reason = DOCUMENT_REPORTED[language]
    # when its number is typed, or its seal given
    by_number = client_hq.post(PAGE, {"number": "E1234567"}, HTTP_ACCEPT_LANGUAGE=language)
    seal = etd_seal(mission_a, "E1234567").hex()
    by_seal = client_hq.post(PAGE, {"seal": seal}, HTTP_ACCEPT_LANGUAGE=language)
    # then neither says valid: each says it was reported, in the reader's language
    for response in (by_number, by_seal):
        assert response.status_code == 200
        assert status_shown(response) == status
        assert text_of(response.content, "p", class_="verdict-reason") == reason
        assert 'class="verdict verdict-invalid"' in response.content.decode()
        # which of the two, and where, is the holder's business
        assert "Embassy in Tokyo" not in verdict_text(response)
    api = client_hq.post(API, {"seal": seal}, content_type="application/json").json()
    assert (api["status"], api["register"]["kind"]) == ("invalid", "etd")


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_visa_reported_lost_is_not_valid(client_hq, mission_a, mission_b, language):
    from tests.visas.test_evisa_pdf import issued, to_hq

    # given a visa Berlin issued, recorded at HQ, then reported lost at Tokyo
    application = issued(mission_a)
    to_hq(mission_a)
    reported_at_hq(mission_b, application.visa_number, "lost")
    # when its number is typed
    response = client_hq.post(
        PAGE, {"number": application.visa_number}, HTTP_ACCEPT_LANGUAGE=language
    )
    # then it is not valid, and the page says why
    status, reason = DOCUMENT_REPORTED[language]
    assert status_shown(response) == status
    assert text_of(response.content, "p", class_="verdict-reason") == reason
    kind = {"en": "Visa", "tr": "Vize"}[language]
    assert kind in texts_of(response.content, "dd")


def test_a_seal_reported_lost_before_its_document_reached_hq_is_not_valid(
    client_hq, signed, mission_a, mission_b
):
    # given an ETD Berlin sealed but has not sent to HQ yet, reported lost at Tokyo
    reported_at_hq(mission_b, "E7", "lost")
    # when its seal is given
    response = client_hq.post(PAGE, {"seal": etd_seal(mission_a, "E7").hex()})
    # then the report is what the page says, not "no record yet"
    assert status_shown(response) == "INVALID"
    assert text_of(response.content, "p", class_="verdict-reason") == DOCUMENT_REPORTED["en"][1]
    assert "no record of this document yet" not in response.content.decode()


# --- one rule for "expired", whatever the kind and HQ's zone ---------------------------------


def _last_day_today(request, kind: str, last_day: dt.date) -> dict[str, str]:
    """A document of `kind` whose last day of validity is `last_day`, recorded at HQ; what to
    give the page to check it."""
    from passports.register.models import IssuedDocument, IssuedTravelDocument

    if kind == "passport":
        passport = request.getfixturevalue("passport_handed_over")
        IssuedDocument.objects.filter(pk=passport.pk).update(
            issued_on=last_day - dt.timedelta(days=3650), expires_on=last_day
        )
        return {"number": passport.number}
    mission_a = request.getfixturevalue("mission_a")
    if kind == "visa":
        from tests.visas.test_evisa_pdf import issued, to_hq

        number = issued(mission_a).visa_number
        to_hq(mission_a)
    else:
        request.getfixturevalue("signed")
        number = "E1234567"
        etd_issued_at_hq(mission_a, number)
    IssuedTravelDocument.objects.update(valid_until=last_day)
    if kind == "etd seal":
        return {"seal": etd_seal(mission_a, number, expiry=last_day).hex()}
    return {"number": number}


@pytest.mark.parametrize("kind", ["passport", "etd", "etd seal", "visa"])
@pytest.mark.parametrize(
    ("hq_zone", "utc_time", "expired"),
    [
        # 02:00 UTC the next day: 21:00 of its last day in New York, a day after it in UTC
        ("America/New_York", (1, 2), True),
        # 20:00 UTC on its last day: 05:00 the next day in Tokyo, its last day in UTC
        ("Asia/Tokyo", (0, 20), False),
    ],
)
def test_expiry_is_one_rule_in_utc_whatever_the_kind_and_hqs_zone(
    request, client_hq, settings, monkeypatch, kind, hq_zone, utc_time, expired
):
    from django.utils import translation

    from consulate.kernel import reference

    # given a document whose last day is today, and HQ's clock in a zone far from UTC
    last_day = timezone.now().date()
    given = _last_day_today(request, kind, last_day)
    settings.TIME_ZONE = hq_zone
    days, hour = utc_time
    moment = dt.datetime.combine(last_day + dt.timedelta(days=days), dt.time(hour), dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    for language, words in {"en": ("EXPIRED", "VALID"), "tr": ("SÜRESİ DOLMUŞ", "GEÇERLİ")}.items():
        # when it is checked near midnight, by its number or its seal
        response = client_hq.post(PAGE, given, HTTP_ACCEPT_LANGUAGE=language)
        # then the answer is UTC's, for every kind alike, and the page shows its last day
        with translation.override(language):
            day = reference.day_written_short(last_day)
            said = translation.gettext("The document expired on %(date)s.") % {"date": day}
        assert status_shown(response) == (words[0] if expired else words[1]), language
        assert day in texts_of(response.content, "dd")
        if expired:
            assert text_of(response.content, "p", class_="verdict-reason") == said
    api = client_hq.post(API, given, content_type="application/json").json()
    assert api["status"] == ("expired" if expired else "valid")
