"""Typed access to what django-tenants adds to the database connection."""

from django.conf import settings
from django.db import connection


def current_schema() -> str:
    """The schema the connection is set to: `public` at HQ, the mission's schema elsewhere."""
    return str(getattr(connection, "schema_name", settings.PUBLIC_SCHEMA_NAME))


def in_public_schema() -> bool:
    return current_schema() == settings.PUBLIC_SCHEMA_NAME


def use_public_schema() -> None:
    connection.set_schema_to_public()  # type: ignore[attr-defined]
