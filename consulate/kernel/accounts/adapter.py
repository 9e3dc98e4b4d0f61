from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.utils import translation


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        # A citizen's mail (confirmations, reminders) goes out in the language they signed up in.
        user.preferred_language = translation.get_language() or "en"
        return super().save_user(request, user, form, commit)
