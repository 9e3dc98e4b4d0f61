"""Reference data down: HQ publishes signed versions, each mission keeps and reads its own copy.

HQ's reference data (the fee schedule, exchange rates, exemption categories, rounding rules;
later document number blocks, lost and stolen documents, the watchlist) lives in HQ's tables in
the public schema. Its apps are in TENANT_APPS too, so every mission schema has the same tables:
the mission's copy. A mission's search_path puts its own schema before public, so the apps'
selectors, unchanged, read the mission's copy and never HQ's table; a mission keeps working on
its last copy while it cannot reach HQ.

- Sets: an app names the tables it sends down (`reference_set_register` in its `ready()`); sync
  imports no app.
- HQ: `reference_publish` reads every set, and when the content differs from the last version
  signs it with HQ's `sign` key as a new version (`sync.hq.models.ReferenceVersion`). The
  reference services call it when their transaction commits (`reference_publish_on_commit`);
  `manage.py reference_publish` and beat do too, so a publish lost after a commit is made up.
- Down: HQ's answer to a push carries the newest version the mission has not got
  (`reference_latest_after`); in the database that holds HQ and the missions, a Celery task
  applies it to every mission schema after each publish (`reference_fan_out`), and a new mission
  gets it when created (`reference_mission_set_up`).
- Mission: `reference_apply` checks the version (HQ's key, as the mission trusts it; newer than
  its copy) and replaces the copy in one transaction: rows upserted by id, rows gone deleted.

The bundle (kind `reference`, docs/sync.md)::

    {"header": {"format", "kind": "reference", "version", "created_at", "key_id", "sets"},
     "data": {set name: {model label: [row, ...]}}}

A row holds every concrete column by attribute name (`id` included): dates and times as ISO 8601
(UTC with "Z" for times), decimals as strings, bytes as hex. Each version holds the whole data,
not a difference, so a mission that missed versions needs only the newest.

A copy's table keeps its database guards: the fee schedule's trigger refuses to delete a version
or change its amount in a mission's copy as in HQ's table. HQ never rewrites a version, so a new
version only adds rows or sets an end date; a version that would need a refused change (possible
only if a database owner rewrote HQ's table by hand) is refused whole, logged, and the mission
keeps its copy (docs/sync.md, "Down: reference data").
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.utils import dateformat, timezone
from django.utils.timesince import timesince
from django.utils.translation import pgettext
from django_tenants.utils import get_tenant_model, schema_context

from consulate.kernel.tenancy import current_schema, task_queue_on_commit

from . import bundle as frames
from .error_codes import BundleRefusal
from .hq.models import ReferenceVersion
from .keys import hq_key_ensure, hq_key_private, trusted_key
from .models import KeyPurpose, SyncLink

logger = logging.getLogger(__name__)

KIND = "reference"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
PUBLIC = "public"
# rows per INSERT statement when a copy is replaced
UPSERT_BATCH = 500


class ReferenceRefusal(enum.Enum):
    """Why a mission did not apply a reference version (logged; `reference_apply` is False).
    Frames that cannot be read or trusted reuse the bundle codes (`BundleRefusal`)."""

    NOT_NEWER = "sync.reference.not_newer"  # the copy is at this version or a newer one
    GUARD = "sync.reference.guard"  # the copy's database guard refused a change (logged)


class ReferenceRefused(Exception):
    def __init__(self, code: enum.Enum, detail: str) -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail


# --- Sets: what apps send down ------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceSet:
    name: str
    models: tuple[type[models.Model], ...]


_SETS: dict[str, ReferenceSet] = {}


def reference_set_register(*, name: str, models: Sequence[type[models.Model]]) -> None:
    """An app's reference tables, sent down to every mission as the set `name`. Call it from
    the app's `AppConfig.ready()`; the app must be in SHARED_APPS (HQ's tables) and TENANT_APPS
    (each mission's copy). Registering the same set again changes nothing."""
    models_tuple = tuple(models)
    existing = _SETS.get(name)
    if existing is not None and existing.models != models_tuple:
        raise ValueError(f"reference set {name!r} is registered with other models")
    if not models_tuple or any("id" not in _fields(model) for model in models_tuple):
        raise ValueError(f"reference set {name!r}: each model needs an `id` primary key")
    _SETS[name] = ReferenceSet(name=name, models=models_tuple)


def reference_sets() -> list[ReferenceSet]:
    return [_SETS[name] for name in sorted(_SETS)]


def _fields(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    """Concrete columns by attribute name (with modeltranslation, `name_en` and `name_tr` too;
    rows are read and written by column, never through the translating attribute)."""
    return {field.attname: field for field in model._meta.concrete_fields}


def _column(field: models.Field[Any, Any]) -> str:
    return str(field.column)


# --- Rows as JSON -------------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime(TIME_FORMAT)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return value
    return str(value)


def _from_json(field: models.Field[Any, Any], value: Any) -> Any:
    """A value from a bundle as the database takes it for `field`."""
    if value is None:
        return None
    if isinstance(field, models.BinaryField):
        return bytes.fromhex(value)
    return field.get_db_prep_value(field.to_python(value), connection, prepared=False)


def _rows(model: type[models.Model], schema: str) -> list[dict[str, Any]]:
    fields = _fields(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(field)) for field in fields.values())
    table = f"{quote(schema)}.{quote(model._meta.db_table)}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY id")  # noqa: S608
        return [
            {name: _to_json(value) for name, value in zip(fields, row, strict=True)}
            for row in cursor.fetchall()
        ]


