"""Ask a Celery worker, through the broker, to answer from a mission's schema."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from consulate.tasks import worker_ping
from missions.models import Mission


class Command(BaseCommand):
    help = "Queue a ping from a mission's schema and wait for a worker to answer from it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mission", help="Mission code, e.g. berlin")
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        mission = Mission.objects.filter(code=options["mission"]).first()
        if mission is None:
            raise CommandError(f"No mission with code {options['mission']!r}.")
        started = time.monotonic()
        with schema_context(mission.schema_name):
            result = worker_ping.delay()
        self.stdout.write(f"queued ping {result.id} from schema {mission.schema_name}")
        try:
            answer = result.get(timeout=options["timeout"])
        except Exception as error:
            raise CommandError(f"No answer: {error.__class__.__name__}: {error}") from error
        elapsed = time.monotonic() - started
        if answer["schema"] != mission.schema_name:
            raise CommandError(f"The worker answered from schema {answer['schema']!r}.")
        self.stdout.write(
            self.style.SUCCESS(f"worker answered from {answer['schema']} in {elapsed:.2f}s")
        )
