"""The demo's six missions carry English and Turkish names, cities and addresses; seeding twice
changes nothing, and a demo seeded before names or cities had a Turkish value gets them."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.utils import translation

from consulate import demo
from missions.models import Mission


def test_the_demo_missions_have_turkish_names_and_addresses_without_the_country(db, settings):
    # given demo mode
    settings.DEMO_MODE = True
    # when the demo is seeded
    call_command("seed_demo", "--no-banner", stdout=io.StringIO())
    # then every demo mission reads in Turkish, its address ending with the country in Turkish
    missions = {
        m.code: m for m in Mission.objects.filter(code__in=[p["code"] for p in demo.MISSIONS])
    }
    assert len(missions) == 6
    with translation.override("tr"):
        assert missions["tokyo"].name == "Tokyo Büyükelçiliği"
        assert missions["berlin"].name == "Berlin Başkonsolosluğu"
        assert [missions[code].city for code in ("london", "sydney", "kuwait", "tokyo")] == [
            "Londra", "Sidney", "Kuveyt", "Tokyo",
        ]  # fmt: skip
        assert missions["kuwait"].postal_address.endswith("\nKuveyt")
        assert missions["newyork"].postal_address.endswith("\nAmerika Birleşik Devletleri")
    with translation.override("en"):
        assert (
            missions["tokyo"].postal_address == "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001\nJapan"
        )
        assert missions["london"].city == "London"
    # and no address names its country itself (pages add it in the reader's language)
    for mission in missions.values():
        last_lines = {mission.address_en.splitlines()[-1], mission.address_tr.splitlines()[-1]}
        with translation.override("en"):
            assert mission.country_name not in last_lines
        with translation.override("tr"):
            assert mission.country_name not in last_lines

    # when an older demo lacks the Turkish values and is seeded again
    Mission.objects.filter(code="tokyo").update(name_tr=None, address_tr=None)
    Mission.objects.filter(code="london").update(city_tr=None)
    out = io.StringIO()
    call_command("seed_demo", "--no-banner", stdout=out)
    # then they are filled in, and nothing else is created
    tokyo = Mission.objects.get(code="tokyo")
    assert (tokyo.name_tr, tokyo.address_tr) == (
        "Tokyo Büyükelçiliği",
        "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001",
    )
    london = Mission.objects.get(code="london")
    assert (london.city_en, london.city_tr) == ("London", "Londra")
    assert "nothing created" in out.getvalue()


def test_the_demo_missions_report_their_services_availability_at_once(db, settings):
    from django_tenants.utils import schema_context

    from sync.models import OutboxEvent

    # given demo mode, when the demo is seeded
    settings.DEMO_MODE = True
    call_command("seed_demo", "--no-banner", stdout=io.StringIO())
    # then each mission's first push tells HQ each service's availability, with its names
    # (HQ's public wait times need not wait for beat's hourly report)
    tokyo = Mission.objects.get(code="tokyo")
    with schema_context(tokyo.schema_name):
        reports = list(
            OutboxEvent.objects.filter(topic="appointments.service.availability_reported")
        )
    services = {report.payload["service"]: report.payload for report in reports}
    assert "passport" in services
    assert services["passport"]["names"]["tr"]
    assert services["passport"]["next_bookable"] is not None
