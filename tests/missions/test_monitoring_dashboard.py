"""HQ monitoring's pages (docs/monitoring.md): the dashboard over every mission, its filters,
sort and CSV, the weekly trends, a mission's page, the alerts; asserted on the rendered text,
in English and Turkish, for a mission east of UTC and one west of it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from consulate.kernel.accounts.models import HqRole
from missions.models import Mission
from missions.services import mission_update
from sync.hq.models import MissionLink
from tests.conftest import text_of
from tests.missions.test_sync_pages import _hq_client

pytestmark = pytest.mark.django_db


def _contact(code: str, *, minutes_ago: int) -> None:
    MissionLink.objects.update_or_create(
        mission=code,
        defaults={"last_contact_at": timezone.now() - dt.timedelta(minutes=minutes_ago)},
    )


def test_smoke(mission_a, mission_b):
    _contact("alpha", minutes_ago=200)
    client = _hq_client()
    for path in ("/hq/", "/hq/trends/", "/hq/missions/alpha/", "/hq/missions.csv", "/hq/trends.csv", "/hq/missions/alpha/trends.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        open(f"/tmp/smoke/{path.strip('/').replace('/', '_') or 'root'}.html", "wb").write(response.content)
