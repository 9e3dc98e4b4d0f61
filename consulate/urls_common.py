"""URLs served on every host, HQ and missions alike."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from . import views

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("health/", views.health, name="health"),
    path(
        "api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api_schema"
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api_schema", permission_classes=[AllowAny]),
        name="api_docs",
    ),
]
