"""A mission moved to its own node (`Mission.node_url`) is served there, not from this
database's frozen copy: every request for its host is sent on, path and query kept."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


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
