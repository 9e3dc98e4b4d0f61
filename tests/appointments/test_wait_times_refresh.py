"""HQ's wait times follow a closure or new opening hours at once: a closure added for the next
free day at Tokyo left `/wait-times/?q=Tokyo` and HQ's dashboard showing that day's 09:00 as
the next free time until the hourly report (a user trial). A change that removes free times in
bulk reports the mission's availability when it commits (`availability_report_nudge`); here
the report travels to HQ as sync carries it and HQ's page is read, for a mission east of UTC
(Tokyo) and one west (New York), in English and Turkish."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context

from appointments import services
from appointments.models import ClosureKind
from appointments.selectors import slot_list_available
from consulate.kernel import reference
from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from tests.appointments.factories import build_catalogue
from tests.appointments.hq_data import project
from tests.conftest import texts_of
from tests.registers import outbox_on_the_wire

REPORTED = "appointments.service.availability_reported"


def _closed_by_closure(day: dt.date) -> None:
    services.closure_create(
        date=day, kind=ClosureKind.EMERGENCY, reason="Typhoon", acting_user=SYSTEM
    )


def _closed_by_hours(day: dt.date) -> None:
    services.opening_hours_set(weekday=day.weekday(), spans=[], acting_user=SYSTEM)


@pytest.mark.parametrize("close", [_closed_by_closure, _closed_by_hours])
@pytest.mark.parametrize("zone_name", ["Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize("language", ["en", "tr"])
def test_hq_wait_times_stop_showing_a_day_closed_since_the_last_report(
    mission_b, client_hq, eager_tasks, django_capture_on_commit_callbacks, close, zone_name,
    language,
):  # fmt: skip
    # given Tokyo (or a mission moved west of UTC) whose hourly report HQ shows: the next free
    # time is the first slot of the next open day
    Mission.objects.filter(pk=mission_b.pk).update(timezone=zone_name)
    mission = Mission.objects.get(pk=mission_b.pk)
    with schema_context(mission.schema_name):
        service = build_catalogue(days=6, name="Passport", name_tr="Pasaport")
        services.availability_report(mission=mission, acting_user=SYSTEM)
        first = slot_list_available(service=service)[0]
        day = first.starts_at.astimezone(mission.zone).date()
        # when the mission closes that day (a closure, or no hours on its weekday)
        with django_capture_on_commit_callbacks(execute=True):
            close(day)
        after = slot_list_available(service=service)[0]
        events = outbox_on_the_wire(REPORTED)
    connection.set_schema_to_public()
    project(mission.code, events)  # sync's next push (every minute) carries the new report
    cache.clear()  # the page keeps its figures a minute
    # then HQ's public wait times show the next free time after the closed day
    page = client_hq.get(
        "/wait-times/", {"q": "Tokyo"}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert after.starts_at.astimezone(mission.zone).date() != day

    def written(moment: dt.datetime) -> str:
        local = moment.astimezone(mission.zone)
        with translation.override(language):
            return f"{reference.day_written_short(local)}, {local:%H:%M} ({zone_name})"

    (row,) = [texts_of(f"<tr>{row}", "td") for row in page.split("<tbody", 1)[1].split("<tr")[1:]]
    assert row[3] == ("Pasaport" if language == "tr" else "Passport")
    assert row[4].startswith(written(after.starts_at))
    assert written(first.starts_at) not in page
