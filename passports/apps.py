from django.apps import AppConfig


class PassportsConfig(AppConfig):
    """Passport and emergency travel document cases at a mission: applications, photos, the
    MRZ (`passports.mrz`, reused by visas) and the documents' registers at HQ."""

    name = "passports"
    verbose_name = "Passports"

    def ready(self) -> None:
        # HQ builds its register of lost and stolen documents from this app's events
        # (passports/register/).
        from sync.registry import projector_register

        from .register.projector import (
            NAME,
            TOPICS,
            reported_documents_project,
            reported_documents_rebuild,
        )

        projector_register(
            name=NAME,
            topics=TOPICS,
            apply=reported_documents_project,
            rebuild=reported_documents_rebuild,
        )
        # HQ's personalisation queue and the register of issued documents
        from .register import personalisation_projector as personalisation

        projector_register(
            name=personalisation.NAME,
            topics=personalisation.TOPICS,
            apply=personalisation.personalisation_project,
        )

        # HQ's register of the applications open at every mission, which warns a mission's
        # officer of the same person's case elsewhere
        from .register import open_applications_projector as open_applications

        projector_register(
            name=open_applications.NAME,
            topics=open_applications.TOPICS,
            apply=open_applications.open_applications_project,
            rebuild=open_applications.open_applications_rebuild,
        )

        # Passport applications in HQ monitoring's generic case register (missions/register/):
        # a case opens with the submission and closes with the decision or a withdrawal
        from missions.register.cases import case_projector, case_type_register

        from .register.cases import CASE_TYPES, CASES_NAME

        cases = case_projector(name=CASES_NAME, case_types=CASE_TYPES)
        projector_register(
            name=CASES_NAME, topics=cases.topics, apply=cases.apply, rebuild=cases.rebuild
        )
        for case_type in CASE_TYPES:
            case_type_register(case_type)

        # HQ's register of issued travel documents, which its seal verifier reads
        # (passports/register/etd_projector.py).
        from .register import etd_projector

        projector_register(
            name=etd_projector.NAME,
            topics=etd_projector.TOPICS,
            apply=etd_projector.issued_documents_project,
            rebuild=etd_projector.issued_documents_rebuild,
        )
        # HQ's staff activity register, from what only staff do with a case (a citizen's own
        # steps, the start, the photo, the submission, are not staff activity)
        from missions.register.activity import activity_register

        from .events import PassportTopic

        activity_register(
            name="passports.activity",
            topics=[
                PassportTopic.APPLICATION_BIOMETRICS_TAKEN,
                PassportTopic.APPLICATION_RECOMMENDED,
                PassportTopic.APPLICATION_RETURNED,
                PassportTopic.APPLICATION_APPROVED,
                PassportTopic.APPLICATION_REFUSED,
                PassportTopic.APPLICATION_COLLECTED,
                PassportTopic.ETD_ISSUED,
                PassportTopic.ETD_REVOKED,
            ],
        )
