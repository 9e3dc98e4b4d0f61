"""The host's mission comes from the cache (consulate/kernel/tenancy.py), and a change to a
mission or its domains shows on the next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consulate.kernel.actors import SYSTEM
from missions.models import Domain
from missions.services import mission_update
from tests.conftest import host_client


@pytest.fixture(autouse=True)
def _cache_on(settings):
    from django.core.cache import cache

    settings.CONSULATE_TENANT_CACHE_SECONDS = 300
    cache.clear()


def _domain_reads(client, path="/") -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    reads = sum(1 for q in queries.captured_queries if "missions_domain" in q["sql"])
    return reads, response.content.decode()


def test_the_mission_is_read_once_then_comes_from_the_cache(mission_a):
    client = host_client("alpha.localhost")
    assert _domain_reads(client)[0] == 1
    assert _domain_reads(client)[0] == 0


def test_a_changed_mission_shows_on_the_next_request(mission_a):
    # given a mission whose page has been served (and cached)
    client = host_client("alpha.localhost")
    _, page = _domain_reads(client)
    assert "Renamed consulate" not in page
    # when HQ renames it
    mission_update(mission=mission_a, name_en="Renamed consulate", acting_user=SYSTEM)
    # then the next request reads it again and shows the new name
    reads, page = _domain_reads(client)
    assert reads == 1
    assert "Renamed consulate" in page


def test_a_removed_domain_stops_serving_the_mission_at_once(mission_a):
    client = host_client("alpha.localhost")
    assert client.get("/").status_code == 200
    Domain.objects.filter(domain="alpha.localhost").delete()
    response = client.get("/")
    assert response.status_code == 404
