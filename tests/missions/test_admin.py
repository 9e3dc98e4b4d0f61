"""HQ admins create missions in Django's admin, through mission_create."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django_tenants.utils import schema_exists

from missions.models import Domain, Mission
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
