"""Demo reference data for fees: HQ's fee schedule, exchange rates against the base currency
and rounding rules (and the exemption categories waivers need). Idempotent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.tenancy import use_public_schema

from .money import Money
from .reference.models import (
    ExchangeRate,
    ExemptionCategory,
    FeeScheduleEntry,
    RoundingRule,
    base_currency,
)
from .reference.services import (
    ExemptionCategoryInput,
    exchange_rate_record,
    exemption_category_set,
    fee_schedule_entry_publish,
    rounding_rule_set,
)

VALID_FROM = dt.date(2026, 1, 1)
# base-currency amounts as decimal strings (converted exactly to minor units)
SCHEDULE = {
    "passport_application": "95.00",
    "passport_collection": "10.00",
    "id_card": "25.00",
    "visa": "80.00",
    "notarial_act": "30.00",
    "emergency_travel_document": "50.00",
    "express": "40.00",
    "courier": "15.00",
}
# units of each currency per one unit of the base currency (EUR by default)
RATES = {
    "EUR": Decimal("1"),
    "JPY": Decimal("172.35"),
    "KWD": Decimal("0.3571"),
    "USD": Decimal("1.0842"),
    "GBP": Decimal("0.8563"),
    "AUD": Decimal("1.6621"),
}
# (increment in minor units, mode): JPY to 100 yen up, KWD to 50 fils, USD up to a dollar...
ROUNDING = {
    "JPY": (100, "up"),
    "KWD": (50, "half_up"),
    "USD": (100, "up"),
    "GBP": (500, "up"),
    "AUD": (1000, "up"),
    "EUR": (1, "half_up"),
}
# (code, name in English, in Turkish, rule, age, nationalities, percent waived)
EXEMPTIONS = [
    (
        "child-under-6",
        "Children under 6",
        "6 yaşından küçük çocuklar",
        "child_under_age",
        6,
        "",
        100,
    ),
    (
        "diplomatic",
        "Diplomatic and official passports",
        "Diplomatik ve hizmet pasaportları",
        "diplomatic_official",
        None,
        "",
        100,
    ),
    ("humanitarian", "Humanitarian grounds", "İnsani gerekçeler", "humanitarian", None, "", 100),
    ("reciprocity", "Reciprocity", "Mütekabiliyet", "reciprocity", None, "JP KR", 100),
]


def seed_reference(*, acting_user: Any = SYSTEM) -> dict[str, int]:
    """Create what is missing; never change what is there. Returns counts created. Runs in the
    public schema, as SYSTEM unless told otherwise, through the reference services, in one
    transaction: the missions get it as one published version, not one per row."""
    use_public_schema()
    with transaction.atomic():
        return _seed_reference(acting_user)


def _seed_reference(acting_user: Any) -> dict[str, int]:
    base = base_currency()
    created = {"fees": 0, "rates": 0, "rounding": 0, "exemptions": 0}
    for service, amount in SCHEDULE.items():
        if not FeeScheduleEntry.objects.filter(
            service=service, visa_category="", nationality=""
        ).exists():
            fee_schedule_entry_publish(
                service=service,
                amount=Money.from_decimal(amount, base),
                valid_from=VALID_FROM,
                acting_user=acting_user,
            )
            created["fees"] += 1
    for currency, rate in RATES.items():
        if currency == base:
            continue
        if not ExchangeRate.objects.filter(currency=currency, base_currency=base).exists():
            exchange_rate_record(
                currency=currency,
                rate=rate,
                effective_date=VALID_FROM,
                acting_user=acting_user,
                source="demo",
            )
            created["rates"] += 1
    for currency, (increment, mode) in ROUNDING.items():
        if not RoundingRule.objects.filter(currency=currency).exists():
            rounding_rule_set(
                currency=currency, increment_minor=increment, mode=mode, acting_user=acting_user
            )
            created["rounding"] += 1
    for code, name, name_tr, rule, age, nationalities, percent in EXEMPTIONS:
        existing = ExemptionCategory.objects.filter(code=code).first()
        if existing is None:
            exemption_category_set(
                category=ExemptionCategoryInput(
                    code=code,
                    name=name,
                    name_tr=name_tr,
                    rule=rule,
                    age_under=age,
                    nationalities=nationalities,
                    percent_waived=percent,
                ),
                acting_user=acting_user,
            )
            created["exemptions"] += 1
        elif not existing.name_tr:
            # seeded before names had a Turkish value: add it, change nothing else
            exemption_category_set(
                category=ExemptionCategoryInput(
                    code=code,
                    name=existing.name_en or name,
                    name_tr=name_tr,
                    rule=existing.rule,
                    age_under=existing.age_under,
                    nationalities=existing.nationalities,
                    percent_waived=existing.percent_waived,
                    is_active=existing.is_active,
                ),
                acting_user=acting_user,
            )
    return created


def seed_demo(*, stdout: Any) -> None:
    created = seed_reference()
    if any(created.values()):
        stdout.write(
            f"Fees: {created['fees']} fee(s), {created['rates']} rate(s),"
            f" {created['rounding']} rounding rule(s), {created['exemptions']} exemption(s)"
        )
    mission = _demo_cases_seed()
    if mission:
        stdout.write(f"Fees: two waiver requests at {mission}, one refused, one open")


DEMO_CASES_REASON = "Demo: "


def _demo_cases_seed() -> str:
    """At the first demo mission that has a demo cashier and consul, once: a walk-in's fees
    assessed, a waiver asked for each of its two lines by the cashier, one refused by the
    consul, the other left open, so HQ monitoring shows a backlog and a decision once the
    mission has synced. Returns the mission's code, "" when nothing was made."""
    from django.conf import settings
    from django_tenants.utils import schema_context

    from consulate.kernel.actors import SYSTEM
    from missions.models import Membership, Mission
    from sync.reference import reference_mission_set_up, reference_publish

    from .models import Waiver
    from .services import assessment_create, waiver_decide, waiver_request

    for mission in Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by(
        "code"
    ):
        staff = {
            m.role: m.user
            for m in Membership.objects.filter(
                mission=mission,
                is_active=True,
                role__in=["cashier", "consul"],
                user__email__endswith=f"@{mission.code}.demo",
            ).select_related("user")
        }
        if set(staff) != {"cashier", "consul"}:
            continue
        # the fees just seeded reach the mission's own copy of the reference data now, not at
        # the next fan-out (the assessment reads the mission's copy)
        reference_publish(acting_user=SYSTEM)
        reference_mission_set_up(schema_name=mission.schema_name)
        with schema_context(mission.schema_name), transaction.atomic():
            if Waiver.objects.filter(reason__startswith=DEMO_CASES_REASON).exists():
                return ""
            assessment = assessment_create(
                subject_type="walk_in",
                subject_ref="DEMO-WAIVERS",
                payer_name="Ayşe Yılmaz",
                payer_language="tr",
                services=["passport_application", "notarial_act"],
                acting_user=staff["cashier"],
            )
            first, second = assessment.lines.order_by("id")
            refused = waiver_request(
                line=first,
                category_code="humanitarian",
                reason=DEMO_CASES_REASON + "no humanitarian grounds shown",
                acting_user=staff["cashier"],
            )
            waiver_decide(waiver=refused, approve=False, acting_user=staff["consul"])
            waiver_request(
                line=second,
                category_code="humanitarian",
                reason=DEMO_CASES_REASON + "medical emergency abroad",
                acting_user=staff["cashier"],
            )
        return mission.code
    return ""
