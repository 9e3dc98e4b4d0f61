"""HQ's admin for missions and memberships. Creating a mission goes through `mission_create`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_exists
from simple_history.admin import SimpleHistoryAdmin

from consulate.errors import ApplicationError

from .models import Domain, Membership, Mission
from .services import mission_create

# What mission_create takes; status starts active and is changed afterwards.
CREATE_FIELDS = [
    "code", "name", "kind", "host_country", "city", "timezone", "currency", "languages",
    "address", "phone", "email", "website", "jurisdiction", "office_hours",
]  # fmt: skip


class MissionAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Mission
        fields = [*CREATE_FIELDS, "status"]

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
        # The code names the schema and the host; it cannot change once the mission exists.
        return ["code"] if obj else []

    def save_model(self, request: HttpRequest, obj: Mission, form: Any, change: bool) -> None:
        if change:
            obj._history_user = request.user  # type: ignore[attr-defined]
            obj.save()
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
    list_display = ["domain", "tenant", "is_primary"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "mission", "role", "is_active"]
    list_filter = ["role", "is_active", "mission"]
    search_fields = ["user__email", "mission__code"]
    autocomplete_fields = ["user"]
