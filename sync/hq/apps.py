from django.apps import AppConfig


class SyncHqConfig(AppConfig):
    """HQ's side of sync, in the public schema: missions' public keys, HQ's own keys, the
    central event log, held and refused bundles, reference data versions."""

    name = "sync.hq"
    label = "sync_hq"
    verbose_name = "Sync (HQ)"
