"""The visas app's event topics (payloads and versions in docs/events.md, "visas"). Payloads
carry identifiers and facts (category, nationality, dates, grounds); who the applicant is
travels only sealed for HQ (`SealedForHq`) with the decision, for HQ's register of visa cases
(`visas/register/projector.py`), and a passport or visa number only as its blind index under
HQ's key."""

from consulate.kernel.events import EventTopic


class VisaTopic(EventTopic):
    APPLICATION_STARTED = "visas.application.started"
    APPLICATION_SUBMITTED = "visas.application.submitted"
    APPLICATION_WITHDRAWN = "visas.application.withdrawn"
    # the completeness check: corrections asked for, the file complete (the legal clock starts)
    APPLICATION_CORRECTIONS_ASKED = "visas.application.corrections_asked"
    APPLICATION_CORRECTED = "visas.application.corrected"
    APPLICATION_DEEMED_WITHDRAWN = "visas.application.deemed_withdrawn"
    APPLICATION_ADMISSIBLE = "visas.application.admissible"
    APPLICATION_ATTENDED = "visas.application.attended"
    APPLICATION_SCREENED = "visas.application.screened"
    APPLICATION_EXTENDED = "visas.application.extended"
    APPLICATION_RECOMMENDED = "visas.application.recommended"
    APPLICATION_RETURNED = "visas.application.returned"
    # the decision: issued (with the visa) or refused (with its grounds); the applicant sealed
    APPLICATION_ISSUED = "visas.application.issued"
    APPLICATION_REFUSED = "visas.application.refused"
    APPEAL_LODGED = "visas.appeal.lodged"
    APPEAL_DECIDED = "visas.appeal.decided"
    # an issued visa ended, with grounds
    VISA_ANNULLED = "visas.visa.annulled"
    VISA_REVOKED = "visas.visa.revoked"
    NUMBER_BLOCK_ALLOCATED = "visas.number_block.allocated"
