"""Demo data of the appointments app: a catalogue, counters, hours and open slots at every demo
mission; at Berlin one service released on a schedule and one by lottery (with a past, drawn
round anyone can verify and an open one to register for). Seeded as SYSTEM, through the services.
Idempotent: a mission that already has services is left alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from consulate import demo
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Mission

from . import services
from .models import ReleaseMode, Service, ServicePurpose

# code, name (English, Turkish), duration, buffer, people per booking, horizon, notice (h),
# cutoff (h)
CATALOGUE: list[tuple[str, str, str, int, int, int, int, int, int]] = [
    ("passport", "Passport application", "Pasaport başvurusu", 30, 5, 4, 60, 12, 24),
    ("passport-collection", "Passport collection", "Pasaport teslim alma", 10, 0, 1, 30, 2, 2),
    ("id-card", "ID card", "Kimlik kartı", 20, 5, 4, 60, 12, 24),
    ("visa", "Visa submission", "Vize başvurusu", 20, 5, 1, 45, 24, 24),
    ("notarial", "Notarial act", "Noterlik işlemi", 30, 0, 2, 60, 24, 24),
    (
        "civil-registration", "Civil registration (birth, marriage)",
        "Nüfus kaydı (doğum, evlilik)", 40, 5, 4, 60, 24, 24,
    ),
    (
        "emergency-travel", "Emergency travel document", "Acil durum seyahat belgesi",
        30, 0, 1, 7, 1, 1,
    ),
]  # fmt: skip


# the services the passport and visa cases book their visits through
PURPOSES = {
    "passport": ServicePurpose.PASSPORT,
    "passport-collection": ServicePurpose.PASSPORT_COLLECTION,
    "emergency-travel": ServicePurpose.EMERGENCY_TRAVEL_DOCUMENT,
    "visa": ServicePurpose.VISA,
}


def _mission(mission: Mission, stdout: Any) -> None:
    if Service.objects.exists():
        return
    stdout.write(f"appointments: catalogue, hours and slots at {mission.code}")
    counters = [services.counter_create(name=f"Counter {n}", acting_user=SYSTEM) for n in (1, 2, 3)]
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for entry in mission.office_hours:
        by_day.setdefault(entry["weekday"], []).append(
            (dt.time.fromisoformat(entry["opens"]), dt.time.fromisoformat(entry["closes"]))
        )
    for weekday, spans in by_day.items():
        services.opening_hours_set(weekday=weekday, spans=spans, acting_user=SYSTEM)
    for code, name, name_tr, duration, buffer, persons, horizon, notice, cutoff in CATALOGUE:
        mode = ReleaseMode.OPEN
        if mission.code == "berlin" and code == "id-card":
            mode = ReleaseMode.SCHEDULED
        # the visa appointment is booked from the visa application (BOOKED_FROM_CASE), so the
        # demo's draw gives out notarial acts
        if mission.code == "berlin" and code == "notarial":
            mode = ReleaseMode.LOTTERY
        serving = counters[:1] if code in ("emergency-travel", "notarial") else counters
        purpose = PURPOSES.get(code, ServicePurpose.NONE)
        service = services.service_create(
            code=code, name=name, name_tr=name_tr, counters=serving, acting_user=SYSTEM,
            duration_minutes=duration, buffer_minutes=buffer, max_persons=persons,
            horizon_days=horizon, min_notice_hours=notice, cancel_cutoff_hours=cutoff,
            release_mode=mode, release_lead_days=7, release_time=dt.time(8, 0), purpose=purpose,
        )  # fmt: skip
        services.slot_generate(service=service, acting_user=SYSTEM)
    if mission.code == "berlin":
        _berlin_lotteries(mission)


def _berlin_lotteries(mission: Mission) -> None:
    service = Service.objects.get(code="notarial")
    now = timezone.now()
    today = mission.today()
    # A round whose registration has closed, with the demo citizens entered, drawn.
    past = services.lottery_round_create(
        service=service,
        period_start=today + dt.timedelta(days=3),
        period_end=today + dt.timedelta(days=4),
        window_opens_at=now - dt.timedelta(days=3),
        window_closes_at=now - dt.timedelta(minutes=1),
        acting_user=SYSTEM,
    )
    for n, (email, first, last, language) in enumerate(demo.CITIZENS):
        user = User.objects.filter(email=email).first()
        if user is not None:
            services.lottery_enter(
                lottery_round=past,
                person=services.PersonInput(
                    f"{first} {last}", dt.date(1985, 3, 14), f"DEMO{n:05d}"
                ),
                user=user,
                language=language,
                acting_user=user,
                now=now - dt.timedelta(days=2),
            )
    services.lottery_draw(lottery_round=past, acting_user=SYSTEM)
    # An open round to register for.
    services.lottery_round_create(
        service=service,
        period_start=today + dt.timedelta(days=14),
        period_end=today + dt.timedelta(days=18),
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(days=7),
        acting_user=SYSTEM,
    )


def seed_demo(*, stdout: Any) -> None:
    for mission in Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(
        code__in=[m["code"] for m in demo.MISSIONS]
    ):
        with schema_context(mission.schema_name):
            _mission(mission, stdout)
            # HQ's wait times and dashboard know each service's next free appointment from the
            # first push, not an hour later when beat extends the slots and reports again
            services.availability_report(mission=mission, acting_user=SYSTEM)
