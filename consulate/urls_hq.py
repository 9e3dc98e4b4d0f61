"""URLs of HQ: the bare portal host, the public schema."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from missions import apis as mission_apis
from missions import views as mission_views
from missions import views_monitoring as monitoring_views
from missions import views_sync as sync_views

from .urls_common import api_schema_urls
from .urls_common import urlpatterns as common

# The admin logs in through allauth, so its second factor applies there too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Consular e-services – HQ"

urlpatterns = [
    path("", mission_views.directory, name="home"),
    path("hq/", monitoring_views.hq_dashboard, name="hq_dashboard"),
    path("hq/missions.csv", monitoring_views.hq_dashboard_csv, name="hq_dashboard_csv"),
    path("hq/trends/", monitoring_views.hq_trends, name="hq_trends"),
    path("hq/trends.csv", monitoring_views.hq_trends_csv, name="hq_trends_csv"),
    path("hq/missions/<str:code>/", monitoring_views.hq_mission, name="hq_mission"),
    path(
        "hq/missions/<str:code>/<str:table>.csv",
        monitoring_views.hq_mission_csv,
        name="hq_mission_csv",
    ),
    path("hq/sync/", sync_views.hq_sync, name="sync_hq"),
    path("hq/sync/<str:code>/", sync_views.hq_sync_mission, name="sync_hq_mission"),
    path(
        "hq/sync/<str:code>/import/",
        sync_views.hq_sync_mission_import,
        name="sync_hq_mission_import",
    ),
    path(
        "hq/sync/<str:code>/answer/",
        sync_views.hq_sync_mission_answer,
        name="sync_hq_mission_answer",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(mission_apis.hq_urls)),
    path("", include("fees.urls_hq")),
    path("", include("appointments.urls_hq")),
    path("", include("sync.hq.urls")),
    path("", include("passports.urls_hq")),
    path("", include("visas.urls_hq")),
    *common,
    *api_schema_urls(
        urlconf=__name__,
        description="HQ, served on the portal host: the directory of missions.",
    ),
]
