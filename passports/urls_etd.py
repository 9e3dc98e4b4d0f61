"""URLs of the emergency travel document (included in the mission's URLs next to
`passports.urls`), namespace `etd`."""

from django.urls import path

from . import views_etd as views

app_name = "etd"

urlpatterns = [
    path("etd/", views.etd_list, name="list"),
    path("etd/<str:reference>/", views.etd_detail, name="detail"),
    path("etd/<str:reference>/document.pdf", views.etd_download, name="download"),
    path("staff/etd/", views.staff_etd_list, name="staff_list"),
    path("staff/etd/request/", views.staff_etd_request, name="staff_request"),
    path("staff/etd/<str:reference>/", views.staff_etd, name="staff_detail"),
    path("staff/etd/<str:reference>/photo/", views.staff_etd_photo, name="staff_photo"),
    path("staff/etd/<str:reference>/issue/", views.staff_etd_issue, name="staff_issue"),
    path("staff/etd/<str:reference>/revoke/", views.staff_etd_revoke, name="staff_revoke"),
    path("staff/etd/<str:reference>/document.pdf", views.staff_etd_pdf, name="staff_pdf"),
]
