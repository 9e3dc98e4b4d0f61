"""Two rules of a mission on its own node (docs/sync.md, "A mission on its own node").

- At HQ, a mission moved to its own node (`Mission.node_url`) is served there, not from this
  database's frozen copy: every request for its host is sent on, path and query kept.
- At a node, accounts that came from HQ are HQ's to change: their password, e-mail addresses
  and second factor are changed at HQ, and reach the node in the `missions.accounts` down
  set. A change made at the node would be put back by the next one, so it is refused, with a
  page that says where to make it. Accounts made at the node (citizens signing up there) are
  the node's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import base36_to_int

from .services.node import NODE_ACCOUNT_IDS_FROM


class MovedMissionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        node_url = getattr(getattr(request, "tenant", None), "node_url", "")
        if node_url:
            # 307 keeps the method and body: a form posted to the old host is posted again there
            response = HttpResponseRedirect(node_url.rstrip("/") + request.get_full_path())
            response.status_code = 307
            return response
        return self.get_response(request)


# allauth's pages that change what HQ holds for an account (POST only: reading them is fine)
HQ_OWNED_ACCOUNT_PAGES = frozenset({
    "account_change_password", "account_set_password", "account_email",
    "account_reset_password_from_key", "mfa_activate_totp", "mfa_deactivate_totp",
    "mfa_generate_recovery_codes",
})  # fmt: skip


class NodeAccountsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        hq_url = str(getattr(settings, "SYNC_HQ_URL", "") or "")
        match = request.resolver_match
        if not hq_url or request.method != "POST" or match is None:
            return None
        if match.url_name not in HQ_OWNED_ACCOUNT_PAGES:
            return None
        if "uidb36" in kwargs:  # a reset link: whose account it names
            try:
                account_id = base36_to_int(kwargs["uidb36"])
            except ValueError:
                return None  # allauth says the link is bad
        elif request.user.is_authenticated:
            account_id = int(request.user.pk)
        else:
            return None
        if account_id >= NODE_ACCOUNT_IDS_FROM:
            return None
        return render(
            request,
            "missions/node_account_at_hq.html",
            {"hq_url": hq_url.rstrip("/")},
            status=403,
        )