def reference_content(*, schema: str = PUBLIC) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every registered set's rows in `schema` (HQ's tables by default; a mission's copy to
    compare), as a bundle's `data`."""
    return {
        ref_set.name: {model._meta.label: _rows(model, schema) for model in ref_set.models}
        for ref_set in reference_sets()
    }


# --- HQ: publishing ------------------------------------------------------------------------------


def _mission_node() -> bool:
    """A mission on its own node (its HQ elsewhere) publishes nothing: its copy comes from HQ."""
    return bool(getattr(settings, "SYNC_HQ_URL", ""))


def reference_publish(*, acting_user: Any) -> ReferenceVersion | None:
    """HQ: sign the reference data as a new version if it changed since the last one; None if
    not. Runs in the public schema (whatever the connection is on) in its own transaction, one
    publisher at a time. In the database that holds missions too, a task queued on commit
    applies the version to every mission schema (`reference_fan_out`).

    Who may change reference data is checked by the services that change it; publishing what
    is there changes nothing a person decides, so any caller may (the command, beat: SYSTEM)."""
    with schema_context(PUBLIC), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sync:reference_publish'))")
        data = reference_content()
        content_hash = frames.sha256_hex(frames.canonical(data))
        latest = ReferenceVersion.objects.order_by("-version").first()
        if latest is not None and latest.content_hash == content_hash:
            return None
        key = hq_key_ensure(KeyPurpose.SIGN)
        now = timezone.now()
        version = (latest.version if latest else 0) + 1
        header = {
            "format": frames.FORMAT,
            "kind": KIND,
            "version": version,
            "created_at": now.astimezone(dt.UTC).strftime(TIME_FORMAT),
            "key_id": key.key_id,
            "sets": sorted(data),
        }
        signed = frames.bundle_sign({"header": header, "data": data}, hq_key_private(key))
        row = ReferenceVersion.objects.create(
            version=version,
            created_at=now,
            content_hash=content_hash,
            data=signed.to_bytes(),
            sets=sorted(data),
        )
        logger.info(
            "reference data v%s published (%s bytes) by %s",
            version,
            len(signed.body),
            getattr(acting_user, "pk", acting_user),
        )
        from .tasks import reference_fan_out

        task_queue_on_commit(reference_fan_out)
    return row


def _publish_after_commit(acting_user: Any) -> None:
    reference_publish(acting_user=acting_user)


def reference_publish_on_commit(*, acting_user: Any) -> None:
    """Publish a new version once the caller's transaction commits (the reference services call
    it after each change). Several changes in one transaction publish one version (the first
    callback publishes, the others find the content unchanged); nothing is published if it rolls
    back. A failure is logged, not raised (the change is committed by then): the next
    change, `manage.py reference_publish` or beat's `reference_refresh` publishes it. A mission
    node does nothing: its reference data comes from HQ."""
    if _mission_node():
        return
    transaction.on_commit(functools.partial(_publish_after_commit, acting_user), robust=True)


def reference_latest_after(version: int) -> frames.SignedBundle | None:
    """The newest signed version, if it is newer than `version` (what HQ's answer carries)."""
    with schema_context(PUBLIC):
        row = ReferenceVersion.objects.filter(version__gt=version).order_by("-version").first()
        data = bytes(row.data) if row is not None else None
    return frames.SignedBundle.from_bytes(data) if data is not None else None


# --- Mission: applying -------------------------------------------------------------------------


def _parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("not a time")
    return dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=dt.UTC)


