"""URLs of a mission: <code>.<portal host>, that mission's schema."""

from django.urls import include, path

from missions import apis as mission_apis
from missions import views as mission_views
from missions import views_sync as sync_views

from .urls_common import api_schema_urls
from .urls_common import urlpatterns as common

urlpatterns = [
    path("", mission_views.mission_home, name="home"),
    path("staff/", mission_views.staff_dashboard, name="staff_dashboard"),
    path("staff/sync/", sync_views.mission_sync, name="sync_mission"),
    path("staff/sync/push/", sync_views.mission_sync_push, name="sync_mission_push"),
    path("staff/sync/export/", sync_views.mission_sync_export, name="sync_mission_export"),
    path("staff/sync/import/", sync_views.mission_sync_import, name="sync_mission_import"),
    # where a hand-off from another host lands (missions/services/handoff.py)
    path(
        "accounts/handoff/<str:token>/",
        mission_views.handoff_redeem_view,
        name="handoff_redeem",
    ),
    path("api/v1/", include(mission_apis.mission_urls)),
    path("", include("appointments.urls")),
    path("", include("fees.urls")),
    path("", include("passports.urls")),
    path("", include("passports.urls_etd")),
    path("", include("visas.urls")),
    path("", include("visas.urls_staff")),
    *common,
    *api_schema_urls(
        urlconf=__name__,
        description="One mission, served on its own host (`<code>.<portal host>`): its profile,"
        " appointments and fees.",
    ),
]
