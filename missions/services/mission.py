"""Opening and changing missions, and rotating their data keys (HQ admins, or SYSTEM)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context, schema_exists

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.crypto.models import DataKey
from consulate.kernel.crypto.services import data_key_create, data_key_rotate
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user
from sync.keys import mission_keys_set_up
from sync.reference import reference_mission_set_up
from sync.services import outbox_event_record

from ..error_codes import MissionError
from ..events import MissionTopic
from ..locks import mission_lock
from ..models import Domain, Mission
from ..permissions import Action, permission_require
from ..schemas import schema_clone_from_template
from ..selectors import mission_hq


def _schema_name_for(code: str) -> str:
    return code.replace("-", "_")


def _ensure_code_free(*, code: str, schema_name: str) -> None:
    if Mission.objects.filter(code=code).exists():
        raise ApplicationError(
            MissionError.CODE_TAKEN,
            _("A mission with the code “%(code)s” already exists.") % {"code": code},
            field="code",
        )
    # django-tenants would silently adopt an existing schema of that name instead of cloning.
    if schema_exists(schema_name):
        raise ApplicationError(
            MissionError.CODE_TAKEN,
            _("The code “%(code)s” is already used by a database schema.") % {"code": code},
            field="code",
        )


# Names people read, a value per language (missions/translation.py). `name`, `address` and
# `city` are the English ones (the fallback of every language); `name_tr`, `address_tr` and
# `city_tr` the Turkish.
TRANSLATED = {"name": "name_en", "address": "address_en", "city": "city_en"}
TRANSLATED_COLUMNS = frozenset(
    {"name_en", "name_tr", "address_en", "address_tr", "city_en", "city_tr"}
)


def _saved_in_english(mission: Mission, **kwargs: Any) -> None:
    """Save with English active: the original `name` and `address` columns (and the history's)
    are written from the active language, and English is the value they always hold."""
    with translation.override(settings.MODELTRANSLATION_DEFAULT_LANGUAGE):
        mission.save(**kwargs)


def _stored(mission: Mission, name: str) -> Any:
    value = getattr(mission, name)
    return (value or "") if name in TRANSLATED_COLUMNS else value


def mission_create(
    *,
    code: str,
    name: str,
    kind: str,
    host_country: str,
    city: str,
    timezone: str,
    currency: str,
    languages: list[str],
    acting_user: User | SystemActor,
    address: str = "",
    phone: str = "",
    email: str = "",
    website: str = "",
    jurisdiction: list[str] | None = None,
    office_hours: list[dict[str, Any]] | None = None,
    name_tr: str = "",
    address_tr: str = "",
    city_tr: str = "",
    region: str = "",
    silence_alert_minutes: int | None = None,
    wait_target_days: int | None = None,
) -> Mission:
    """Create a mission: its row, its host name, its schema and its first data key.

    `name`, `address` and `city` are in English (shown when a language has none of its own);
    `name_tr`, `address_tr` and `city_tr` in Turkish. The address leaves out the country:
    pages add the host country's name in the reader's language (`Mission.postal_address`).

    The schema is cloned from the template schema (TENANT_BASE_SCHEMA), so the cost does not
    grow with the number of missions. Everything happens in one transaction: bad input or a
    failed clone leaves no row, no domain and no schema behind. Opening a mission is an HQ
    action: checked against HQ's own row, as the new mission does not exist yet.
    """
    permission_require(user=acting_user, mission=mission_hq(), action=Action.MISSION_MANAGE)
    code = code.strip().lower()
    mission = Mission(
        schema_name=_schema_name_for(code),
        code=code,
        kind=kind,
        host_country=host_country.strip().upper(),
        timezone=timezone.strip(),
        currency=currency.strip().upper(),
        languages=[language.strip().lower() for language in languages],
        phone=phone.strip(),
        email=email.strip(),
        website=website.strip(),
        jurisdiction=[region.strip().upper() for region in (jurisdiction or [])],
        office_hours=office_hours or [],
        region=region,
        silence_alert_minutes=silence_alert_minutes,
        wait_target_days=wait_target_days,
    )
    for column, value in {
        "name_en": name, "name_tr": name_tr, "address_en": address, "address_tr": address_tr,
        "city_en": city, "city_tr": city_tr,
    }.items():  # fmt: skip
        setattr(mission, column, (value or "").strip())
    try:
        mission.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ApplicationError.from_validation_error(MissionError.INVALID, error) from error
    if mission.kind == "hq":
        raise ApplicationError(MissionError.INVALID, _("HQ is not a mission."), field="kind")

    # The tenant row is written from the public schema (django-tenants' rule), whichever schema
    # the caller's connection is on; the caller's schema is back when this returns.
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        # Two requests creating the same code queue here; the second then finds the first's row.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"mission:{code}"])
        _ensure_code_free(code=code, schema_name=mission.schema_name)
        set_acting_user(mission, acting_user)
        _saved_in_english(mission)
        schema_clone_from_template(schema_name=mission.schema_name)
        Domain.objects.create(domain=mission.host, tenant=mission, is_primary=True)
        data_key_create(schema_name=mission.schema_name, acting_user=acting_user)
        mission_keys_set_up(code=mission.code, schema_name=mission.schema_name)
        # its copy of HQ's reference data: the template's is as old as the last deploy
        reference_mission_set_up(schema_name=mission.schema_name)
        with schema_context(mission.schema_name):
            outbox_event_record(
                topic=MissionTopic.MISSION_OPENED,
                aggregate_id=mission.pk,
                payload={
                    "code": mission.code,
                    "kind": mission.kind,
                    "host_country": mission.host_country,
                    "currency": mission.currency,
                    "timezone": mission.timezone,
                },
                acting_user=acting_user,
            )
    return mission


# What may change once a mission exists. The code, kind, country, city, time zone and currency
# name its schema, host and money; they are fixed at creation (the city's Turkish name is not:
# it only says the same city in another language). `name` and `address` stand for the English
# columns.
UPDATABLE_FIELDS = frozenset(
    {"name", "languages", "address", "phone", "email", "website", "jurisdiction",
     "office_hours", "status", "region", "silence_alert_minutes", "wait_target_days",
     *(TRANSLATED_COLUMNS - {"city_en"})}
)  # fmt: skip


def mission_update(*, mission: Mission, acting_user: User | SystemActor, **changes: Any) -> Mission:
    """Change a mission's profile or status: validated, with history and one outbox event.

    Works on the row read again under its lock (returned; `mission` itself is left as it was),
    so two changes of status at once cannot both start from the same state. The status moves
    only along `MISSION_TRANSITIONS`: a closed mission stays closed."""
    permission_require(user=acting_user, mission=mission, action=Action.MISSION_MANAGE)
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ApplicationError(
            MissionError.INVALID,
            _("These cannot change after creation: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))},
        )
    changes = {TRANSLATED.get(name, name): value for name, value in changes.items()}
    for column in TRANSLATED_COLUMNS & set(changes):  # no value and an empty one are the same
        changes[column] = (changes[column] or "").strip()
    with transaction.atomic():
        mission = mission_lock(pk=mission.pk)
        changed = sorted(name for name, value in changes.items() if _stored(mission, name) != value)
        if not changed:
            return mission
        if "status" in changed:
            mission.move_to(changes["status"])  # refuses a move the table does not allow
        for name in changed:
            setattr(mission, name, changes[name])
        try:
            mission.full_clean(validate_unique=False)
        except ValidationError as error:
            raise ApplicationError.from_validation_error(MissionError.INVALID, error) from error
        set_acting_user(mission, acting_user)
        originals = {column.rpartition("_")[0] for column in changed if column.endswith("_en")}
        _saved_in_english(mission, update_fields=[*changed, *sorted(originals), "updated_at"])
        with schema_context(mission.schema_name):
            outbox_event_record(
                topic=MissionTopic.MISSION_UPDATED,
                aggregate_id=mission.pk,
                payload={"fields": changed, "status": mission.status},
                acting_user=acting_user,
            )
    return mission


def mission_data_key_rotate(*, mission: Mission, acting_user: User | SystemActor) -> DataKey:
    """Make a new data key the mission's active one (older keys stay for reading), with its
    history (the new key's row and the retired one's, by `acting_user`) and outbox event. Rows
    move over to the new key with `mission_reencrypt`."""
    permission_require(user=acting_user, mission=mission, action=Action.MISSION_MANAGE)
    with transaction.atomic():
        key = data_key_rotate(schema_name=mission.schema_name, acting_user=acting_user)
        with schema_context(mission.schema_name):
            outbox_event_record(
                topic=MissionTopic.DATA_KEY_ROTATED,
                aggregate_id=key.pk,
                payload={"key_id": key.key_id},
                acting_user=acting_user,
            )
    return key
