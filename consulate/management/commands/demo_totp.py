"""Demo only: print the current TOTP code of the seeded staff accounts."""

from typing import Any

from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from consulate import demo


class Command(BaseCommand):
    help = "Print the current second-factor code of the demo staff (CONSULATE_DEMO_MODE only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("demo_totp works only with CONSULATE_DEMO_MODE on.")
        counter = next(iter(yield_hotp_counters_from_time()))
        self.stdout.write(format_hotp_value(hotp_value(demo.TOTP_SECRET, counter)))
