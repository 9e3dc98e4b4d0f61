"""Row locks for money operations, always taken in the same order (assessment first)."""

from __future__ import annotations

from .models import Assessment, Payment


def assessment_lock(pk: int) -> Assessment:
    return Assessment.objects.select_for_update().get(pk=pk)


def payment_lock(pk: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=pk)
