"""HQ's pages cost a fixed number of queries, whatever the number of missions; a mission's
staff dashboard and sync page, whatever the number of its staff and events."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consulate.kernel.actors import SYSTEM
from missions.services import membership_grant
from tests.conftest import MODEL_BACKEND, host_client, make_staff
from tests.factories import MembershipFactory, MissionFactory, UserFactory

pytestmark = pytest.mark.usefixtures("settled_keys")


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_directory_and_hq_dashboard_do_not_grow_with_missions(client_hq, hq_analyst):
    # given an analyst looking at HQ's pages
    TOTP.activate(hq_analyst, "JBSWY3DPEHPK3PXP")
    client_hq.force_login(hq_analyst, backend=MODEL_BACKEND)
    client_hq.get("/")  # the session's first write (then at most once a minute)
    before = {path: count_queries(client_hq, path) for path in ("/", "/hq/", "/api/v1/missions/")}
    # when three more missions, with staff, open
    for n in range(3):
        MembershipFactory(mission=MissionFactory(code=f"qc{n}"))
    # then each page costs the same number of queries
    after = {path: count_queries(client_hq, path) for path in before}
    assert after == before


# The host's domain with the two search_path switches around it (3) and the user with their roles
# and second factor (1), then each page's own: the dashboard's other missions and staff list (2)
# and the reference data's age (1); the sync page's link with its outbox counter and
# unacknowledged bundles (1) and the reference data's age (1, `sync.reference.reference_age`).
QUERIES_STAFF_DASHBOARD = 7
QUERIES_MISSION_SYNC_PAGE = 6


def test_a_missions_staff_dashboard_and_sync_page_cost_a_fixed_number_of_queries(
    mission_a, django_assert_num_queries
):
    # given a mission admin at alpha, with the reference data's age shown on both pages
    admin = make_staff(mission_a, "mission_admin")
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    client = host_client(mission_a.host)
    client.force_login(admin, backend=MODEL_BACKEND)
    client.get("/staff/")  # the session's first write
    with django_assert_num_queries(QUERIES_STAFF_DASHBOARD):
        assert "reference-age" in client.get("/staff/").content.decode()
    with django_assert_num_queries(QUERIES_MISSION_SYNC_PAGE):
        assert "reference-age" in client.get("/staff/sync/").content.decode()
    # when more staff join and more events wait for HQ
    for _ in range(3):
        membership_grant(user=UserFactory(), mission=mission_a, role="cashier", acting_user=SYSTEM)
    # then the pages cost the same
    with django_assert_num_queries(QUERIES_STAFF_DASHBOARD):
        client.get("/staff/")
    with django_assert_num_queries(QUERIES_MISSION_SYNC_PAGE):
        client.get("/staff/sync/")
