"""The test payment provider's hosted page is its own module, mounted only where the test
provider is enabled (development, the demo, tests), never among the production pages."""

import importlib

import fees.urls
import fees.views
from fees.providers import test_provider


def _route_names() -> set[str]:
    return {getattr(p, "name", None) for p in fees.urls.urlpatterns} - {None}  # type: ignore[misc]


def test_the_hosted_page_is_mounted_only_where_the_test_provider_is_enabled(monkeypatch):
    assert "test_provider" in _route_names()  # tests enable it
    monkeypatch.setattr(test_provider, "pages_enabled", lambda: False)
    try:
        importlib.reload(fees.urls)
        assert "test_provider" not in _route_names()
        assert "webhook" in _route_names()  # a real provider's endpoint stays
    finally:
        monkeypatch.undo()
        importlib.reload(fees.urls)
    assert "test_provider" in _route_names()


def test_the_production_views_hold_no_test_provider_page():
    assert not [name for name in vars(fees.views) if "test_provider" in name]
    assert "TestProvider" not in vars(fees.views)
