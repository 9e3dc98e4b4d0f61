"""django-csp's middleware, with the policy of a plain answer built once per process.

django-csp builds the Content-Security-Policy header on every answer, and the report-only one
too: it copies the settings' directives (`dataclasses.asdict` of the parts, `default_config`,
`build_policy`), every time to the same string unless the answer used a nonce or a view changed
its policy (django-csp's decorators). That was about a tenth of the CPU of the cheapest answers
(the early refusal of a full slot at a release, the mission's home) in `bench/
profile_requests.py`. Here an answer with neither gets the string built once (again after a
change of the settings, as tests make); any other answer goes through django-csp's own code.
`tests/consulate/kernel/test_csp.py` compares the headers with django-csp's for every kind of
answer.
"""

from __future__ import annotations

import functools
import http.client
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What makes an answer's policy its own (django-csp's decorators set these on the response).
PER_ANSWER = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
# (header, the response's exemption flag, the setting whose EXCLUDE_URL_PREFIXES apply)
HEADERS = (
    (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
)


@functools.cache
def _plain_policies() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """Per header: its name, the exemption flag, the policy built from the settings alone
    (empty: none), and the path prefixes it is left off."""
    policies = []
    for header, exempt, setting in HEADERS:
        policy = build_policy(report_only=header == HEADER_REPORT_ONLY)
        prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        policies.append((header, exempt, policy, tuple(prefixes)))
    return tuple(policies)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _plain_policies.cache_clear()


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in PER_ANSWER
        ):
            return super().process_response(request, response)
        debug_page = response.status_code in (
            http.client.INTERNAL_SERVER_ERROR,
            http.client.NOT_FOUND,
        )
        if debug_page and settings.DEBUG:
            return response
        for header, exempt, policy, prefixes in _plain_policies():
            if (
                policy
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = policy
        # as django-csp's: a nonce asked for after the header is written is an error
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
