"""Views of the platform itself (not of a feature): unknown host, health."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from consulate.kernel.tenancy import current_schema


def unknown_host(request: HttpRequest) -> HttpResponse:
    """A host name that is neither HQ nor a mission: a friendly 404 whatever DEBUG says."""
    return render(request, "unknown_host.html", {"host": request.get_host()}, status=404)


def health_status() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {error.__class__.__name__}"
    try:
        from consulate.celery import app

        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as error:
        checks["broker"] = f"error: {error.__class__.__name__}"
    checks["schema"] = current_schema()
    healthy = checks["database"] == "ok" and checks["broker"] == "ok"
    return healthy, checks


def health(request: HttpRequest) -> JsonResponse:
    healthy, checks = health_status()
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
    )
