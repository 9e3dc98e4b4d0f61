from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path

from consulate.kernel.tenancy import absolute_url

from . import views

app_name = "passports"


def _verify_at_hq(request: HttpRequest) -> HttpResponseRedirect:
    """Documents are checked at HQ, for every mission: a mission's /verify/ leads there."""
    return HttpResponseRedirect(absolute_url(settings.PORTAL_HOST, "/verify/"))


urlpatterns = [
    path("verify/", _verify_at_hq, name="verify"),
    path("passports/", views.application_list, name="application_list"),
    path("passports/report/", views.document_report, name="report"),
    path("passports/<str:reference>/", views.application_detail, name="application"),
    path("passports/<str:reference>/edit/", views.application_edit, name="application_edit"),
    path(
        "passports/<str:reference>/autosave/",
        views.application_autosave,
        name="application_autosave",
    ),
    path("passports/<str:reference>/photo/", views.application_photo, name="application_photo"),
    path(
        "passports/<str:reference>/photo.jpg",
        views.application_photo_image,
        name="application_photo_image",
    ),
    path("passports/<str:reference>/visit/", views.application_visit, name="application_visit"),
    path(
        "passports/<str:reference>/withdraw/",
        views.application_withdraw,
        name="application_withdraw",
    ),
    path("staff/passports/", views.staff_queue, name="staff_queue"),
    path("staff/passports/report/", views.staff_report, name="staff_report"),
    path("staff/passports/mrz-check/", views.staff_mrz_check, name="staff_mrz_check"),
    path("staff/passports/<str:reference>/", views.staff_case, name="staff_case"),
    path("staff/passports/<str:reference>/photo.jpg", views.staff_case_photo, name="staff_photo"),
    path(
        "staff/passports/<str:reference>/biometrics/",
        views.staff_biometrics,
        name="staff_biometrics",
    ),
    path(
        "staff/passports/<str:reference>/recommend/", views.staff_recommend, name="staff_recommend"
    ),
    path("staff/passports/<str:reference>/decide/", views.staff_decide, name="staff_decide"),
    path("staff/passports/<str:reference>/arrival/", views.staff_arrival, name="staff_arrival"),
    path("staff/passports/<str:reference>/collect/", views.staff_collect, name="staff_collect"),
]
