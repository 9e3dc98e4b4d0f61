#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    # Development settings only when no external database is named: with DATABASE_URL set, a
    # forgotten DJANGO_SETTINGS_MODULE must not run production data under development secrets.
    external_database = bool(os.environ.get("DATABASE_URL"))
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE",
        "consulate.settings.production" if external_database else "consulate.settings.local",
    )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
