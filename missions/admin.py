"""HQ's admin for missions and memberships. Creating a mission goes through `mission_create`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_exists
from simple_history.admin import SimpleHistoryAdmin

from consulate.kernel.errors import ApplicationError

from .models import Domain, Membership, Mission, MissionKind
from .services import (
    UPDATABLE_FIELDS,
    membership_grant,
    membership_revoke,
    mission_create,
    mission_update,
)

# What mission_create takes; status starts active and is changed afterwards.
CREATE_FIELDS = [
    "code", "name", "kind", "host_country", "city", "timezone", "currency", "languages",
    "address", "phone", "email", "website", "jurisdiction", "office_hours",
]  # fmt: skip


class MissionAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Mission
        fields = [*CREATE_FIELDS, "status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:  # HQ is the public schema's row, never a mission to create
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                choice for choice in MissionKind.choices if choice[0] != MissionKind.HEADQUARTERS
            ]

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip().lower()
        # the schema check of mission_create, as a form error instead of a failed save
        if self.instance.pk is None and schema_exists(code.replace("-", "_")):
            raise forms.ValidationError(
                _("The code “%(code)s” is already used by a database schema."),
                params={"code": code},
            )
        return code


@admin.register(Mission)
class MissionAdmin(SimpleHistoryAdmin):
    form = MissionAdminForm
    list_display = [
        "code",
        "name",
        "kind",
        "host_country",
        "city",
        "currency",
        "timezone",
        "status",
    ]
    list_filter = ["kind", "status", "host_country"]
    search_fields = ["code", "name", "city"]

    def get_readonly_fields(self, request: HttpRequest, obj: Mission | None = None) -> list[str]:
        # What names the schema, host and money is fixed once the mission exists.
        return [f for f in CREATE_FIELDS if f not in UPDATABLE_FIELDS] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Mission | None = None) -> bool:
        return False  # a mission is closed (status), never deleted with its records

    def save_model(self, request: HttpRequest, obj: Mission, form: Any, change: bool) -> None:
        if change:
            stored = Mission.objects.get(pk=obj.pk)
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            mission_update(mission=stored, acting_user=request.user, **changes)  # type: ignore[arg-type]
            return
        data = {
            name: form.cleaned_data[name] for name in CREATE_FIELDS if name in form.cleaned_data
        }
        try:
            created = mission_create(acting_user=request.user, **data)  # type: ignore[arg-type]
        except ApplicationError as error:
            messages.error(request, str(error.message))
            raise
        obj.pk = created.pk


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a host name is made by mission_create; editing one could point it elsewhere."""

    list_display = ["domain", "tenant", "is_primary"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    """Roles are granted and revoked through the services (history and outbox event)."""

    list_display = ["user", "mission", "role", "is_active"]
    list_filter = ["role", "is_active", "mission"]
    search_fields = ["user__email", "mission__code"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["user", "mission", "role"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False  # revoke instead: the row stays as the record of who held the role

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        acting_user = request.user
        if change and not obj.is_active:
            membership_revoke(membership=obj, acting_user=acting_user)  # type: ignore[arg-type]
            return
        granted = membership_grant(
            user=obj.user,
            mission=obj.mission,
            role=obj.role,
            acting_user=acting_user,  # type: ignore[arg-type]
        )
        obj.pk = granted.pk
