"""Development (`python3 dev up`): embedded PostgreSQL, file-system broker, mail in var/mail
(all under var/nodes/<code>/ for a mission node, `CONSULATE_VAR_DIR`)."""

import warnings

import consulate.devsecrets as devsecrets
import consulate.embedded_db as embedded_db

from .base import *  # noqa: F403
from .base import DATABASE_ENGINE, DATABASE_OWNER, DATABASES, env

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
_secrets = devsecrets.load()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=_secrets["DJANGO_SECRET_KEY"])
CONSULATE_MASTER_KEY = env("CONSULATE_MASTER_KEY", default=_secrets["CONSULATE_MASTER_KEY"])
CONSULATE_BLIND_INDEX_KEY = env(
    "CONSULATE_BLIND_INDEX_KEY", default=_secrets["CONSULATE_BLIND_INDEX_KEY"]
)
CONSULATE_PAYMENT_WEBHOOK_SECRET = env(
    "CONSULATE_PAYMENT_WEBHOOK_SECRET", default="whsec-dev-" + _secrets["DJANGO_SECRET_KEY"][:40]
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", ".localhost", "127.0.0.1"])
DEMO_MODE = env.bool("CONSULATE_DEMO_MODE", default=True)

if not DATABASES:
    # The embedded server has both roles (consulate/embedded_db.py): the application runs as
    # consulate_app, `migrate_all` as consulate_owner, as in production.
    DATABASES = {
        "default": {
            "ENGINE": DATABASE_ENGINE,
            **embedded_db.database_settings(user=embedded_db.APP_ROLE),
        }
    }
    DATABASE_OWNER = DATABASE_OWNER or embedded_db.database_settings(user=embedded_db.OWNER_ROLE)

# A broker that needs no server: kombu's file-system transport, in var/broker.
_BROKER_DIR = embedded_db.VAR_DIR / "broker"
for _folder in ("queue", "processed", "control"):
    (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = env.json(
    "CELERY_BROKER_TRANSPORT_OPTIONS",
    default={
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # kombu's default is ./control, in whatever folder the process started
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    },
)

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = embedded_db.VAR_DIR / "mail"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
