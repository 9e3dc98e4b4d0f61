"""The permission table, walked: every staff service x every role x own mission / another one.

Each app's staff services come from `tests/<app>/permission_cases.py` (see
tests/permission_table.py). For each, as each role held at this mission, at another mission,
and as each HQ role, the call must succeed exactly when the table allows that role the action,
and otherwise be refused (NOT_FOUND for someone with no role here, whose probe must not learn
that anything exists) without writing anything.

The last tests keep the walk complete: every action has a case, and every service function
that takes `acting_user` is either a case or named here as not a staff service.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.errors import ApplicationError
from missions.models import Mission, Role
from missions.permissions import PERMISSIONS, Action
from sync.models import OutboxEvent
from tests.conftest import MODEL_BACKEND, host_client, make_staff
from tests.factories import UserFactory
from tests.permission_table import PermissionCase

APPS = ("missions", "appointments", "fees", "passports", "visas")


def _cases() -> list[PermissionCase]:
    cases: list[PermissionCase] = []
    for app in APPS:
        try:
            module = importlib.import_module(f"tests.{app}.permission_cases")
        except ModuleNotFoundError:
            continue
        cases.extend(module.CASES)
    return cases


CASES = _cases()

# Services that take `acting_user` but are not staff actions: a citizen's own booking or
# payment (checked by ownership), the platform's own work (beat, webhooks), and internal steps
# that a checked service calls inside its transaction.
NOT_STAFF_SERVICES = frozenset(
    {
        # appointments: a citizen's own, or the platform's
        "booking_create", "booking_cancel", "booking_reschedule", "booking_cancel_by_token",
        "lottery_enter", "lottery_draw", "waitlist_join", "waitlist_leave", "waitlist_accept",
        "waitlist_offer_place", "waitlist_expire_offers", "booking_remind_due",
        # steps inside a checked service (places.py)
        "booking_write", "booking_release", "booking_cancel_write",
        # inside a passport or visa case's visit, which checked PASSPORT_PROCESS / VISA_PROCESS
        "booking_visit_record",
        "availability_report",  # beat's: each service's availability, as an event for HQ
        # fees: a payer's own, the provider's, the platform's, internal steps
        "payment_card_start", "payment_webhook_receive", "payment_expire_stale",
        "assessment_settle_if_paid", "ledger_post",
        # passports: a citizen's own, and an internal step
        "application_start", "application_draft_save", "application_photo_add",
        "application_submit", "application_visit_book", "application_withdraw",
        "document_report_by_citizen", "document_report_record", "etd_apply",
        "number_next",  # inside personalisation_run, which checked who acts
        "application_dispatch_receive",  # the platform's (beat), as SYSTEM
        # visas: an applicant's own (the passports' names above cover start, submit, visit
        # booking and withdrawal), and the issuance step inside application_decide
        "application_upload_add", "application_draft_autosave", "visa_issue",
        # a check inside the passports' and visas' decisions, which checked who acts first
        "four_eyes_require",
    }
)  # fmt: skip

# (who, where): a role held at this mission ("own"), at another mission ("other"), or an HQ role
ACTORS = [(role, "own") for role in Role.values] + [(role, "other") for role in Role.values]
ACTORS += [(f"hq_{role}", "hq") for role in HqRole.values]


def _actor(role: str, where: str, mission: Mission, other: Mission):  # type: ignore[no-untyped-def]
    if where == "hq":
        return UserFactory(hq_role=role.removeprefix("hq_"))
    return make_staff(mission if where == "own" else other, role)


@pytest.mark.parametrize(("role", "where"), ACTORS, ids=[f"{r}@{w}" for r, w in ACTORS])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_service_does_what_the_table_says(case, role, where, mission_a, mission_b):
    # given someone with `role` here, elsewhere, or at HQ, and what the service needs
    actor = _actor(role, where, mission_a, mission_b)
    allowed = where != "other" and role in PERMISSIONS[case.action]
    with schema_context(mission_a.schema_name):
        state = case.prepare(mission_a)
        before = OutboxEvent.objects.count()
        # when they call the service
        if allowed:
            case.call(actor, state)
            # then it is done
            return
        with pytest.raises(ApplicationError) as refused:
            case.call(actor, state)
        # then it is refused, unseen from another mission, and nothing was written
        expected = {"NOT_FOUND"} if where == "other" else {"NOT_ALLOWED", "NOT_FOUND"}
        assert refused.value.code.name in expected
        assert OutboxEvent.objects.count() == before


@pytest.mark.parametrize("case", CASES, ids=str)
def test_nobody_and_a_citizen_are_refused_unseen(case, mission_a):
    with schema_context(mission_a.schema_name):
        state = case.prepare(mission_a)
        for actor in (None, UserFactory()):
            with pytest.raises(ApplicationError) as refused:
                case.call(actor, state)
            assert refused.value.code.name == "NOT_FOUND"


# Reads that no service stands behind: the page itself is the check (`staff_access`), walked
# below. (host, path): "mission" is mission A's host, "hq" the bare portal host.
PAGE_READS = {
    Action.MISSION_VIEW: ("mission", "/staff/"),
    Action.HQ_DASHBOARD_VIEW: ("hq", "/hq/"),
    Action.SYNC_VIEW: ("mission", "/staff/sync/"),
    Action.SYNC_HQ_VIEW: ("hq", "/hq/sync/"),
    Action.PASSPORT_VIEW: ("mission", "/staff/passports/"),
    Action.VISA_VIEW: ("mission", "/staff/visas/"),
    Action.VISA_STATISTICS_VIEW: ("hq", "/hq/visas/statistics/"),
}


@pytest.mark.parametrize(("role", "where"), ACTORS, ids=[f"{r}@{w}" for r, w in ACTORS])
@pytest.mark.parametrize("action", list(PAGE_READS), ids=str)
def test_the_page_opens_exactly_for_the_table(action, role, where, mission_a, mission_b):
    # given someone with `role` here, elsewhere, or at HQ, logged in with their second factor
    actor = _actor(role, where, mission_a, mission_b)
    if actor.needs_second_factor():
        TOTP.activate(actor, "JBSWY3DPEHPK3PXP")
    host, path = PAGE_READS[action]
    client = host_client(mission_a.host if host == "mission" else "localhost")
    client.force_login(actor, backend=MODEL_BACKEND)
    # when they open the page
    status = client.get(path).status_code
    # then it opens exactly when the table allows it, and is not there otherwise
    allowed = where != "other" and role in PERMISSIONS[action]
    assert status == (200 if allowed else 404)


def test_every_action_has_a_case():
    covered = {case.action for case in CASES} | set(PAGE_READS)
    assert set(Action) - covered == set()


def _service_functions() -> Iterator[tuple[str, str]]:
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".services" not in info.name and not info.name.endswith(".services"):
                continue
            module = importlib.import_module(info.name)
            for name, function in inspect.getmembers(module, inspect.isfunction):
                if function.__module__ != module.__name__ or name.startswith("_"):
                    continue
                if "acting_user" in inspect.signature(function).parameters:
                    yield info.name, name


def test_every_staff_service_is_walked():
    named = {case.service for case in CASES} | NOT_STAFF_SERVICES
    missing = sorted(
        f"{module}.{name}" for module, name in _service_functions() if name not in named
    )
    assert missing == []
