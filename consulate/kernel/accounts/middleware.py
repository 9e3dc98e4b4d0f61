from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

# Paths a staff member without a second factor may still reach: the set-up itself, logout, assets.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/health/")


class StaffSecondFactorMiddleware:
    """Staff who have not set up TOTP yet are sent to set it up before anything else.

    allauth already asks every user who has an authenticator for it at login; this closes the
    other gap, a staff account that never enrolled one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and user.needs_second_factor()  # type: ignore[union-attr]
            and not user.has_second_factor()  # type: ignore[union-attr]
        ):
            return redirect("mfa_activate_totp")
        return self.get_response(request)
