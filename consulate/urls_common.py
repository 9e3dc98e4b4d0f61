"""URLs served on every host, HQ and missions alike."""

from django.urls import URLPattern, include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from missions import views as mission_views

from . import views

urlpatterns = [
    # to a mission's host as the same person, without a second login (docs/security.md)
    path("accounts/handoff/to/<slug:code>/", mission_views.handoff_start, name="handoff_start"),
    path("accounts/", include("allauth.urls")),
    # The language form carries no CSRF token: a page that holds no token is the same for every
    # reader who is not signed in, and is served from a copy (consulate/kernel/public_cache.py).
    # A forged post can only change the language cookie of the browser it comes from.
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    path("health/", views.health, name="health"),
]


def api_schema_urls(*, urlconf: str, description: str) -> list[URLPattern]:
    """`/api/schema/` and its Swagger UI `/api/docs/`, documenting one host's URLconf.

    drf-spectacular reads settings.ROOT_URLCONF (the missions' URLconf) unless it is told which
    URLconf to read; told nothing, HQ documented mission operations that answer 404 there and
    left out its own.
    """
    schema = SpectacularAPIView.as_view(
        urlconf=urlconf, permission_classes=[AllowAny], custom_settings={"DESCRIPTION": description}
    )
    docs = SpectacularSwaggerView.as_view(url_name="api_schema", permission_classes=[AllowAny])
    return [
        path("api/schema/", schema, name="api_schema"),
        path("api/docs/", docs, name="api_docs"),
    ]
