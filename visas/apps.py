from django.apps import AppConfig


class VisasConfig(AppConfig):
    """Visa applications at a mission: categories and checklists, uploads, screening against
    HQ's watchlist and refusal register, four-eyes decisions, stickers and e-visas (issue 12)."""

    name = "visas"
    verbose_name = "Visas"

    def ready(self) -> None:
        from sync.registry import projector_register

        from .register import issued_projector, projector

        # HQ's register of visa cases (visas/register/): the screening of later applications
        # at any mission, and HQ's visa statistics
        projector_register(
            name=projector.NAME,
            topics=projector.TOPICS,
            apply=projector.visa_cases_project,
            rebuild=projector.visa_cases_rebuild,
        )
        # Visa applications in HQ monitoring's generic case register (missions/register/): a
        # case opens when the file is complete and closes with the decision.
        projector.monitoring_cases_register()
        # Issued visas in HQ's register of issued travel documents, which the public verifier
        # reads (annulled and revoked ones marked there)
        issued_projector.register()
        # HQ's staff activity register, from what only staff do with a case
        from missions.register.activity import activity_register

        from .events import VisaTopic

        activity_register(
            name="visas.activity",
            topics=[
                VisaTopic.APPLICATION_CORRECTIONS_ASKED,
                VisaTopic.APPLICATION_ADMISSIBLE,
                VisaTopic.APPLICATION_ATTENDED,
                VisaTopic.APPLICATION_SCREENED,
                VisaTopic.APPLICATION_EXTENDED,
                VisaTopic.APPLICATION_RECOMMENDED,
                VisaTopic.APPLICATION_RETURNED,
                VisaTopic.APPLICATION_ISSUED,
                VisaTopic.APPLICATION_REFUSED,
                VisaTopic.APPEAL_DECIDED,
                VisaTopic.VISA_ANNULLED,
                VisaTopic.VISA_REVOKED,
            ],
        )
