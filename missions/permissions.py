"""Who may do what: the one permission table (role x action) of the whole system.

Every staff service calls `permission_require` before it writes; views, the API and navigation
read `permissions_held` (or `staff_access`) to decide what to show. Nothing else in the code
names a role: a new action is a row here, and `tests/missions/test_permission_table.py` walks
every staff service against this table for every role, at its own mission and another one.

The roles a person holds at a mission are their `Role` memberships there, plus their HQ role
(`hq_analyst`, `hq_admin`), which counts at every mission. HQ analysts read and never write;
HQ admins read everywhere and manage missions, staff and reference data, but do not do a
mission's own work (its counter, its money, its settings).
"""

from __future__ import annotations

import enum
from typing import Any

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SystemActor
from consulate.kernel.errors import ApplicationError, CommonError

from .auth import roles_loaded
from .models import Membership, Mission, Role

HQ_ANALYST = f"hq_{HqRole.ANALYST}"
HQ_ADMIN = f"hq_{HqRole.ADMIN}"
HQ_ROLES = frozenset({HQ_ANALYST, HQ_ADMIN})
EVERY_ROLE = frozenset({*Role.values, *HQ_ROLES})


class Action(enum.StrEnum):
    """`<app>.<entity>.<verb>`. A `.view` action reads; every other one writes."""

    # missions (HQ)
    MISSION_VIEW = "missions.mission.view"  # the staff dashboard of a mission
    # create, update, close; staff; data keys; at HQ, a mission's sync file carried by hand and
    # HQ's answer to it (/hq/sync/<code>/)
    MISSION_MANAGE = "missions.mission.manage"
    HQ_DASHBOARD_VIEW = "missions.hq_dashboard.view"
    REFERENCE_DATA_MANAGE = "fees.reference.manage"  # fee schedule, rates, rounding (HQ)
    # appointments
    APPOINTMENTS_SETTINGS_VIEW = "appointments.settings.view"
    APPOINTMENTS_SETTINGS_CHANGE = "appointments.settings.change"  # services, hours, closures
    DAY_SHEET_VIEW = "appointments.day_sheet.view"
    BOOKING_PROCESS = "appointments.booking.process"  # check-in, call next, served, no-show
    # fees
    FEES_VIEW = "fees.assessment.view"  # assessments, receipts, the day's takings
    ASSESSMENT_CHANGE = "fees.assessment.change"  # assess, cancel, ask for a waiver or refund
    CASH_TAKE = "fees.payment.take_cash"
    BANK_TRANSFER_CHANGE = "fees.bank_transfer.change"  # expect and match transfers
    FEES_APPROVE = "fees.approval.decide"  # waivers and credit notes (the second pair of eyes)
    DAY_CLOSE = "fees.day_close.change"
    REMITTANCE_CHANGE = "fees.remittance.change"
    REPORT_VIEW = "fees.report.view"
    # sync (docs/sync.md): a mission's link to HQ, and HQ's view of every mission's link
    SYNC_VIEW = "sync.link.view"  # the mission's sync page: what is pending, last push, errors
    SYNC_PUSH = "sync.link.push"  # push now, export a file for the diplomatic bag
    SYNC_HQ_VIEW = "sync.hq.view"  # HQ's sync pages: every mission's link, refusals, gaps
    # passports
    PASSPORT_VIEW = "passports.application.view"  # the work queue and a case
    # the biometrics visit, the recommendation, a lost or stolen report taken at the counter
    PASSPORT_PROCESS = "passports.application.process"
    PASSPORT_DECIDE = "passports.application.decide"  # approve or refuse (the second pair of eyes)
    # HQ: allocate the number, compose the MRZ, record the document, print and dispatch
    PASSPORT_PERSONALISE = "passports.personalisation.change"
    # emergency travel documents: record a request at the counter; issue or revoke (a consul,
    # never the person who recorded the request)
    ETD_REQUEST = "passports.etd.request"
    ETD_ISSUE = "passports.etd.issue"
    # issue, rotate and revoke the missions' document-signing keys for seals (HQ)
    SEAL_KEYS_MANAGE = "passports.seal_keys.manage"
    # visas (docs/visas.md)
    VISA_VIEW = "visas.application.view"  # the work queue and a case
    # the completeness check, the screening, the visit, the recommendation, recording an appeal
    VISA_PROCESS = "visas.application.process"
    # issue or refuse, extend the decision period, decide an appeal, annul or revoke a visa
    VISA_DECIDE = "visas.application.decide"
    # HQ: the visa categories and the watchlist (reference data sent to every mission)
    VISA_REFERENCE_MANAGE = "visas.reference.manage"
    VISA_STATISTICS_VIEW = "visas.statistics.view"

    @property
    def is_read(self) -> bool:
        return self.value.endswith(".view")


