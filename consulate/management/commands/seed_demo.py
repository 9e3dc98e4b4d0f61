"""Seed the demo once (idempotent: what exists is left alone) and print its URLs and logins."""

from __future__ import annotations

import importlib.util
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.module_loading import import_string

from consulate import demo
from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Mission
from missions.services import membership_grant, mission_create, mission_update

# Each app that has demo data of its own offers `seed_demo(*, stdout)`, idempotent, run after
# the missions and staff exist.
DEMO_SEEDERS = [
    "fees.demo.seed_demo",
    "appointments.demo.seed_demo",
    "passports.demo.seed_demo",
    "visas.demo.seed_demo",
]


class Command(BaseCommand):
    help = "Create the demo missions, staff and citizens if missing; print URLs and logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000", help="Port the web server listens on.")
        parser.add_argument("--print-only", action="store_true", help="Only print the logins.")
        parser.add_argument("--no-banner", action="store_true", help="Seed without printing.")

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo's accounts have a published password: never create them outside the demo.
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo runs only with CONSULATE_DEMO_MODE on (development).")
        if not options["print_only"]:
            self._seed()
        if not options["no_banner"]:
            self._print(options["port"])

    def _user(self, email: str, **fields: Any) -> tuple[User, bool]:
        user = User.objects.filter(email=email).first()
        if user:
            return user, False
        user = User.objects.create_user(email, demo.PASSWORD, **fields)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user, True

    def _second_factor(self, user: User) -> None:
        if (
            settings.DEMO_MODE
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            TOTP.activate(user, demo.TOTP_SECRET)

    @transaction.atomic
    def _seed(self) -> None:
        created = {"missions": 0, "staff": 0, "citizens": 0}
        for email, role in demo.HQ_STAFF:
            # both open the admin; what each may change there is the permission table's answer
            # (the analyst reads, the HQ admin manages missions, staff and reference data)
            user, new = self._user(email, hq_role=role, is_staff=True, is_superuser=role == "admin")
            self._second_factor(user)
            created["staff"] += new
        for params in demo.MISSIONS:
            mission = Mission.objects.filter(code=params["code"]).first()
            if mission is None:
                self.stdout.write(f"creating mission {params['code']} ({params['city']})")
                mission = mission_create(acting_user=SYSTEM, **params)
                created["missions"] += 1
            elif not mission.name_tr:
                # a demo seeded before names had a Turkish value gets them now
                mission = mission_update(
                    mission=mission,
                    acting_user=SYSTEM,
                    name_tr=params["name_tr"],
                    address_tr=params["address_tr"],
                )
            if not mission.city_tr:  # seeded before cities had a Turkish name
                mission = mission_update(
                    mission=mission, acting_user=SYSTEM, city_tr=params["city_tr"]
                )
            if not mission.region:  # seeded before HQ monitoring: its region and threshold
                mission = mission_update(
                    mission=mission,
                    acting_user=SYSTEM,
                    region=params["region"],
                    silence_alert_minutes=params["silence_alert_minutes"],
                )
            for role in demo.ROLES:
                user, new = self._user(demo.staff_email(role, mission.code))
                membership_grant(user=user, mission=mission, role=role, acting_user=SYSTEM)
                self._second_factor(user)
                created["staff"] += new
        for email, first, last, language in demo.CITIZENS:
            _, new = self._user(
                email, first_name=first, last_name=last, preferred_language=language
            )
            created["citizens"] += new
        for seeder in DEMO_SEEDERS:
            # an app without demo data has no such module; any other import error is a bug
            if importlib.util.find_spec(seeder.rpartition(".")[0]) is not None:
                import_string(seeder)(stdout=self.stdout)
        if any(created.values()):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo seeded: {created['missions']} mission(s), {created['staff']} staff,"
                    f" {created['citizens']} citizen(s) created."
                )
            )
        else:
            self.stdout.write("Demo already present; nothing created.")

    def _print(self, port: str) -> None:
        host = f"{settings.PORTAL_HOST}:{port}"
        lines = [
            "",
            "Consular e-services is running:",
            f"  HQ (mission directory)   http://{host}/",
            f"  HQ dashboard             http://{host}/hq/          (analyst@hq.demo)",
            f"  Public wait times        http://{host}/wait-times/",
            f"  HQ admin                 http://{host}/admin/       (admin@hq.demo)",
            f"  API docs                 http://{host}/api/docs/",
            f"  Health                   http://{host}/health/",
        ]
        missions = Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("code")
        lines += ["", "Missions (staff pages at /staff/ on each):"]
        for mission in missions:
            lines.append(
                f"  http://{mission.code}.{host}/".ljust(40)
                + f"{mission.name} ({mission.currency})"
            )
        lines += [
            "",
            f"Every demo account's password: {demo.PASSWORD}",
            "  Citizens:  " + ", ".join(email for email, *_ in demo.CITIZENS),
            "  HQ:        " + ", ".join(email for email, _ in demo.HQ_STAFF),
            "  Staff:     <role>@<mission>.demo with role officer, cashier, consul or"
            " mission-admin, e.g. officer@berlin.demo",
        ]
        if settings.DEMO_MODE:
            lines += [
                "Second factor (staff): every demo staff account uses the TOTP secret",
                f"  {demo.TOTP_SECRET}  (add it to any authenticator app), or print the current",
                "  code with:  python3 dev manage demo_totp",
            ]
        lines += [
            "E-mail (sign-up confirmations) is written to var/mail/ instead of being sent.",
            "",
        ]
        self.stdout.write("\n".join(lines))
