from django.apps import AppConfig


class FeesConfig(AppConfig):
    name = "fees"
    verbose_name = "Fees"

    def ready(self) -> None:
        # HQ builds its revenue register from this app's events (fees/register/).
        from missions.monitoring import monitoring_register
        from missions.register.activity import activity_register
        from missions.register.cases import case_projector, case_type_register
        from sync.registry import projector_register

        from .register.cases import (
            ACTIVITY_NAME,
            ACTIVITY_TOPICS,
            CASE_TYPES,
            CASES_NAME,
            staff_act,
        )
        from .register.monitoring import FeesContributor
        from .register.projector import NAME, TOPICS, revenue_project, revenue_rebuild

        projector_register(name=NAME, topics=TOPICS, apply=revenue_project, rebuild=revenue_rebuild)
        # its waivers and refund requests in HQ's case register, and the staff who act in fees
        # in HQ's staff activity register (missions/register/)
        cases = case_projector(name=CASES_NAME, case_types=CASE_TYPES)
        projector_register(
            name=CASES_NAME, topics=cases.topics, apply=cases.apply, rebuild=cases.rebuild
        )
        for case_type in CASE_TYPES:
            case_type_register(case_type)
        activity_register(name=ACTIVITY_NAME, topics=ACTIVITY_TOPICS, accepts=staff_act)
        monitoring_register(FeesContributor())
