"""Helpers of the seal keys' tests: an HQ admin, a mission's signer issued through the real
service, an ETD sealed with the mission's active key as the ETD service does, and its events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from consulate.kernel.seal import etd_content, seal_issue
from missions.models import Mission
from passports.events import PassportTopic
from passports.register.seal_keys import document_signer_issue
from passports.register.seals import SealSigner
from passports.services.signer import document_signer_active
from sync.registry import events_project
from sync.services import outbox_event_record
from tests.factories import UserFactory
from tests.registers import outbox_on_the_wire


def hq_admin() -> Any:
    return UserFactory(hq_role=HqRole.ADMIN)


def signer_issue(mission: Mission) -> SealSigner:
    return document_signer_issue(mission=mission, acting_user=hq_admin())


def etd_mrz(number: str = "E1234567", expiry: dt.date | None = None) -> str:
    """A TD2-shaped ETD MRZ: the number in line 2's first nine, the expiry at 22-27 (check
    digits are not the seal's business)."""
    until = expiry or timezone.now().date() + dt.timedelta(days=30)
    line_1 = "I<TURERDEM<<AYSE".ljust(36, "<")
    line_2 = f"{number:<9}".replace(" ", "<") + "0TUR9001014F" + until.strftime("%y%m%d")
    return line_1 + (line_2 + "0").ljust(35, "<") + "4"


def etd_seal(mission: Mission, number: str = "E1234567", expiry: dt.date | None = None) -> bytes:
    """An ETD sealed at `mission` with its active key (`document_signer_active`)."""
    today = timezone.now().date()
    with schema_context(mission.schema_name):
        key, certificate = document_signer_active()
        return seal_issue(
            content=etd_content(mrz=etd_mrz(number, expiry)),
            country="TUR",
            signer_key=key,
            signer_certificate=certificate,
            issue_date=today,
            signature_date=today,
        )


def etd_events_record(mission: Mission, *events: tuple[str, dict[str, Any]]) -> list[dict]:
    """`passports.etd.*` events recorded at `mission` as the ETD service records them; all of
    the mission's ETD events on the wire."""
    topics = {"issued": PassportTopic.ETD_ISSUED, "revoked": PassportTopic.ETD_REVOKED}
    with schema_context(mission.schema_name):
        for verb, payload in events:
            outbox_event_record(
                topic=topics[verb], aggregate_id=payload["number"], payload=payload,
                acting_user=SYSTEM,
            )  # fmt: skip
        return outbox_on_the_wire("passports.etd.")


def issued_payload(number: str, *, serial: str, days: int = 30) -> dict[str, Any]:
    today = timezone.now().date()
    return {
        "number": number,
        "valid_until": (today + dt.timedelta(days=days)).isoformat(),
        "issued_on": today.isoformat(),
        "signer_serial": serial,
    }


def etd_issued_at_hq(mission: Mission, number: str, *, revoked: str = "") -> None:
    """An ETD issued at `mission` (and revoked there, given a reason), its events applied at
    HQ as its apply does."""
    with schema_context(mission.schema_name):
        serial = document_signer_active()[1].serial_number
    events: list[tuple[str, dict[str, Any]]] = [
        ("issued", issued_payload(number, serial=f"{serial:X}"))
    ]
    if revoked:
        events.append(("revoked", {"number": number, "reason": revoked}))
    wire = etd_events_record(mission, *events)
    events_project(mission=mission.code, events=wire)