def _roles(*roles: str) -> frozenset[str]:
    return frozenset(roles)


OFFICER, CASHIER, CONSUL, MISSION_ADMIN = (
    Role.OFFICER, Role.CASHIER, Role.CONSUL, Role.MISSION_ADMIN
)  # fmt: skip
MISSION_STAFF = _roles(OFFICER, CASHIER, CONSUL, MISSION_ADMIN)

# The table. Reads list HQ roles explicitly; writes never list the HQ analyst.
PERMISSIONS: dict[Action, frozenset[str]] = {
    Action.MISSION_VIEW: MISSION_STAFF | HQ_ROLES,
    Action.MISSION_MANAGE: _roles(HQ_ADMIN),
    Action.HQ_DASHBOARD_VIEW: HQ_ROLES,
    Action.REFERENCE_DATA_MANAGE: _roles(HQ_ADMIN),
    Action.APPOINTMENTS_SETTINGS_VIEW: _roles(MISSION_ADMIN) | HQ_ROLES,
    Action.APPOINTMENTS_SETTINGS_CHANGE: _roles(MISSION_ADMIN),
    Action.DAY_SHEET_VIEW: _roles(OFFICER, CONSUL, MISSION_ADMIN) | HQ_ROLES,
    Action.BOOKING_PROCESS: _roles(OFFICER, CONSUL, MISSION_ADMIN),
    Action.FEES_VIEW: MISSION_STAFF | HQ_ROLES,
    Action.ASSESSMENT_CHANGE: MISSION_STAFF,
    Action.CASH_TAKE: _roles(CASHIER),
    Action.BANK_TRANSFER_CHANGE: _roles(CASHIER, CONSUL, MISSION_ADMIN),
    Action.FEES_APPROVE: _roles(CONSUL, MISSION_ADMIN),
    Action.DAY_CLOSE: _roles(CASHIER, CONSUL, MISSION_ADMIN),
    Action.REMITTANCE_CHANGE: _roles(CONSUL, MISSION_ADMIN),
    Action.REPORT_VIEW: MISSION_STAFF | HQ_ROLES,
    Action.SYNC_VIEW: MISSION_STAFF | HQ_ROLES,
    # Pushing sends only what the mission already recorded, and a file is sealed for HQ: it is
    # the link's upkeep, not the mission's own work, so an HQ admin helping a mission whose link
    # is down may do it too (from the mission's host); analysts only read.
    # Importing HQ's answer file at the mission is the same upkeep (it applies only what HQ signed
    # for this mission). Importing a mission's file *at HQ* writes HQ's copy of the mission's
    # events, so it is MISSION_MANAGE (HQ admins), checked at the mission the file is for: with
    # SYNC_PUSH the mission's own admin could apply files at HQ.
    Action.SYNC_PUSH: _roles(MISSION_ADMIN, HQ_ADMIN),
    Action.SYNC_HQ_VIEW: HQ_ROLES,
    Action.PASSPORT_VIEW: _roles(OFFICER, CONSUL, MISSION_ADMIN) | HQ_ROLES,
    Action.PASSPORT_PROCESS: _roles(OFFICER, CONSUL),
    # Consuls only: a mission admin configures and does not decide on people's documents. A
    # consul who also recommended a case is refused by the service and the database.
    Action.PASSPORT_DECIDE: _roles(CONSUL),
    Action.PASSPORT_PERSONALISE: _roles(HQ_ADMIN),
    Action.ETD_REQUEST: _roles(OFFICER, CONSUL),
    Action.ETD_ISSUE: _roles(CONSUL),
    # A mission's signing key speaks for the state on every document it seals: HQ makes and
    # revokes it, never the mission itself.
    Action.SEAL_KEYS_MANAGE: _roles(HQ_ADMIN),
    Action.VISA_VIEW: _roles(OFFICER, CONSUL, MISSION_ADMIN) | HQ_ROLES,
    Action.VISA_PROCESS: _roles(OFFICER, CONSUL),
    # As for passports: consuls only; the consul who recommended, or recorded the appeal, is
    # refused by the service and the database.
    Action.VISA_DECIDE: _roles(CONSUL),
    Action.VISA_REFERENCE_MANAGE: _roles(HQ_ADMIN),
    Action.VISA_STATISTICS_VIEW: HQ_ROLES,
}


