from celery import shared_task
from django.core import management


@shared_task
def clear_expired_sessions() -> None:
    """Sessions live in the public schema; beat runs this there. Old hand-offs between hosts
    (missions.Handoff, also in public) go with them."""
    from missions.services import handoff_prune

    management.call_command("clearsessions")
    handoff_prune()


@shared_task
def worker_ping() -> dict[str, str]:
    """Answer with the schema the task ran in: shows a worker is alive and finds the mission."""
    from consulate.kernel.tenancy import current_schema

    return {"schema": current_schema()}
