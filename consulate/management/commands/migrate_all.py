"""Migrate everything in order: public (HQ), the mission template, then every mission.

The template schema (TENANT_BASE_SCHEMA) is what `mission_create` clones; migrating it with
every deploy keeps new missions as cheap to create as the first.
"""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django_tenants.utils import schema_exists

from missions.models import Domain, Mission, MissionKind
from missions.schemas import clone_functions_install


class Command(BaseCommand):
    help = "Migrate the public schema, the mission template schema and every mission schema."

    def handle(self, *args: Any, **options: Any) -> None:
        # Our own lines at the default verbosity; every migration's line from -v 2 up.
        verbosity = max(0, options["verbosity"] - 1)
        self.stdout.write("1/3 public schema (HQ)")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        self._ensure_hq()

        template = settings.TENANT_BASE_SCHEMA
        self.stdout.write(f"2/3 template schema {template}")
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=verbosity,
        )

        clone_functions_install()
        count = Mission.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).count()
        self.stdout.write(f"3/3 mission schemas ({count})")
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        self.stdout.write(
            self.style.SUCCESS(f"Migrated public, {template} and {count} mission(s).")
        )

    def _ensure_hq(self) -> None:
        """HQ is the tenant row of the public schema, served on the bare portal host."""
        hq, created = Mission.objects.get_or_create(
            schema_name=settings.PUBLIC_SCHEMA_NAME,
            defaults={
                "code": "hq",
                "name": settings.CONSULATE_HQ_NAME,
                "kind": MissionKind.HEADQUARTERS,
                "host_country": settings.CONSULATE_HOME_COUNTRY,
                "city": settings.CONSULATE_HQ_CITY,
                "timezone": settings.CONSULATE_HQ_TIMEZONE,
                "currency": settings.CONSULATE_BASE_CURRENCY,
                "languages": ["en", "tr"],
            },
        )
        _, domain_created = Domain.objects.get_or_create(
            domain=settings.PORTAL_HOST, defaults={"tenant": hq, "is_primary": True}
        )
        if created or domain_created:
            self.stdout.write(f"HQ registered at host {settings.PORTAL_HOST}")
