"""The Celery app. tenant-schemas-celery records the schema a task was queued from and runs the
task in that schema, so a task queued by a request to berlin.<host> runs in Berlin's schema."""

import os

from tenant_schemas_celery.app import CeleryApp

# Like wsgi.py, a worker started without DJANGO_SETTINGS_MODULE runs production settings (which
# refuse to start without real secrets); `python3 dev up` and the tests set the module.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consulate.settings.production")

app = CeleryApp("consulate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
