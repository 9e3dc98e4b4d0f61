from celery import shared_task
from django.core import management


@shared_task
def clear_expired_sessions() -> None:
    """Sessions live in the public schema; beat runs this there."""
    management.call_command("clearsessions")
