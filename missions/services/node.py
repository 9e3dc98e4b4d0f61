"""Moving a mission to its own node: its own machine and PostgreSQL (docs/sync.md).

`mission_node_export` (at HQ) freezes the mission in HQ's database and writes a move package:
its schema as `pg_dump` wrote it, and the rows of HQ's shared tables it needs: the mission,
its host names, its data keys, and the accounts its rows name (staff, and citizens who booked
or wait there: foreign keys into the accounts table and the `user_id` columns) with their
e-mail addresses, second factors and roles. `mission_node_import` (at the new node, on a
fresh database) loads both. From then on the node serves the mission and sends its events to
HQ through sync, continuing the chain of bundles where HQ's copy left it; HQ's copy of the
schema stays as it was, and HQ's pages for the mission send people to the node.

The package holds password hashes, second-factor secrets and the mission's data; carry it as
you would a backup. Its data keys stay wrapped under the master key, so the node needs the same
`CONSULATE_MASTER_KEY` and `CONSULATE_BLIND_INDEX_KEY` as HQ (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from base64 import b64decode, b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SystemActor
from consulate.kernel.crypto.models import DataKey
from consulate.kernel.errors import ApplicationError
from consulate.kernel.history import set_acting_user

from ..error_codes import MissionError
from ..locks import mission_lock
from ..models import Domain, Membership, Mission
from ..permissions import Action, permission_require
from ..selectors import mission_hq

FORMAT = "consulate-node-move/1"
SCHEMA_FILE = "schema.dump"
PUBLIC_FILE = "public.json"
# node-local accounts (citizens signing up at the node) take ids from here, so that they never
# meet the ids of accounts that came from HQ
NODE_ACCOUNT_IDS_FROM = 1_000_000_000

# HQ's shared tables a mission's rows may point at, and how the package carries them
_CARRIED_TABLES = {"accounts_user", "missions_mission"}


@dataclass(frozen=True)
class NodeMove:
    mission: str
    schema_name: str
    accounts: int
    memberships: int
    dump_bytes: int


def _owner_connection() -> dict[str, Any]:
    """The database, logged in as the owner role (DATABASE_OWNER_URL), for pg_dump/pg_restore."""
    params = dict(connection.settings_dict)
    owner = getattr(settings, "DATABASE_OWNER", None) or {}
    params.update({key: owner[key] for key in ("USER", "PASSWORD", "HOST", "PORT") if key in owner})
    return params


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the embedded server's (the pgserver wheel, PostgreSQL 16, which
    reads older servers too) in development, else the machine's."""
    try:
        import pgserver  # the development dependency; production images have the client tools
    except ImportError:
        pass
    else:
        return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise ApplicationError(
            MissionError.INVALID, _("%(tool)s is not installed.") % {"tool": name}
        )
    return found


def _pg_run(tool: str, *args: str) -> None:
    params = _owner_connection()
    env = dict(os.environ, PGPASSWORD=str(params.get("PASSWORD") or ""))
    options = params.get("OPTIONS") or {}
    # a Unix socket's folder may come as the URL's `?host=` (django-environ puts it in OPTIONS)
    host = params.get("HOST") or options.get("host") or "localhost"
    command = [
        _pg_tool(tool),
        "--host", str(host),
        "--port", str(params.get("PORT") or options.get("port") or 5432),
        "--username", str(params["USER"]),
        "--dbname", str(params["NAME"]),
        *args,
    ]  # fmt: skip
    # the command is ours: the tool's path and the connection's settings, no user input
    answer = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if answer.returncode != 0:
        raise ApplicationError(
            MissionError.INVALID,
            _("%(tool)s failed: %(error)s") % {"tool": tool, "error": answer.stderr.strip()[:500]},
        )


def _references_to_shared_tables(schema_name: str) -> dict[str, list[tuple[str, str]]]:
    """Foreign keys from the mission's tables into HQ's shared tables:
    {shared table: [(mission table, column)]}."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT target.relname, source.relname, attribute.attname
            FROM pg_constraint c
            JOIN pg_class source ON source.oid = c.conrelid
            JOIN pg_class target ON target.oid = c.confrelid
            JOIN pg_namespace target_ns ON target_ns.oid = target.relnamespace
            JOIN pg_attribute attribute
              ON attribute.attrelid = c.conrelid AND attribute.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.connamespace = %s::regnamespace
              AND target_ns.nspname = 'public'
            """,
            [schema_name],
        )
        found: dict[str, list[tuple[str, str]]] = {}
        for target, source, column in cursor.fetchall():
            found.setdefault(target, []).append((source, column))
    return found


