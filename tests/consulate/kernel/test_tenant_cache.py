"""The host's mission comes from the cache (consulate/kernel/tenancy.py), and a change to a
mission or its domains shows on the next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consulate.kernel import cache as kernel_cache
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


@pytest.fixture
def _local_copy(settings):
    settings.CONSULATE_TENANT_LOCAL_SECONDS = 2


def _shared_reads(monkeypatch) -> list[str]:
    """The keys the tenant middleware asks the shared cache for."""
    from consulate.kernel import tenancy

    asked: list[str] = []
    original = tenancy.cache.get

    def counting(key, *args, **kwargs):
        asked.append(key)
        return original(key, *args, **kwargs)

    monkeypatch.setattr(tenancy.cache, "get", counting)
    return asked


@pytest.mark.usefixtures("_local_copy")
def test_within_its_seconds_the_mission_comes_from_this_process_without_a_round_trip(
    mission_a, monkeypatch
):
    client = host_client("alpha.localhost")
    asked = _shared_reads(monkeypatch)
    client.get("/")
    client.get("/")
    client.get("/")
    tenant_keys = [key for key in asked if key.startswith("tenant-by-host:")]
    assert tenant_keys == ["tenant-by-host:alpha.localhost"]


@pytest.mark.usefixtures("_local_copy")
def test_a_change_through_another_process_shows_once_the_copy_lapses(mission_a, monkeypatch):
    from missions.models import Mission

    client = host_client("alpha.localhost")
    assert "Renamed elsewhere" not in client.get("/").content.decode()
    # another process renames the mission: its signal empties the shared cache, not this
    # process's copy (the row is changed here behind the ORM's signals)
    Mission.objects.filter(pk=mission_a.pk).update(name_en="Renamed elsewhere")
    from django.core.cache import cache

    cache.delete("tenant-by-host:alpha.localhost")
    assert "Renamed elsewhere" not in client.get("/").content.decode()
    # two seconds later this process asks the shared cache again
    later = kernel_cache._clock() + 2.1
    monkeypatch.setattr(kernel_cache, "_clock", lambda: later)
    assert "Renamed elsewhere" in client.get("/").content.decode()


@pytest.mark.usefixtures("_local_copy")
def test_a_change_made_in_this_process_shows_at_once(mission_a):
    client = host_client("alpha.localhost")
    client.get("/")
    mission_update(mission=mission_a, name_en="Renamed here", acting_user=SYSTEM)
    assert "Renamed here" in client.get("/").content.decode()


@pytest.mark.usefixtures("_local_copy")
def test_each_request_gets_its_own_mission_instance(mission_a):
    client = host_client("alpha.localhost")
    first = client.get("/").wsgi_request.tenant
    first.name_en = "Set by one request only"
    second = client.get("/")
    assert second.wsgi_request.tenant is not first
    assert second.wsgi_request.tenant.name_en != "Set by one request only"
    assert "Set by one request only" not in second.content.decode()