def reference_check(bundle: frames.SignedBundle) -> dict[str, Any]:
    """The bundle's content if it is a reference version signed by a key of HQ's this mission
    trusts (not revoked); raises ReferenceRefused otherwise. Reads nothing else."""
    try:
        content = bundle.content
    except frames.BundleError as error:
        raise ReferenceRefused(BundleRefusal.MALFORMED, error.detail) from error
    header = content["header"]
    key_id = header.get("key_id")
    if (
        header.get("format") != frames.FORMAT
        or header.get("kind") != KIND
        or not isinstance(header.get("version"), int)
        or isinstance(header.get("version"), bool)
        or header["version"] < 1
        or not isinstance(key_id, int)
        or not isinstance(header.get("sets"), list)
        or not isinstance(content.get("data"), dict)
    ):
        raise ReferenceRefused(BundleRefusal.MALFORMED, "not a reference version")
    try:
        _parse_time(header.get("created_at"))
    except ValueError as error:
        raise ReferenceRefused(BundleRefusal.MALFORMED, "created_at is not a time") from error
    key = trusted_key(purpose=KeyPurpose.SIGN, key_id=key_id)
    if key is None:
        raise ReferenceRefused(BundleRefusal.UNKNOWN_KEY, f"HQ sign key {key_id} is not trusted")
    if not bundle.verify(bytes(key.public_key)):
        raise ReferenceRefused(BundleRefusal.BAD_SIGNATURE, "the signature does not match")
    return content


def _mission_schema() -> str:
    schema = current_schema()
    if schema == PUBLIC:
        raise RuntimeError("a reference copy is applied in a mission's schema, never in public")
    return schema


def _replace(model: type[models.Model], rows: Any, schema: str) -> int:
    """Make `schema`'s copy of `model` hold exactly `rows`: delete the rows gone, insert the new
    ones, update those that differ. Returns the rows changed. Raises ReferenceRefused on rows it
    cannot read; the database's guards raise DatabaseError."""
    fields = _fields(model)
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and isinstance(row.get("id"), int) for row in rows
    ):
        raise ReferenceRefused(BundleRefusal.MALFORMED, f"{model._meta.label}: rows need an id")
    columns = [name for name in fields if all(name in row for row in rows)] if rows else ["id"]
    if "id" not in columns:
        raise ReferenceRefused(BundleRefusal.MALFORMED, f"{model._meta.label}: no id")
    quote = connection.ops.quote_name
    table = f"{quote(schema)}.{quote(model._meta.db_table)}"
    ids = [row["id"] for row in rows]
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE NOT (id = ANY(%s))", [ids])  # noqa: S608
        changed += cursor.rowcount
        names = ", ".join(quote(_column(fields[name])) for name in columns)
        others = [quote(_column(fields[name])) for name in columns if name != "id"]
        update = (
            f" DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in others)}"
            f" WHERE ({', '.join(f'{table}.{c}' for c in others)})"
            f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in others)})"
            if others
            else " DO NOTHING"
        )
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), UPSERT_BATCH):
            batch = rows[start : start + UPSERT_BATCH]
            try:
                values = [_from_json(fields[name], row[name]) for row in batch for name in columns]
            except (ValueError, TypeError, ArithmeticError, ValidationError) as error:
                raise ReferenceRefused(
                    BundleRefusal.MALFORMED, f"{model._meta.label}: {error}"
                ) from error
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608
                + ", ".join([placeholders] * len(batch))
                + f" ON CONFLICT (id){update}",
                values,
            )
            changed += cursor.rowcount
    return changed


def reference_apply_checked(bundle: frames.SignedBundle) -> int:
    """`reference_apply`, raising ReferenceRefused (or DatabaseError, from a guard) instead of
    answering False; returns the rows changed."""
    schema = _mission_schema()
    content = reference_check(bundle)
    header, data = content["header"], content["data"]
    known = {ref_set.name: ref_set for ref_set in reference_sets()}
    with transaction.atomic():
        link, _created = SyncLink.objects.select_for_update().get_or_create(id=1)
        if header["version"] <= link.reference_version:
            raise ReferenceRefused(
                ReferenceRefusal.NOT_NEWER,
                f"v{header['version']} is not newer than the copy's v{link.reference_version}",
            )
        changed = 0
        for name in header["sets"]:
            if name not in known:
                # a set this code does not know yet (HQ runs newer code): the rest applies
                logger.warning("reference set %r unknown here: skipped", name)
                continue
            tables = data.get(name)
            if not isinstance(tables, dict):
                raise ReferenceRefused(BundleRefusal.MALFORMED, f"set {name!r} has no data")
            for model in known[name].models:
                if model._meta.label in tables:
                    changed += _replace(model, tables[model._meta.label], schema)
        link.reference_version = header["version"]
        link.reference_signed_at = _parse_time(header["created_at"])
        link.reference_received_at = timezone.now()
        link.save(
            update_fields=["reference_version", "reference_signed_at", "reference_received_at"]
        )
    return changed