def _account_columns(schema_name: str) -> list[tuple[str, str]]:
    """Columns of the mission's tables that hold an account's id without a foreign key (the
    project names them `user_id`: a booking's, a waitlist or lottery entry's citizen)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND column_name = 'user_id'"
            " AND data_type IN ('bigint', 'integer')",
            [schema_name],
        )
        return [(table, column) for table, column in cursor.fetchall()]


def _account_ids(schema_name: str, references: list[tuple[str, str]]) -> set[int]:
    if not references:
        return set()
    union = sql.SQL(" UNION ").join(
        sql.SQL("SELECT {column} FROM {table} WHERE {column} IS NOT NULL").format(
            column=sql.Identifier(column), table=sql.Identifier(schema_name, table)
        )
        for table, column in references
    )
    with connection.cursor() as cursor:
        cursor.execute(union)
        return {row[0] for row in cursor.fetchall()}


def _row(instance: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in exclude
    }


def mission_node_export(
    *, mission: Mission, node_url: str, out_dir: Path, acting_user: User | SystemActor
) -> NodeMove:
    """Freeze `mission` here and write its move package into `out_dir` (created; must be
    empty). HQ's pages for the mission send people to `node_url` from now on."""
    permission_require(user=acting_user, mission=mission_hq(), action=Action.MISSION_MANAGE)
    if mission.is_hq:
        raise ApplicationError(MissionError.INVALID, _("HQ is not a mission."))
    if not node_url.startswith(("http://", "https://")):
        raise ApplicationError(
            MissionError.INVALID, _("Give the node's address, http:// or https://."), field="url"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise ApplicationError(MissionError.INVALID, _("The folder is not empty."), field="out")

    schema = mission.schema_name
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        # what could refuse the move is checked before the mission is frozen
        references = _references_to_shared_tables(schema)
        unknown = sorted(set(references) - _CARRIED_TABLES)
        if unknown:
            raise ApplicationError(
                MissionError.INVALID,
                _("The mission's rows refer to shared tables a move does not carry: %(tables)s.")
                % {"tables": ", ".join(unknown)},
            )
        with transaction.atomic():
            locked = mission_lock(pk=mission.pk)
            if locked.node_url:
                raise ApplicationError(
                    MissionError.INVALID,
                    _("This mission is served by %(url)s already.") % {"url": locked.node_url},
                )
            locked.node_url = node_url
            set_acting_user(locked, acting_user)
            locked.save(update_fields=["node_url", "updated_at"])
        try:
            package = _package_write(mission, locked, schema, references, out_dir)
        except BaseException:
            # nothing moved: the mission is served here again, and the folder holds no half
            with transaction.atomic():
                thawed = mission_lock(pk=mission.pk)
                thawed.node_url = ""
                set_acting_user(thawed, acting_user)
                thawed.save(update_fields=["node_url", "updated_at"])
            for written in out_dir.iterdir():
                written.unlink()
            raise
    dump = out_dir / SCHEMA_FILE
    return NodeMove(
        mission=mission.code,
        schema_name=schema,
        accounts=len(package["users"]),
        memberships=len(package["memberships"]),
        dump_bytes=dump.stat().st_size,
    )


def _package_write(
    mission: Mission,
    locked: Mission,
    schema: str,
    references: dict[str, list[tuple[str, str]]],
    out_dir: Path,
) -> dict[str, Any]:
    """The package of a frozen mission: `public.json`, then the schema's dump."""
    # Every change at the mission writes its outbox, which locks the counter row: once this
    # lock is granted, no change begun before the freeze is still open.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                sql.Identifier(schema, "sync_outboxcounter")
            )
        )
    staff = set(Membership.objects.filter(mission=mission).values_list("user_id", flat=True))
    named = {*references.get("accounts_user", []), *_account_columns(schema)}
    account_ids = staff | _account_ids(schema, sorted(named))
    users = list(User.objects.filter(pk__in=account_ids).order_by("pk"))
    package = {
        "format": FORMAT,
        "mission": _row(locked, exclude=("node_url",)),
        "domains": [domain.domain for domain in Domain.objects.filter(tenant=mission)],
        "data_keys": [
            {
                **_row(key, exclude=("id", "wrapped_key")),
                "wrapped_key": b64encode(bytes(key.wrapped_key)).decode(),
            }
            for key in DataKey.objects.filter(schema_name=schema).order_by("key_id")
        ],
        "users": [_row(user, exclude=("first_name_index", "last_name_index")) for user in users],
        "email_addresses": [
            _row(address, exclude=("id",))
            for address in EmailAddress.objects.filter(user_id__in=account_ids)
        ],
        "authenticators": [
            _row(authenticator, exclude=("id",))
            for authenticator in Authenticator.objects.filter(user_id__in=account_ids)
        ],
        "memberships": [
            _row(membership, exclude=("id", "mission_id"))
            for membership in Membership.objects.filter(mission=mission)
        ],
    }
    (out_dir / PUBLIC_FILE).write_text(json.dumps(package, cls=DjangoJSONEncoder, indent=1))
    (out_dir / PUBLIC_FILE).chmod(0o600)
    dump = out_dir / SCHEMA_FILE
    _pg_run("pg_dump", "--format=custom", "--schema", schema, "--file", str(dump))
    dump.chmod(0o600)
    return package


