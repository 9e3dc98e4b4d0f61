"""HQ's pages cost a fixed number of queries, whatever the number of missions."""

from allauth.mfa.totp.internal.auth import TOTP
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import MODEL_BACKEND
from tests.factories import MembershipFactory, MissionFactory


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
