"""The client's address (consulate/kernel/accounts/throttling.py): always the one allauth gives,
which django-axes and the booking's rate limits count by, whatever proxies are trusted."""

from __future__ import annotations

import pytest
from allauth.core.internal.httpkit import get_client_ip
from django.test import RequestFactory

from consulate.kernel.accounts.throttling import client_ip

ADDRESSES = [
    {"REMOTE_ADDR": "203.0.113.7"},
    {"REMOTE_ADDR": "2001:db8::1"},
    {"REMOTE_ADDR": " 203.0.113.7 "},
    {"REMOTE_ADDR": "[2001:db8::1]:443"},
    {"REMOTE_ADDR": "not an address"},
    {"REMOTE_ADDR": ""},
    {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "198.51.100.4"},
    {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "198.51.100.4, 192.0.2.9"},
    {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "junk, 192.0.2.9"},
    {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_REAL_IP": "192.0.2.50"},
]


@pytest.mark.parametrize("proxies", [0, 1, 2])
@pytest.mark.parametrize("header", [None, "X-Real-IP"])
@pytest.mark.parametrize("meta", ADDRESSES)
def test_the_address_is_allauths_whatever_proxies_are_trusted(settings, proxies, header, meta):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = header
    request = RequestFactory().get("/", **meta)
    if not meta["REMOTE_ADDR"]:
        del request.META["REMOTE_ADDR"]
    try:
        expected = get_client_ip(request)
    except Exception as error:  # a forwarded chain shorter than the proxies trusted
        with pytest.raises(type(error)):
            client_ip(RequestFactory().get("/", **meta))
        return
    # asked twice: the second answer comes from the addresses already checked
    assert client_ip(request) == expected
    assert client_ip(request) == expected
