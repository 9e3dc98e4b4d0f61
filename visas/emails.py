"""E-mails to the visa applicant at every step of their application, in the application's
language and the mission's time zone (`missions.mail.mission_mail_send`). Called by tasks.

The refusal's e-mail is the refusal letter: the grounds in words, the consul's explanation,
and how and by when to appeal (the last day in the mission's zone, named)."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from missions.mail import mission_link, mission_mail_send
from missions.selectors import current_mission

from .models import Entries, Step, VisaApplication, VisaStep
from .services.casework import APPEAL_DAYS, appeal_deadline, grounds_labels

# What each step's e-mail adds to "your application is now …": what happens next.
NEXT: dict[str, str] = {
    Step.SUBMITTED: "submitted",
    Step.CORRECTED: "corrected",
    Step.CORRECTIONS_ASKED: "corrections_asked",
    Step.COMPLETE: "complete",
    Step.ATTENDED: "attended",
    Step.EXTENDED: "extended",
    Step.ISSUED: "issued",
    Step.REFUSED: "refused",
    Step.APPEALED: "appealed",
    Step.APPEAL_UPHELD: "appeal_upheld",
    Step.APPEAL_GRANTED: "appeal_granted",
    Step.WITHDRAWN: "withdrawn",
    Step.DEEMED_WITHDRAWN: "deemed_withdrawn",
    Step.ANNULLED: "ended",
    Step.REVOKED: "ended",
}


def status_path(application: VisaApplication) -> str:
    """The applicant's status page (the applicant's pages name it `visas:application`)."""
    try:
        return reverse("visas:application", args=[application.reference])
    except NoReverseMatch:
        return "/visas/"


def visa_step_send(*, step: VisaStep) -> None:
    application = step.application
    mission = current_mission()
    context: dict[str, Any] = {
        "application": application,
        "step": step,
        "step_label": Step(step.step).label,
        "next": NEXT.get(step.step, ""),
        "zone_name": mission.timezone,
        "status_url": mission_link(mission, status_path(application)),
    }
    if step.step == Step.REFUSED:
        context |= {
            "grounds": grounds_labels(application.refusal_grounds),
            "explanation": application.refusal_note,
            "appeal_days": APPEAL_DAYS,
            "appeal_by": appeal_deadline(application),
        }
    elif step.step in (Step.ANNULLED, Step.REVOKED):
        context |= {"grounds": grounds_labels(application.end_grounds)}
    elif step.step == Step.ISSUED:
        context |= {
            "entries_label": Entries(application.visa_entries).label
            if application.visa_entries in Entries.values
            else "",
        }
    mission_mail_send(
        mission=mission,
        language=application.language,
        to=application.email,
        template="visas/email/step",
        context=context,
        times={"when": step.happened_at},
    )
