from django.apps import AppConfig


class SyncHqConfig(AppConfig):
    """HQ's side of sync, in the public schema: missions' public keys, HQ's own keys, the
    central event log, held and refused bundles, reference data versions."""

    name = "sync.hq"
    label = "sync_hq"
    verbose_name = "Sync (HQ)"

    def ready(self) -> None:
        # reconciliation's frames (digests, repair) are received by HQ's apply like any other
        from sync.down import hello_handler_register

        from .reconcile import handlers_register

        handlers_register()
        hello_handler_register()  # a node's fresh proof, before HQ sends it a down set
