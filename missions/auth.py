"""The authentication backends: Django's and allauth's, loading the user of a session with what
every request asks of them in the same query.

Each request with a logged-in user used to read the user, then whether they are staff anywhere
(the second-factor rule), whether they have a TOTP device, and their roles at the mission
(up to three times: navigation, the page's access check, the service's permission check).
`user_load` reads all of it in one statement; `roles_held` and the second-factor middleware use
what it loaded. The roles are as they were when the request started, as the user row is."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from allauth.mfa.models import Authenticator
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from consulate.kernel.accounts.models import User
from consulate.kernel.rawsql import raw_one

# "<mission id>:<role>" for each active membership, as `user_load` annotates them
ROLE_SEPARATOR = ":"


# One fixed statement: composed with the ORM (an array subquery and an EXISTS) it cost a few
# milliseconds of CPU on every request with a logged-in user (docs/benchmarks.md).
_USER_LOAD_SQL = """
SELECT u.*,
       ARRAY(SELECT m.mission_id::text || %(separator)s || m.role
             FROM missions_membership m
             WHERE m.user_id = u.id AND m.is_active) AS active_roles,
       EXISTS (SELECT 1 FROM mfa_authenticator a
               WHERE a.user_id = u.id AND a.type = %(totp)s) AS has_totp
FROM accounts_user u
WHERE u.id = %(user)s
"""


def user_load(user_id: Any) -> User | None:
    """The user with this id, their active roles (by mission) and whether they have a TOTP
    device, in one statement; None if there is none."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    params = {"separator": ROLE_SEPARATOR, "totp": Authenticator.Type.TOTP.value, "user": pk}
    return raw_one(User, _USER_LOAD_SQL, params)


def roles_loaded(user: Any) -> dict[int, frozenset[str]] | None:
    """The roles `user_load` read for `user`, by mission id; None if it was not loaded so."""
    loaded = getattr(user, "active_roles", None)  # through request.user's lazy wrapper too
    if loaded is None:
        return None
    by_mission: dict[int, set[str]] = {}
    for entry in loaded:
        mission_id, _, role = entry.partition(ROLE_SEPARATOR)
        by_mission.setdefault(int(mission_id), set()).add(role)
    return {mission_id: frozenset(roles) for mission_id, roles in by_mission.items()}


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = user_load(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class AuthenticationBackend(AllauthBackend):
    def get_user(self, user_id: Any) -> Any:
        user = user_load(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
