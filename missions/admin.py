"""HQ's admin for missions, memberships and accounts.

It reads the permission table at HQ's row: HQ staff may look (`HQ_DASHBOARD_VIEW`), only those
who manage missions may change anything (`MISSION_MANAGE`, HQ admins), whatever Django's own
model permissions say. Every write goes through a service (history, outbox event, and the
service's own permission check); nothing is deleted, and history is read, never reverted.
The accounts' admin is here, not in the kernel's accounts app, because it writes through
these services.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_exists
from simple_history.admin import SimpleHistoryAdmin

from consulate.kernel.accounts.models import User
from consulate.kernel.errors import ApplicationError

from .forms import mission_code_fields_replace
from .models import Domain, Membership, Mission, MissionKind
from .permissions import Action, permissions_held
from .selectors import mission_hq, missions_order
from .services import (
    ACCOUNT_FIELDS,
    UPDATABLE_FIELDS,
    account_create,
    account_password_set,
    account_update,
    membership_grant,
    membership_revoke,
    mission_create,
    mission_update,
)


def _hq_actions(request: HttpRequest) -> frozenset[Action]:
    """What the user may do at HQ, read once per request."""
    held = getattr(request, "_hq_actions", None)
    if held is None:
        held = permissions_held(user=request.user, mission=mission_hq())
        request._hq_actions = held  # type: ignore[attr-defined]
    return held


class PermissionTableAdmin(SimpleHistoryAdmin):
    """The permission table decides; nothing is deleted; history is shown, never reverted."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        held = _hq_actions(request)
        return Action.HQ_DASHBOARD_VIEW in held or Action.MISSION_MANAGE in held

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return Action.MISSION_MANAGE in _hq_actions(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return Action.MISSION_MANAGE in _hq_actions(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # missions are closed, roles revoked, accounts deactivated: rows stay

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST":  # a revert would write around the services
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


# What mission_create takes; status starts active and is changed afterwards. The name, the city
# and the address have a value per language (missions/translation.py): English, the fallback,
# and Turkish.
CREATE_FIELDS = [
    "code", "name_en", "name_tr", "kind", "host_country", "city_en", "city_tr", "timezone",
    "currency", "languages", "address_en", "address_tr", "phone", "email", "website",
    "jurisdiction", "office_hours", "region", "silence_alert_minutes", "wait_target_days",
]  # fmt: skip
# The form's names for mission_create's arguments (`name`, `address` and `city` are the English
# ones).
CREATE_ARGUMENTS = {"name_en": "name", "address_en": "address", "city_en": "city"}


class MissionAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Mission
        fields = [*CREATE_FIELDS, "status"]
        help_texts = {
            "name_en": _("Shown in every language that has no name of its own."),
            "city_en": _("Shown in every language that has no name of its own."),
            "address_en": _("Without the country: pages add it in the reader's language."),
            "address_tr": _("Without the country: pages add it in the reader's language."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:  # HQ is the public schema's row, never a mission to create
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                choice for choice in MissionKind.choices if choice[0] != MissionKind.HEADQUARTERS
            ]
        # codes as people type them: "eur" is EUR, and an error quotes "France", not "Fr"
        mission_code_fields_replace(self.fields)

    def clean_status(self) -> str:
        # the service's rule (MISSION_TRANSITIONS), as a form error instead of a failed save
        status = str(self.cleaned_data["status"])
        stored = self.instance
        if stored.pk is not None and status != stored.status and not stored.can_move_to(status):
            labels = dict(self.fields["status"].choices)  # type: ignore[attr-defined]
            raise forms.ValidationError(
                _("This mission is “%(status)s” and cannot become “%(new)s”."),
                params={"status": labels[stored.status], "new": labels[status]},
            )
        return status

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"])
        # the schema check of mission_create, as a form error instead of a failed save
        if self.instance.pk is None and schema_exists(code.replace("-", "_")):
            raise forms.ValidationError(
                _("The code “%(code)s” is already used by a database schema."),
                params={"code": code},
            )
        return code


@admin.register(Mission)
class MissionAdmin(PermissionTableAdmin):
    form = MissionAdminForm
    list_display = [
        "code",
        "name",
        "kind",
        "host_country",
        "city",
        "currency",
        "timezone",
        "region",
        "status",
    ]
    list_filter = ["kind", "status", "region", "host_country"]
    search_fields = ["code", "name_en", "name_tr", "city_en", "city_tr"]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # the directory's, by the city as the reader reads it (Meta's "city" is city_tr in
        # Turkish, which put a mission without a Turkish city first or last in its country)
        return missions_order()

    def get_readonly_fields(self, request: HttpRequest, obj: Mission | None = None) -> list[str]:
        # What names the schema, host and money is fixed once the mission exists.
        return [f for f in CREATE_FIELDS if f not in UPDATABLE_FIELDS] if obj else []

    def save_model(self, request: HttpRequest, obj: Mission, form: Any, change: bool) -> None:
        if change:
            stored = Mission.objects.get(pk=obj.pk)
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            mission_update(mission=stored, acting_user=request.user, **changes)  # type: ignore[arg-type]
            return
        data = {
            CREATE_ARGUMENTS.get(name, name): form.cleaned_data[name]
            for name in CREATE_FIELDS
            if name in form.cleaned_data
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

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        held = _hq_actions(request)
        return Action.HQ_DASHBOARD_VIEW in held or Action.MISSION_MANAGE in held

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Domain | None = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(PermissionTableAdmin):
    """Roles are granted and revoked through the services (history and outbox event)."""

    list_display = ["user", "mission", "role", "is_active"]
    list_filter = ["role", "is_active", "mission"]
    search_fields = ["user__email", "mission__code"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["user", "mission", "role"] if obj else []

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


class AccountPasswordForm(AdminPasswordChangeForm):
    """Saves through `account_password_set`, as `acting_user` (set per request)."""

    acting_user: ClassVar[Any] = None

    def save(self, commit: bool = True) -> Any:
        usable = self.cleaned_data["set_usable_password"]
        self.user = account_password_set(
            user=self.user,
            password=self.cleaned_data["password1"] if usable else None,
            acting_user=self.acting_user,
        )
        return self.user


@admin.register(User)
class UserAdmin(PermissionTableAdmin, BaseUserAdmin):  # type: ignore[type-arg]
    ordering = ["email"]
    list_display = ["email", "hq_role", "is_staff", "is_active", "date_joined"]
    list_filter = ["hq_role", "is_staff", "is_active"]
    # Names are encrypted: they are found by exact match through their blind index (below).
    search_fields = ["email"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal", {"fields": ("first_name", "last_name", "preferred_language")}),
        ("Roles", {"fields": ("hq_role", "is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            by_name = queryset.filter(
                Q(first_name_index__matches=term) | Q(last_name_index__matches=term)
            )
            found = found | by_name
        return found, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in ACCOUNT_FIELDS
            }
            account_update(user=obj, acting_user=request.user, **changes)  # type: ignore[arg-type]
            return
        usable = form.cleaned_data.get("set_usable_password", True)
        created = account_create(
            email=form.cleaned_data["email"],
            password=form.cleaned_data.get("password1") if usable else None,
            acting_user=request.user,  # type: ignore[arg-type]
        )
        obj.pk = created.pk

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Django's view saves through `change_password_form`; give this request's copy of the
        # admin a form that saves through the service as this user (the admin instance itself
        # is shared between requests).
        acting = copy.copy(self)
        acting.change_password_form = type(
            "AccountPasswordFormFor", (AccountPasswordForm,), {"acting_user": request.user}
        )
        return BaseUserAdmin.user_change_password(acting, request, id, form_url)