def roles_held(*, user: Any, mission: Mission) -> frozenset[str]:
    """The roles `user` holds at `mission`: active memberships there, plus an HQ role."""
    if user is None or not user.is_authenticated:
        return frozenset()
    loaded = roles_loaded(user)  # a request's user: read with the user (missions/auth.py)
    if loaded is not None:
        roles = set(loaded.get(mission.pk, ()))
    else:
        roles = set(
            Membership.objects.filter(user=user, mission=mission, is_active=True).values_list(
                "role", flat=True
            )
        )
    if user.hq_role:
        roles.add(f"hq_{user.hq_role}")
    return frozenset(roles)


def permissions_of(roles: frozenset[str]) -> frozenset[Action]:
    return frozenset(action for action, allowed in PERMISSIONS.items() if roles & allowed)


def permissions_held(*, user: Any, mission: Mission) -> frozenset[Action]:
    """What `user` may do at `mission`, for views and navigation to show or hide."""
    return permissions_of(roles_held(user=user, mission=mission))


def navigation_variant(request: Any) -> str:
    """What the layout shows of a signed-in reader at the request's mission
    (consulate/templates/base.html and each app's `_nav` include): HQ staff or not, the HQ
    role, and what the permission table lets them do here (`consulate.context_processors`).
    A page kept per variant (`public_page(variant=…)`) shows nothing else of its reader."""
    user = request.user
    mission = getattr(request, "tenant", None)
    held = permissions_held(user=user, mission=mission) if isinstance(mission, Mission) else ()
    return f"{int(user.is_staff)}|{user.hq_role}|{','.join(sorted(held))}"


def permission_require(*, user: Any, mission: Mission, action: Action) -> frozenset[str]:
    """Refuse unless `user` may do `action` at `mission`; return the roles they hold there.

    Someone with no role at this mission learns nothing about it (NOT_FOUND, answered 404);
    staff of this mission, or HQ, without the right get NOT_ALLOWED (403) with a message.
    Every staff service calls this before it writes, whatever the view checked. `SYSTEM` (beat,
    commands, demo seeding) may do everything; `None` is nobody and is refused."""
    if isinstance(user, SystemActor):
        return frozenset()
    roles = roles_held(user=user, mission=mission)
    if roles & PERMISSIONS[action]:
        return roles
    if not roles:
        raise ApplicationError(CommonError.NOT_FOUND, _("Not found."))
    raise ApplicationError(
        CommonError.NOT_ALLOWED, _("Your role at this mission does not allow this.")
    )


def staff_access(*, user: Any, mission: Mission, action: Action) -> frozenset[Action]:
    """For staff pages: the actions `user` may take here, or 404 unless `action` is one of them.

    404 and never 403: a page someone may not open does not exist for them."""
    held = permissions_held(user=user, mission=mission)
    if action not in held:
        raise Http404
    return held