def _datetimes(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if isinstance(row.get(name), str):
            row[name] = parse_datetime(row[name])
    return row


def mission_node_import(*, in_dir: Path) -> NodeMove:
    """On a new node (this database, migrated, without the mission): load a move package.

    The node's platform does this (no person holds a role here yet: the roles arrive with it).
    """
    try:
        package = json.loads((in_dir / PUBLIC_FILE).read_text())
    except (OSError, ValueError) as error:
        raise ApplicationError(
            MissionError.INVALID, _("This is not a move package: %(error)s") % {"error": error}
        ) from error
    if not isinstance(package, dict) or package.get("format") != FORMAT:
        raise ApplicationError(MissionError.INVALID, _("This is not a move package."))
    try:
        mission, user_ids = _public_rows_load(package)
    except (KeyError, TypeError, ValueError, IntegrityError) as error:
        raise ApplicationError(
            MissionError.INVALID,
            _("This move package cannot be loaded here: %(error)s") % {"error": error},
        ) from error
    schema = mission.schema_name
    dump = in_dir / SCHEMA_FILE
    try:
        _pg_run(
            "pg_restore", "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
            str(dump),
        )  # fmt: skip
    except ApplicationError:
        _public_rows_unload(mission, user_ids)  # so that the import can be run again
        raise
    return NodeMove(
        mission=mission.code,
        schema_name=schema,
        accounts=len(package["users"]),
        memberships=len(package["memberships"]),
        dump_bytes=dump.stat().st_size,
    )


def _public_rows_load(package: dict[str, Any]) -> tuple[Mission, list[int]]:
    """The package's rows of HQ's shared tables, in one transaction; the mission and the ids of
    the accounts made."""
    row = _datetimes(dict(package["mission"]), "created_at", "updated_at")
    schema = row["schema_name"]
    if Mission.objects.filter(code=row["code"]).exists() or schema_exists(schema):
        raise ApplicationError(
            MissionError.CODE_TAKEN,
            _("This node has the mission %(code)s already.") % {"code": row["code"]},
        )
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        user_ids = []
        mission = Mission(**row, node_url="")
        Mission.objects.bulk_create([mission])  # no save(): the schema comes from the dump
        Domain.objects.bulk_create(
            [Domain(domain=name, tenant=mission, is_primary=index == 0)
             for index, name in enumerate(package["domains"])]
        )  # fmt: skip
        DataKey.objects.bulk_create(
            [DataKey(**{**_datetimes(key, "created_at", "updated_at", "retired_at"),
                        "wrapped_key": b64decode(key["wrapped_key"])})
             for key in package["data_keys"]]
        )  # fmt: skip
        for user_row in package["users"]:
            user = User(**_datetimes(dict(user_row), "date_joined", "last_login"))
            user.save(force_insert=True)  # names encrypted under this node's key, indexes made
            user_ids.append(user.pk)
        EmailAddress.objects.bulk_create(
            [EmailAddress(**address) for address in package["email_addresses"]]
        )
        Authenticator.objects.bulk_create(
            [Authenticator(**_datetimes(a, "created_at", "last_used_at"))
             for a in package["authenticators"]]
        )  # fmt: skip
        Membership.objects.bulk_create(
            [Membership(**_datetimes(m, "created_at", "updated_at"), mission=mission)
             for m in package["memberships"]]
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'),"
                " GREATEST((SELECT max(id) FROM accounts_user), %s))",
                [NODE_ACCOUNT_IDS_FROM],
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('missions_mission', 'id'),"
                " (SELECT max(id) FROM missions_mission))"
            )
    return mission, user_ids


def _public_rows_unload(mission: Mission, user_ids: list[int]) -> None:
    """Undo `_public_rows_load` after a restore that failed."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        Membership.objects.filter(mission=mission).delete()
        Authenticator.objects.filter(user_id__in=user_ids).delete()
        EmailAddress.objects.filter(user_id__in=user_ids).delete()
        User.objects.filter(pk__in=user_ids).delete()
        DataKey.objects.filter(schema_name=mission.schema_name).delete()
        Domain.objects.filter(tenant=mission).delete()
        Mission.objects.filter(pk=mission.pk).delete()
