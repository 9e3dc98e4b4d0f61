"""The fees app's cases and staff activity, as HQ's generic registers (missions/register/) keep
them: registered by `fees.apps.FeesConfig.ready`."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from fees.events import FeeTopic
from missions.register.cases import CaseType
from sync.registry import Event

CASES_NAME = "fees.cases"
ACTIVITY_NAME = "fees.activity"

CASE_TYPES = (
    CaseType(
        code="fees.waiver",
        label=_("Fee waiver requests"),
        target_days=5,
        opened_topics=frozenset({str(FeeTopic.WAIVER_REQUESTED)}),
        closed_topics={
            str(FeeTopic.WAIVER_APPROVED): "granted",
            str(FeeTopic.WAIVER_REJECTED): "refused",
        },
    ),
    CaseType(
        code="fees.refund",
        label=_("Refund requests"),
        target_days=10,
        opened_topics=frozenset({str(FeeTopic.CREDIT_NOTE_REQUESTED)}),
        closed_topics={
            str(FeeTopic.CREDIT_NOTE_APPROVED): "granted",
            str(FeeTopic.CREDIT_NOTE_REJECTED): "refused",
        },
    ),
)

# What only staff do in fees: deciding waivers and refunds, taking money at the counter (a
# card confirmed by the provider's webhook is recorded with no actor, and a bank transfer is
# not the counter's), closing the day.
ACTIVITY_TOPICS = frozenset(
    str(topic)
    for topic in (
        FeeTopic.WAIVER_APPROVED,
        FeeTopic.WAIVER_REJECTED,
        FeeTopic.CREDIT_NOTE_APPROVED,
        FeeTopic.CREDIT_NOTE_REJECTED,
        FeeTopic.PAYMENT_SUCCEEDED,
        FeeTopic.DAY_CLOSE_RECORDED,
    )
)
COUNTER_METHODS = frozenset({"cash", "card"})


def staff_act(event: Event) -> bool:
    """Whether an event of `ACTIVITY_TOPICS` with an actor is staff's doing: a payment only when
    cash or card (taken at the counter)."""
    if event.get("topic") != FeeTopic.PAYMENT_SUCCEEDED:
        return True
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return False
    method = payload.get("method")
    return isinstance(method, str) and method in COUNTER_METHODS
