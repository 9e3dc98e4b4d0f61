"""Reads about encrypted data and keys."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Model

from .fields import EncryptedField


def encrypted_models() -> list[tuple[type[Model], list[Any]]]:
    """Every concrete model of the tenant apps with encrypted fields, and those fields."""
    tenant_apps = set(settings.TENANT_APPS)
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.app_config is None or meta.app_config.name not in tenant_apps:
            continue
        if meta.proxy or not meta.managed:
            continue
        fields = [field for field in meta.concrete_fields if isinstance(field, EncryptedField)]
        if fields:
            found.append((model, fields))
    return found
