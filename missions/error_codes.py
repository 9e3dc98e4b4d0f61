"""The missions app's error codes, namespaced by app. Not found, not allowed and a forbidden
status change are `CommonError` codes (consulate.kernel.errors)."""

import enum


class MissionError(enum.Enum):
    INVALID = "missions.invalid"
    CODE_TAKEN = "missions.code_taken"
    EMAIL_TAKEN = "missions.email_taken"
    # a hand-off link that is tampered with, expired, used already or meant for another host
    HANDOFF_INVALID = "missions.handoff_invalid"
