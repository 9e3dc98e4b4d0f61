"""HQ admins create missions in Django's admin, through mission_create."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from missions.models import Domain, Mission
from sync.models import OutboxEvent
from tests.conftest import MODEL_BACKEND
from tests.factories import UserFactory

FORM = {
    "code": "oslo", "name": "Embassy in Oslo", "kind": "embassy", "host_country": "NO",
    "city": "Oslo", "timezone": "Europe/Oslo", "currency": "NOK", "languages": "no,tr",
    "address": "", "phone": "", "email": "", "website": "", "jurisdiction": "",
    "office_hours": "[]", "status": "active",
}  # fmt: skip


@pytest.fixture
def admin_client(client_hq):
    admin = UserFactory(hq_role="admin", is_staff=True, is_superuser=True)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(admin, backend=MODEL_BACKEND)
    return client_hq


def test_an_hq_admin_creates_a_mission_with_its_schema_and_host(admin_client):
    response = admin_client.post("/admin/missions/mission/add/", FORM)
    assert response.status_code == 302
    mission = Mission.objects.get(code="oslo")
    assert schema_exists("oslo")
    assert Domain.objects.filter(tenant=mission, domain="oslo.localhost").exists()
    assert mission.history.get().history_user_id is not None


def test_bad_input_in_the_admin_is_shown_and_creates_nothing(admin_client):
    response = admin_client.post("/admin/missions/mission/add/", FORM | {"timezone": "Oslo"})
    assert response.status_code == 200
    assert "is not an IANA time zone" in response.content.decode()
    assert not Mission.objects.filter(code="oslo").exists()


def test_a_code_whose_schema_exists_is_a_form_error_not_a_crash(admin_client):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "oslo"')
    response = admin_client.post("/admin/missions/mission/add/", FORM)
    assert response.status_code == 200
    assert "already used by a database schema" in response.content.decode()
    assert not Mission.objects.filter(code="oslo").exists()


def test_kind_hq_is_not_offered_when_creating(admin_client):
    page = admin_client.get("/admin/missions/mission/add/").content.decode()
    assert 'value="embassy"' in page
    assert 'value="hq"' not in page


def test_editing_a_mission_in_the_admin_goes_through_the_service(admin_client, mission_a):
    # given alpha's outbox
    with schema_context(mission_a.schema_name):
        events_before = OutboxEvent.objects.count()
    # when the admin suspends it and renames it (and tries to change its currency)
    response = admin_client.post(
        f"/admin/missions/mission/{mission_a.pk}/change/",
        FORM | {"code": "alpha", "name": "Consulate-General (temporarily closed)",
                "status": "suspended", "currency": "USD", "languages": "de,tr,en"},
    )  # fmt: skip
    # then the change is saved with history and one outbox event; the currency is untouched
    assert response.status_code == 302
    mission_a.refresh_from_db()
    assert (mission_a.status, mission_a.currency) == ("suspended", "EUR")
    assert mission_a.history.latest().history_user_id is not None
    with schema_context(mission_a.schema_name):
        event = OutboxEvent.objects.latest("seq")
        assert OutboxEvent.objects.count() == events_before + 1
    assert event.topic == "missions.mission.updated"
    assert "status" in event.payload["fields"]


def test_domains_are_read_only_and_missions_cannot_be_deleted(admin_client, mission_a):
    assert admin_client.get("/admin/missions/domain/add/").status_code == 403
    assert admin_client.post(f"/admin/missions/mission/{mission_a.pk}/delete/").status_code == 403


def test_granting_a_role_in_the_admin_writes_its_event(admin_client, mission_a):
    colleague = UserFactory()
    response = admin_client.post(
        "/admin/missions/membership/add/",
        {"user": colleague.pk, "mission": mission_a.pk, "role": "consul", "is_active": "on"},
    )
    assert response.status_code == 302
    with schema_context(mission_a.schema_name):
        event = OutboxEvent.objects.latest("seq")
    assert (event.topic, event.payload["role"]) == ("missions.membership.granted", "consul")
