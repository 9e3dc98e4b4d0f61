"""Re-run a published lottery draw and check it: the seed matches the commitment published before
registration, and the ranks stored are the order the seed gives. Anyone can do the same with the
seed and tickets from the public page and `sha256sum`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from appointments import lottery
from appointments.models import LotteryRound, LotteryStatus
from missions.models import Mission


class Command(BaseCommand):
    help = "Recompute a lottery draw from its published seed and compare with the result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mission", help="Mission code, e.g. berlin")
        parser.add_argument("round", type=int, help="The draw's number (in its page's address)")

    def handle(self, *args: Any, **options: Any) -> None:
        mission = Mission.objects.filter(code=options["mission"]).first()
        if mission is None:
            raise CommandError(f"No mission {options['mission']!r}.")
        with schema_context(mission.schema_name):
            lottery_round = LotteryRound.objects.filter(pk=options["round"]).first()
            if lottery_round is None or lottery_round.status != LotteryStatus.DRAWN:
                raise CommandError("No drawn round with that number.")
            entries = list(lottery_round.entries.all())
            seed = lottery_round.seed
            if lottery.commitment(seed) != lottery_round.seed_commitment:
                raise CommandError("MISMATCH: the seed does not match the published commitment.")
            expected = lottery.draw_order(seed, [entry.ticket for entry in entries])
            recorded = [e.ticket for e in sorted(entries, key=lambda e: e.rank or 0)]
            if expected != recorded:
                raise CommandError("MISMATCH: the recorded ranks are not the order of the seed.")
        self.stdout.write(f"commitment  {lottery_round.seed_commitment}")
        self.stdout.write(f"seed        {seed}")
        for rank, ticket in enumerate(expected, start=1):
            self.stdout.write(f"{rank:>5}  {ticket}  {lottery.draw_key(seed, ticket)}")
        self.stdout.write(self.style.SUCCESS(f"OK: {len(expected)} entries, order verified."))
