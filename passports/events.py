"""The passports app's event topics (payloads and versions in docs/events.md). Payloads carry
identifiers and facts; a document number travels only as its blind index under HQ's key."""

from consulate.kernel.events import EventTopic


class PassportTopic(EventTopic):
    # a draft begun, a photo checked (accepted or not): the citizen's own steps before submission
    APPLICATION_STARTED = "passports.application.started"
    APPLICATION_PHOTO_CHECKED = "passports.application.photo_checked"
    APPLICATION_SUBMITTED = "passports.application.submitted"
    APPLICATION_WITHDRAWN = "passports.application.withdrawn"
    APPLICATION_BIOMETRICS_TAKEN = "passports.application.biometrics_taken"
    APPLICATION_RECOMMENDED = "passports.application.recommended"
    APPLICATION_RETURNED = "passports.application.returned"
    APPLICATION_APPROVED = "passports.application.approved"
    APPLICATION_REFUSED = "passports.application.refused"
    # HQ printed it (the mission read HQ's register); arrived and ready; handed over
    APPLICATION_DISPATCHED = "passports.application.dispatched"
    APPLICATION_READY = "passports.application.ready"
    APPLICATION_COLLECTED = "passports.application.collected"
    DOCUMENT_REPORTED = "passports.document.reported"
    # HQ's register of issued documents (passports/register/etd_projector.py) reads these two
    ETD_REQUESTED = "passports.etd.requested"
    ETD_PHOTO_ADDED = "passports.etd.photo_added"
    ETD_ISSUED = "passports.etd.issued"
    ETD_REVOKED = "passports.etd.revoked"
    # the mission's ETD rules and numbers
    ETD_SETTINGS_CHANGED = "passports.etd_settings.changed"
    ETD_BLOCK_ALLOCATED = "passports.etd_block.allocated"
