"""The applicant's visa pages, on the mission's site (/visas/...)."""

from django.urls import path

from . import views

app_name = "visas"

urlpatterns = [
    path("visas/", views.application_list, name="list"),
    path("visas/<str:reference>/", views.application_detail, name="application"),
    path("visas/<str:reference>/edit/", views.application_edit_start, name="edit_start"),
    path("visas/<str:reference>/edit/<str:step>/", views.application_edit, name="edit"),
    path("visas/<str:reference>/autosave/", views.application_autosave, name="autosave"),
    path("visas/<str:reference>/upload/<str:item>/", views.application_upload, name="upload"),
    path(
        "visas/<str:reference>/corrections/",
        views.application_corrections_send,
        name="corrections_send",
    ),
    path("visas/<str:reference>/visit/", views.application_visit, name="visit"),
    path("visas/<str:reference>/withdraw/", views.application_withdraw, name="withdraw"),
    path("visas/<str:reference>/evisa.pdf", views.application_evisa, name="evisa"),
]
