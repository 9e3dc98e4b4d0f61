"""A request is scoped to its host's mission; another mission's anything answers 404."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django_tenants.utils import schema_context

from consulate.kernel.actors import SYSTEM
from missions.events import MissionTopic
from sync.models import OutboxEvent
from sync.services import outbox_event_record
from tests.conftest import MODEL_BACKEND, make_staff


def login_with_second_factor(client, user):
    if not user.authenticator_set.filter(type="totp").exists():
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    client.force_login(user, backend=MODEL_BACKEND)


def test_staff_reach_their_own_mission(client_a, officer_a):
    login_with_second_factor(client_a, officer_a)
    response = client_a.get("/staff/")
    assert response.status_code == 200
    assert officer_a.email in response.content.decode()


def test_staff_of_one_mission_get_404_at_another(client_b, officer_a):
    # given an officer of alpha, logged in on beta's host
    login_with_second_factor(client_b, officer_a)
    # when they open beta's staff area
    response = client_b.get("/staff/")
    # then it does not exist for them: 404, not 403
    assert response.status_code == 404


def test_a_revoked_membership_loses_access(client_a, mission_a, officer_a):
    from missions.models import Membership
    from missions.services import membership_revoke

    login_with_second_factor(client_a, officer_a)
    membership_revoke(
        membership=Membership.objects.get(user=officer_a, mission=mission_a), acting_user=SYSTEM
    )
    assert client_a.get("/staff/").status_code == 404


def test_hq_analyst_reads_every_mission(client_a, client_b, hq_analyst):
    for client in (client_a, client_b):
        login_with_second_factor(client, hq_analyst)
        assert client.get("/staff/").status_code == 200


def test_citizens_have_no_staff_area(client_a, citizen):
    client_a.force_login(citizen, backend=MODEL_BACKEND)
    assert client_a.get("/staff/").status_code == 404


def test_anonymous_staff_area_asks_to_log_in(client_a):
    response = client_a.get("/staff/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_hq_dashboard_is_only_for_hq_roles(client_hq, officer_a, hq_analyst):
    login_with_second_factor(client_hq, officer_a)
    assert client_hq.get("/hq/").status_code == 404
    client_hq.logout()
    login_with_second_factor(client_hq, hq_analyst)
    assert client_hq.get("/hq/").status_code == 200


def test_hq_pages_do_not_exist_on_a_mission_host(client_a, hq_analyst):
    login_with_second_factor(client_a, hq_analyst)
    assert client_a.get("/hq/").status_code == 404
    assert client_a.get("/admin/").status_code == 404


def test_events_written_in_one_mission_are_invisible_in_the_other(mission_a, mission_b):
    # given an event recorded in alpha
    with schema_context(mission_a.schema_name), transaction.atomic():
        event = outbox_event_record(
            topic=MissionTopic.MISSION_UPDATED,
            aggregate_id=mission_a.pk,
            payload={"fields": ["secret"], "status": "active"},
            acting_user=SYSTEM,
        )
    # then beta's outbox does not have it, and alpha's does
    with schema_context(mission_b.schema_name):
        assert not OutboxEvent.objects.filter(payload__fields=["secret"]).exists()
    with schema_context(mission_a.schema_name):
        assert OutboxEvent.objects.filter(pk=event.pk, payload__fields=["secret"]).exists()


def test_each_host_serves_its_own_mission_profile(client_a, client_b):
    assert client_a.get("/api/v1/mission/").json()["code"] == "alpha"
    assert client_b.get("/api/v1/mission/").json()["code"] == "beta"


def test_an_unknown_host_gets_a_friendly_404(db):
    from django.test import Client

    response = Client(HTTP_HOST="nowhere.localhost").get("/")
    assert response.status_code == 404
    assert "No such mission" in response.content.decode()


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "beta.localhost"])
def test_openapi_schema_and_health_are_served_on_every_host(db, host):
    from django.test import Client

    client = Client(HTTP_HOST=host)
    assert client.get("/api/schema/").status_code == 200
    health = client.get("/health/")
    assert health.json()["database"] == "ok"


def test_the_directory_lists_missions_and_filters_by_country_and_city(client_hq):
    everything = client_hq.get("/api/v1/missions/").json()
    assert {"alpha", "beta"} <= {m["code"] for m in everything}
    assert [m["code"] for m in client_hq.get("/api/v1/missions/?country=JP").json()] == ["beta"]
    assert [m["code"] for m in client_hq.get("/api/v1/missions/?q=tokyo").json()] == ["beta"]
    page = client_hq.get("/?country=DE").content.decode()
    assert "Consulate-General in Berlin" in page
    assert "Embassy in Tokyo" not in page


def test_staff_list_shows_only_this_missions_staff(client_a, mission_a, mission_b, officer_a):
    other = make_staff(mission_b, "cashier")
    login_with_second_factor(client_a, officer_a)
    page = client_a.get("/staff/").content.decode()
    assert officer_a.email in page
    assert other.email not in page