def reference_apply(bundle: frames.SignedBundle) -> bool:
    """Mission (in its schema): apply a reference version if HQ signed it with a key this
    mission trusts and it is newer than the copy; replace the copy in one transaction and record
    the version in SyncLink. True if applied. Anything refused (tampered, an untrusted key, not
    newer, a database guard) changes nothing, is logged, and answers False."""
    try:
        changed = reference_apply_checked(bundle)
    except ReferenceRefused as refused:
        level = logging.INFO if refused.code is ReferenceRefusal.NOT_NEWER else logging.WARNING
        logger.log(level, "reference version refused in %s: %s", current_schema(), refused)
        return False
    except DatabaseError as error:
        logger.error(
            "reference version refused in %s: %s: %s",
            current_schema(),
            ReferenceRefusal.GUARD.value,
            str(error).strip().splitlines()[0] if str(error).strip() else error,
        )
        return False
    logger.info("reference data applied in %s: %s rows changed", current_schema(), changed)
    return True


def reference_apply_latest() -> bool:
    """In a mission's schema, in the database that holds HQ: apply HQ's newest version if the
    copy is older (what the fan-out task and a new mission do)."""
    _mission_schema()
    version = SyncLink.objects.filter(id=1).values_list("reference_version", flat=True).first()
    latest = reference_latest_after(version or 0)
    return latest is not None and reference_apply(latest)


def _local_mission_schemas() -> list[str]:
    with schema_context(PUBLIC), connection.cursor() as cursor:
        schemas = list(
            get_tenant_model()
            .objects.exclude(schema_name=PUBLIC)
            .filter(status="active", node_url="")  # not one moved to its own node
            .values_list("schema_name", flat=True)
        )
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [schemas])
        present = {name for (name,) in cursor.fetchall()}
    return [schema for schema in schemas if schema in present]


def reference_apply_local(schemas: Iterable[str] | None = None) -> int:
    """Apply HQ's newest version in each mission schema of this database, one after the other,
    in the caller's process; returns how many changed. The fan-out task does the same, one task
    per mission; this is for a command or a test that needs it done now."""
    applied = 0
    for schema in _local_mission_schemas() if schemas is None else schemas:
        with schema_context(schema):
            applied += reference_apply_latest()
    return applied


def reference_mission_set_up(*, schema_name: str) -> bool:
    """A new mission (cloned from the template, whose copy is as old as the last deploy) gets
    HQ's newest version. Call it after `mission_keys_set_up` (which gives it HQ's keys), in the
    creating transaction."""
    with schema_context(schema_name):
        return reference_apply_latest()


# --- Pages: how old the copy is ------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceAge:
    version: int  # 0: the copy taken when the mission's tables were made (no signed version)
    signed_at: dt.datetime | None
    received_at: dt.datetime | None


def reference_age() -> ReferenceAge | None:
    """The version of the copy this mission reads, and when it arrived; None at HQ."""
    if current_schema() == PUBLIC:
        return None
    row = (
        SyncLink.objects.filter(id=1)
        .values_list("reference_version", "reference_signed_at", "reference_received_at")
        .first()
    )
    if row is None:
        return ReferenceAge(version=0, signed_at=None, received_at=None)
    return ReferenceAge(version=row[0], signed_at=row[1], received_at=row[2])


def _mission_zone() -> zoneinfo.ZoneInfo:
    name = getattr(getattr(connection, "tenant", None), "timezone", None)
    if not name:
        schema = current_schema()
        with schema_context(PUBLIC):
            name = (
                get_tenant_model()
                .objects.filter(schema_name=schema)
                .values_list("timezone", flat=True)
                .first()
            )
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def reference_age_context(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """What `sync/reference_age.html` shows on a mission's staff pages: the version, how long
    ago it arrived, and when, in the mission's time zone with the zone named. Empty at HQ."""
    if current_schema() == PUBLIC:
        return {}
    age = reference_age()
    if age is None:
        return {}
    shown: dict[str, Any] = {"version": age.version, "received": age.received_at is not None}
    if age.received_at is not None:
        zone = _mission_zone()
        local = age.received_at.astimezone(zone)
        day = dateformat.format(local, pgettext("date and time on a staff page", "j F Y, H:i"))
        shown["when"] = f"{day}, {zone.key}"
        shown["ago"] = timesince(age.received_at, now or timezone.now(), depth=1)
    return {"reference_age": shown}
