"""A mission's signing keys, by hand: show, rotate (at the mission), revoke or register (HQ)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime
from django_tenants.utils import schema_context, tenant_context

from consulate.kernel.actors import SYSTEM

from ... import keys
from ...export import bundles_resign
from ...hq.models import MissionKey
from ...models import SigningKey
from ._sync_cli import mission_get


class Command(BaseCommand):
    help = (
        "show <mission>: the mission's keys and what HQ holds. rotate <mission>: a new signing "
        "key (HQ learns it from the next bundle, signed by the key before). revoke <mission> "
        "<key_id> --reason TEXT: HQ refuses that key from now (or --at) on. register <mission> "
        "<key_id> <public key hex>: HQ accepts a key given by hand (after a revocation)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        show = actions.add_parser("show")
        show.add_argument("mission_code")
        rotate = actions.add_parser("rotate")
        rotate.add_argument("mission_code")
        rotate.add_argument("--by", default="", help="e-mail of the person doing it (audit)")
        rotate.add_argument(
            "--resign",
            action="store_true",
            help="after HQ revoked the old key: sign every unacknowledged bundle again with the"
            " new key (register it at HQ by hand)",
        )
        revoke = actions.add_parser("revoke")
        revoke.add_argument("mission_code")
        revoke.add_argument("key_id", type=int)
        revoke.add_argument("--reason", required=True)
        revoke.add_argument("--at", default="", help="ISO time the key stops being trusted")
        register = actions.add_parser("register")
        register.add_argument("mission_code")
        register.add_argument("key_id", type=int)
        register.add_argument("public_key", help="32 bytes, hex")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["mission_code"].strip().lower()
        getattr(self, f"_{options['action']}")(code, options)

    def _show(self, code: str, options: dict[str, Any]) -> None:
        mission = mission_get(code)
        with tenant_context(mission):
            own = list(SigningKey.objects.order_by("key_id"))
        for key in own:
            state = "active" if key.is_active else f"retired {key.retired_at:%Y-%m-%d %H:%M}"
            self.stdout.write(f"{code} key {key.key_id}: {bytes(key.public_key).hex()} ({state})")
        with schema_context("public"):
            for held in MissionKey.objects.filter(mission=code).order_by("key_id"):
                state = (
                    f"revoked {held.revoked_at:%Y-%m-%d %H:%M} ({held.revoked_reason})"
                    if held.revoked_at
                    else "trusted"
                )
                self.stdout.write(f"HQ holds {code} key {held.key_id}: {state}")

    def _rotate(self, code: str, options: dict[str, Any]) -> None:
        mission = mission_get(code)
        acting_user: Any = SYSTEM
        if options["by"]:
            acting_user = get_user_model().objects.filter(email__iexact=options["by"]).first()
            if acting_user is None:
                raise CommandError(f"no user {options['by']!r}")
        with tenant_context(mission):
            key = keys.signing_key_rotate(code=mission.code, acting_user=acting_user)
            resigned = bundles_resign(code=mission.code) if options["resign"] else []
        public = bytes(key.public_key).hex()
        if not options["resign"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{code}: key {key.key_id} is active ({public}); HQ learns it from the next "
                    f"push, in a bundle signed by key {key.key_id - 1}."
                )
            )
            return
        what = f"bundles {resigned[0].number}–{resigned[-1].number}" if resigned else "no bundle"
        self.stdout.write(
            self.style.SUCCESS(
                f"{code}: key {key.key_id} is active ({public}); {what} signed again with it. "
                f"At HQ: sync_key register {code} {key.key_id} {public}"
            )
        )

    def _revoke(self, code: str, options: dict[str, Any]) -> None:
        at = None
        if options["at"]:
            at = parse_datetime(options["at"])
            if at is None or at.tzinfo is None:
                raise CommandError("--at needs an ISO time with its zone (2026-12-03T08:00Z)")
        with schema_context("public"):
            if not MissionKey.objects.filter(mission=code, key_id=options["key_id"]).exists():
                raise CommandError(f"HQ holds no key {options['key_id']} of {code!r}")
            changed = keys.mission_key_revoke(
                mission=code, key_id=options["key_id"], reason=options["reason"], at=at
            )
        if not changed:
            self.stdout.write(f"{code} key {options['key_id']} was already revoked.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{code} key {options['key_id']} revoked: HQ refuses bundles it signs"
                f"{' from ' + at.isoformat() if at else ''}. Register the mission's new key "
                f"with `sync_key register`."
            )
        )
        if changed[1:]:
            later = ", ".join(str(key_id) for key_id in changed[1:])
            self.stdout.write(
                self.style.WARNING(
                    f"{code} keys HQ learned after it revoked too (announced with the revoked "
                    f"key, or registered since): {later}."
                )
            )

    def _register(self, code: str, options: dict[str, Any]) -> None:
        try:
            public = bytes.fromhex(options["public_key"])
        except ValueError as error:
            raise CommandError("the public key is not hexadecimal") from error
        if len(public) != 32:
            raise CommandError(f"an Ed25519 public key is 32 bytes, not {len(public)}")
        with schema_context("public"):
            try:
                keys.mission_key_register(mission=code, key_id=options["key_id"], public_key=public)
            except ValueError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"HQ trusts {code} key {options['key_id']} ({public.hex()}).")
        )
