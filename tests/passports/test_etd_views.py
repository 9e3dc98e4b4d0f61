"""The ETD pages through the client: the citizen applies, follows it and downloads the PDF once
issued; staff record, issue and revoke; strangers get 404; bad input gets 4xx and changes
nothing."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from consulate.kernel.seal import SealStatus, seal_decode, seal_extract, seal_verify
from fees.models import Assessment
from passports.models import DocumentReport, EmergencyTravelDocument, EtdStatus
from tests.conftest import MODEL_BACKEND, host_client, make_staff, text_of, texts_of
from tests.factories import UserFactory
from tests.fees.conftest import pay_cash
from tests.fees.factories import seed_fee_reference
from tests.missions.test_tenant_isolation import login_with_second_factor
from tests.passports.test_etd_services import (
    Signer,
    block_allocate,
    etd_issued,
    etd_paid,
    request_values,
    signer_install,
)
from tests.passports.test_views import RECORDED

pytestmark = pytest.mark.django_db


@pytest.fixture
def etd_signer(monkeypatch: pytest.MonkeyPatch) -> Signer:
    return signer_install(monkeypatch)


def _values(mission) -> dict:  # type: ignore[no-untyped-def]
    with schema_context(mission.schema_name):
        return request_values()


def test_a_citizen_applies_a_consul_issues_and_the_citizen_downloads(
    client_a, mission_a, etd_signer
):
    # given a signed-in citizen, the fee schedule and a block of numbers
    seed_fee_reference()
    block_allocate(mission_a)
    user = UserFactory()
    client_a.force_login(user, backend=MODEL_BACKEND)
    # when they apply through the page
    response = client_a.post("/etd/", _values(mission_a))
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        etd = EmergencyTravelDocument.objects.get(user_id=user.pk)
    assert response["Location"] == f"/etd/{etd.reference}/"
    page = client_a.get(response["Location"]).content.decode()
    assert "Pay the fee" in page
    assert client_a.get(f"/etd/{etd.reference}/document.pdf").status_code == 404
    # and once paid, a consul issues it from the staff page
    with schema_context(mission_a.schema_name):
        pay_cash(Assessment.objects.get(pk=etd.assessment_id), make_staff(mission_a, "cashier"))
    consul_client = host_client(mission_a.host)
    login_with_second_factor(consul_client, make_staff(mission_a, "consul"))
    issued = consul_client.post(f"/staff/etd/{etd.reference}/issue/")
    assert issued.status_code == 302
    # then the citizen sees it issued and downloads a PDF whose seal verifies
    page = client_a.get(f"/etd/{etd.reference}/")
    assert text_of(page.content, "strong", **{"class": "status status-issued"}) == "Issued"
    pdf = client_a.get(f"/etd/{etd.reference}/document.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    verdict = seal_verify(
        seal=seal_decode(seal_extract(pdf.content)), trust=etd_signer.trust(), at=_now()
    )
    assert verdict.status is SealStatus.VALID


def _now():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def test_another_citizens_etd_is_not_found(client_a, mission_a):
    seed_fee_reference()
    owner = UserFactory()
    client_a.force_login(owner, backend=MODEL_BACKEND)
    client_a.post("/etd/", _values(mission_a))
    with schema_context(mission_a.schema_name):
        etd = EmergencyTravelDocument.objects.get(user_id=owner.pk)
    client_a.force_login(UserFactory(), backend=MODEL_BACKEND)
    assert client_a.get(f"/etd/{etd.reference}/").status_code == 404
    assert client_a.get(f"/etd/{etd.reference}/document.pdf").status_code == 404
    assert client_a.get("/etd/").content.decode().count(etd.reference) == 0
    # nor do a citizen's pages show the staff's
    assert client_a.get(f"/staff/etd/{etd.reference}/").status_code == 404


def test_staff_of_another_mission_find_nothing(client_a, client_b, mission_a, mission_b):
    seed_fee_reference()
    officer = make_staff(mission_a, "officer")
    login_with_second_factor(client_a, officer)
    assert client_a.post("/staff/etd/request/", _values(mission_a)).status_code == 302
    with schema_context(mission_a.schema_name):
        etd = EmergencyTravelDocument.objects.get()
    login_with_second_factor(client_b, make_staff(mission_b, "consul"))
    assert client_b.get(f"/staff/etd/{etd.reference}/").status_code == 404
    assert client_b.post(f"/staff/etd/{etd.reference}/issue/").status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"surname": "Yıl\x00maz"},
        {"journey_date": "9999-12-31", "valid_until": "9999-12-31"},
        {"journey_date": "0001-01-01", "valid_until": "0001-01-01"},
        {"birth_date": "10000-01-01"},
        {"valid_until": "2999-01-01"},
        {"nationality": "QQQ"},
    ],
)
def test_bad_input_at_the_counter_is_4xx_and_changes_nothing(client_a, mission_a, changes):
    seed_fee_reference()
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    response = client_a.post("/staff/etd/request/", {**_values(mission_a), **changes})
    assert 400 <= response.status_code < 500
    with schema_context(mission_a.schema_name):
        assert not EmergencyTravelDocument.objects.exists()
        assert not DocumentReport.objects.exists()
        assert not Assessment.objects.exists()


def test_the_officer_who_recorded_it_sees_no_issue_button_and_a_post_is_refused(
    client_a, mission_a, etd_signer
):
    seed_fee_reference()
    block_allocate(mission_a)
    consul = make_staff(mission_a, "consul")
    login_with_second_factor(client_a, consul)
    client_a.post("/staff/etd/request/", _values(mission_a))
    with schema_context(mission_a.schema_name):
        etd = EmergencyTravelDocument.objects.get()
        pay_cash(Assessment.objects.get(pk=etd.assessment_id), make_staff(mission_a, "cashier"))
    page = client_a.get(f"/staff/etd/{etd.reference}/").content.decode()
    assert "another consul issues it" in page
    assert "Issue now" not in page
    refused = client_a.post(f"/staff/etd/{etd.reference}/issue/")
    assert refused.status_code == 400
    with schema_context(mission_a.schema_name):
        etd.refresh_from_db()
        assert etd.status == EtdStatus.REQUESTED


def test_revoke_needs_a_reason_on_the_page(client_a, mission_a, etd_signer):
    seed_fee_reference()
    block_allocate(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    client_a.post("/staff/etd/request/", _values(mission_a))
    with schema_context(mission_a.schema_name):
        etd = EmergencyTravelDocument.objects.get()
        pay_cash(Assessment.objects.get(pk=etd.assessment_id), make_staff(mission_a, "cashier"))
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    assert client_a.post(f"/staff/etd/{etd.reference}/issue/").status_code == 302
    assert client_a.post(f"/staff/etd/{etd.reference}/revoke/", {"reason": ""}).status_code == 400
    done = client_a.post(f"/staff/etd/{etd.reference}/revoke/", {"reason": "Passport found"})
    assert done.status_code == 302
    listing = client_a.get("/staff/etd/?status=revoked").content.decode()
    assert etd.reference in listing
    with schema_context(mission_a.schema_name):
        etd.refresh_from_db()
        assert etd.status == EtdStatus.REVOKED


@pytest.mark.parametrize(
    ("step", "language"),
    [("issue", "en"), ("issue", "tr"), ("revoke", "en"), ("revoke", "tr")],
)
def test_issue_or_revoke_sent_twice_shows_the_document_as_it_now_stands(
    client_a, mission_a, etd_signer, step, language
):
    # given a paid request (or an issued document) which a consul issues (or revokes) once
    block_allocate(mission_a)
    with schema_context(mission_a.schema_name):
        etd = etd_paid(mission_a) if step == "issue" else etd_issued(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    path = f"/staff/etd/{etd.reference}/{step}/"
    data = {"reason": "The passport was found."} if step == "revoke" else {}
    assert client_a.post(path, data).status_code == 302
    with schema_context(mission_a.schema_name):
        rows = etd.history.count()
        number = EmergencyTravelDocument.objects.get(pk=etd.pk).number
    # when the same form comes again
    again = client_a.post(path, data, HTTP_ACCEPT_LANGUAGE=language)
    # then it leads to the document as it stands, saying it was recorded already
    assert again.status_code == 302
    assert again["Location"] == f"/staff/etd/{etd.reference}/"
    page = client_a.get(again["Location"], HTTP_ACCEPT_LANGUAGE=language).content
    assert texts_of(page, "li", class_="message info") == [RECORDED[language]]
    assert not texts_of(page, "li", class_="message error")
    # and nothing was issued or revoked twice (no second number taken)
    with schema_context(mission_a.schema_name):
        assert etd.history.count() == rows
        assert EmergencyTravelDocument.objects.get(pk=etd.pk).number == number


def test_revoking_a_document_never_issued_is_still_refused(client_a, mission_a):
    # given a request not issued yet
    with schema_context(mission_a.schema_name):
        etd = etd_paid(mission_a)
    login_with_second_factor(client_a, make_staff(mission_a, "consul"))
    # when a consul's revocation is sent for it
    response = client_a.post(
        f"/staff/etd/{etd.reference}/revoke/", {"reason": "Found."}, HTTP_ACCEPT_LANGUAGE="tr"
    )
    # then it is refused, saying why, and nothing changes
    assert response.status_code == 400
    said = text_of(response.content, "li", class_="message error")
    assert said == "Bu kayıt “Talep edildi” durumunda ve “İptal edildi” durumuna geçemez."
    with schema_context(mission_a.schema_name):
        assert EmergencyTravelDocument.objects.get(pk=etd.pk).status == EtdStatus.REQUESTED


def test_the_staff_list_costs_the_same_queries_for_few_or_many(client_a, mission_a, settled_keys):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seed_fee_reference()
    officer = make_staff(mission_a, "officer")
    login_with_second_factor(client_a, officer)

    def record(count: int) -> int:
        for _ in range(count):
            assert client_a.post("/staff/etd/request/", _values(mission_a)).status_code == 302
        with CaptureQueriesContext(connection) as queries:
            page = client_a.get("/staff/etd/")
        assert page.status_code == 200
        return len(queries)

    few = record(2)
    many = record(6)
    assert many == few


def test_an_empty_request_names_every_missing_field_at_once(client_a, mission_a):
    from tests.conftest import MODEL_BACKEND
    from tests.factories import UserFactory

    client_a.force_login(UserFactory(), backend=MODEL_BACKEND)
    response = client_a.post("/etd/", {"surname": ""})
    assert response.status_code == 400
    html = response.content.decode()
    # each field with its own message, not only the first
    assert html.count("This is needed.") >= 4
    # and all named in the form's error summary, each linked to an element of the page (the
    # lost-or-stolen choice by its group), with no banner repeating the first
    from tests.conftest import error_summary, texts_of

    named = error_summary(html)
    assert len(named) >= 5
    for link, _text in named:
        assert f'id="{link[1:]}"' in html
    assert "#id_report_kind" in [link for link, _text in named]
    assert 'aria-describedby="id_report_kind_errors"' in html
    assert not texts_of(html, "li", class_="message error")
    # each field's reason beside it is tied to its input, as every form draws it
    # (_form_field.html); only the fields the service lets stay empty say "(optional)", though
    # the form leaves every field to the service
    from tests.conftest import widget_refused

    for field in ("surname", "birth_date", "destination_city", "journey_date"):
        assert widget_refused(html, f"id_{field}")
    assert text_of(html, "ul", id="id_surname_errors") == "This is needed."
    optional = [label for label in texts_of(html, "label") if label.endswith("(optional)")]
    assert optional == [
        "Given names (optional)",
        "What happened (where, when; a police reference for a theft) (optional)",
    ]


@pytest.mark.parametrize(
    ("language", "email", "surname"),
    [
        ("en", "The holder's e-mail (optional)", "Surname"),
        ("tr", "Belge sahibinin e-postası (isteğe bağlı)", "Soyadı"),
    ],
)
def test_the_counter_form_calls_only_what_may_stay_empty_optional(
    client_a, mission_a, language, email, surname
):
    login_with_second_factor(client_a, make_staff(mission_a, "officer"))
    html = client_a.get("/staff/etd/request/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert text_of(html, "label", **{"for": "id_email"}) == email
    assert text_of(html, "label", **{"for": "id_surname"}) == surname


def test_the_fields_marked_needed_are_those_the_service_refuses_empty(mission_a):
    # given a request the service accepts
    from consulate.kernel.errors import ApplicationError
    from passports.services.etd import etd_request_clean
    from passports.views_etd import EtdRequestForm

    with schema_context(mission_a.schema_name):
        values = request_values()
        etd_request_clean(values)
        # when each field of the form is sent empty in turn
        refused_empty: dict[str, set[str]] = {}
        for name in EtdRequestForm.base_fields:
            try:
                etd_request_clean({**values, name: ""})
            except ApplicationError as error:
                refused_empty[name] = set(error.errors)
    # then each is refused for itself alone
    assert all(fields == {name} for name, fields in refused_empty.items())
    # and the form marks exactly those needed, so the page calls only the others optional
    assert set(refused_empty) == set(EtdRequestForm.NEEDED)
    assert set(EtdRequestForm.base_fields) - set(refused_empty) == {"given_names", "circumstances"}
