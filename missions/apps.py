from typing import Any

from django.apps import AppConfig


class MissionsConfig(AppConfig):
    name = "missions"
    verbose_name = "Missions"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import Domain, Mission

        # Requests find their mission by host through a cache (consulate/kernel/tenancy.py):
        # a change to a mission or its domains must show on the next request, not minutes later.
        post_save.connect(_forget_mission_hosts, sender=Mission, dispatch_uid="mission-hosts")
        post_delete.connect(_forget_mission_hosts, sender=Mission, dispatch_uid="mission-hosts-d")
        post_save.connect(_forget_domain_host, sender=Domain, dispatch_uid="domain-host")
        post_delete.connect(_forget_domain_host, sender=Domain, dispatch_uid="domain-host-d")

        # a mission node keeps a copy of its profile and its staff's accounts (docs/sync.md)
        from sync.registry import down_set_register

        from .services.down import NAME, accounts_apply, accounts_build

        down_set_register(name=NAME, build=accounts_build, apply=accounts_apply)

        # HQ monitoring: the sync link and the staff count (missions/selectors_monitoring.py)
        from .monitoring import monitoring_register
        from .selectors_monitoring import SyncContributor

        monitoring_register(SyncContributor())


def _forget_mission_hosts(sender: Any, instance: Any, **kwargs: Any) -> None:
    from django.db import transaction

    from consulate.kernel.tenancy import tenant_cache_forget

    from .models import Domain

    hosts = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    tenant_cache_forget(hosts)
    # and again once the change is committed: a request between the two would otherwise put
    # the mission as it was (not yet moved, not yet closed) back in the cache for minutes
    transaction.on_commit(lambda: tenant_cache_forget(hosts))


def _forget_domain_host(sender: Any, instance: Any, **kwargs: Any) -> None:
    from consulate.kernel.tenancy import tenant_cache_forget

    tenant_cache_forget([instance.domain])
