"""E-mails to the citizen at every step of their application, in the application's language and
the mission's time zone (`missions.mail.mission_mail_send`). Called by tasks."""

from __future__ import annotations

from django.urls import reverse

from missions.mail import mission_link, mission_mail_send
from missions.selectors import current_mission

from .models import ApplicationStep, EmergencyTravelDocument, EtdStatus, Step

# What each step's e-mail adds to "your application is now …": what happens next.
NEXT: dict[str, str] = {
    Step.SUBMITTED: "submitted",
    Step.BIOMETRICS_TAKEN: "biometrics_taken",
    Step.APPROVED: "approved",
    Step.PRINTED: "printed",
    Step.READY: "ready",
    Step.COLLECTED: "collected",
    Step.REFUSED: "refused",
    Step.WITHDRAWN: "withdrawn",
}


def application_step_send(*, step: ApplicationStep) -> None:
    application = step.application
    mission = current_mission()
    mission_mail_send(
        mission=mission,
        language=application.language,
        to=application.email,
        template="passports/email/step",
        context={
            "application": application,
            "step": step,
            "step_label": Step(step.step).label,
            "next": NEXT.get(step.step, ""),
            "status_url": mission_link(
                mission, reverse("passports:application", args=[application.reference])
            ),
        },
        times={"when": step.happened_at},
    )


def etd_mail_send(*, etd: EmergencyTravelDocument, what: str) -> None:
    """The holder's e-mail at each step, in their language and the mission's time zone."""
    mission = current_mission()
    when = {
        EtdStatus.REQUESTED: etd.requested_at,
        EtdStatus.ISSUED: etd.issued_at,
        EtdStatus.REVOKED: etd.revoked_at,
    }[EtdStatus(what)]
    path = (
        reverse("etd:detail", args=[etd.reference])
        if etd.user_id is not None
        else reverse("etd:list")
    )
    mission_mail_send(
        mission=mission,
        language=etd.language,
        to=etd.email,
        template="passports/email/etd_step",
        context={
            "etd": etd,
            "what": what,
            "status_label": EtdStatus(what).label,
            "status_url": mission_link(mission, path),
        },
        times={"when": when},
    )
