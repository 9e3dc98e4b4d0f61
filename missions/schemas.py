"""Creating a mission's schema by cloning the template schema.

django-tenants' own path (TenantMixin.save with auto_create_schema) re-installs its 4,500-line
clone functions on every call and copies privileges (ACLs) through information_schema views
that scan every schema in the database, so creation got slower as missions were added
(docs/benchmarks.md). Here the functions are installed once per deploy (`migrate_all`) and the
clone skips ACLs, which the template's tables do not have beyond their owner's defaults.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.clone import CloneSchema

from consulate.kernel.tenancy import use_public_schema


def clone_functions_install() -> None:
    """Install (or refresh) django-tenants' clone_schema SQL functions; run at every deploy."""
    CloneSchema()._create_clone_schema_function()


def clone_functions_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regproc('public.clone_schema') IS NOT NULL")
        (installed,) = cursor.fetchone()
    return bool(installed)


def schema_clone_from_template(*, schema_name: str) -> None:
    """Create `schema_name` as a copy of the template, tables, triggers and data included.

    Runs in the caller's transaction: if anything later fails, the new schema goes too.
    """
    if not clone_functions_installed():
        clone_functions_install()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public.clone_schema(%s, %s, 'DATA'::public.cloneparms,"
            " 'NOACL'::public.cloneparms)",
            [settings.TENANT_BASE_SCHEMA, schema_name],
        )
    # The clone copied the template's django_migrations rows; this only confirms them.
    call_command(
        "migrate_schemas", tenant=True, fake=True, schema_name=schema_name, interactive=False,
        verbosity=0,
    )  # fmt: skip
    use_public_schema()
