"""factory_boy factories. Missions and memberships are made through their services, as SYSTEM
(the platform), so tests build state the way the application does."""

from __future__ import annotations

import factory

from consulate.kernel.accounts.models import User
from consulate.kernel.actors import SYSTEM
from missions.models import Membership, Mission
from missions.services import membership_grant, mission_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = "correct horse battery"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return model_class.objects.create_user(*args, **kwargs)


class MissionParams(factory.DictFactory):
    """Keyword arguments for `mission_create`; override what the test cares about."""

    code = factory.Sequence(lambda n: f"m{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Consulate-General {o.code}")
    kind = "consulate_general"
    host_country = "DE"
    city = "Berlin"
    timezone = "Europe/Berlin"
    currency = "EUR"
    languages = factory.LazyFunction(lambda: ["de", "tr", "en"])
    address = "Example street 1\n10117 Berlin"
    office_hours = factory.LazyFunction(
        lambda: [{"weekday": d, "opens": "09:00", "closes": "13:00"} for d in range(5)]
    )


class MissionFactory(factory.Factory):
    """A mission opened by `mission_create` (schema, host, key, opening event), as SYSTEM."""

    class Meta:
        model = Mission

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return mission_create(acting_user=SYSTEM, **MissionParams(**kwargs))

    @classmethod
    def _build(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("a mission exists only through mission_create: use MissionFactory()")


class MembershipFactory(factory.Factory):
    """A role granted by `membership_grant` (history and event), as SYSTEM."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = "officer"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        return membership_grant(acting_user=SYSTEM, **kwargs)
