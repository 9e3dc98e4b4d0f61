"""Each host serves the OpenAPI schema of its own endpoints: HQ's documents HQ's operations
only, a mission's only the mission's, and every documented path exists on that host."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import Resolver404, resolve
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

HQ_URLCONF = "consulate.urls_hq"
MISSION_URLCONF = "consulate.urls_mission"


def schema_of(client: Client) -> dict[str, Any]:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def resolves(path: str, urlconf: str) -> bool:
    """Whether the documented path (its {parameters} filled in) has a view on that URLconf."""
    try:
        resolve(re.sub(r"\{[^}]+\}", "X1", path), urlconf=urlconf)
    except Resolver404:
        return False
    return True


def test_hq_documents_its_own_operations_only(client_hq):
    # when HQ's schema is fetched from HQ's host
    paths = schema_of(client_hq)["paths"]
    # then it documents the mission directory, and nothing that HQ's host would answer 404
    assert "get" in paths["/api/v1/missions/"]
    assert [path for path in paths if not resolves(path, HQ_URLCONF)] == []
    assert not any(path.startswith("/api/v1/appointments/") for path in paths)
    assert "/api/v1/mission/" not in paths


def test_a_mission_documents_its_own_operations_only(client_a):
    # when a mission's schema is fetched from the mission's host
    paths = schema_of(client_a)["paths"]
    # then it documents the mission's profile and appointments, and no HQ operation
    assert "get" in paths["/api/v1/mission/"]
    assert "post" in paths["/api/v1/appointments/bookings/"]
    assert [path for path in paths if not resolves(path, MISSION_URLCONF)] == []
    assert "/api/v1/missions/" not in paths


def test_each_host_describes_itself(client_hq, client_a):
    assert "HQ" in schema_of(client_hq)["info"]["description"]
    assert "mission" in schema_of(client_a)["info"]["description"]


def test_the_swagger_ui_reads_the_schema_of_its_own_host(client_hq, client_a):
    for client in (client_hq, client_a):
        page = client.get("/api/docs/").content.decode()
        assert 'url: "/api/schema/"' in page


def generator_warnings(urlconf: str) -> list[str]:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    return sorted(GENERATOR_STATS._warn_cache) + sorted(GENERATOR_STATS._error_cache)


def test_hq_schema_generates_without_warnings():
    assert generator_warnings(HQ_URLCONF) == []


def test_mission_schema_generates_without_warnings():
    assert generator_warnings(MISSION_URLCONF) == []
