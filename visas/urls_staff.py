"""The mission's visa casework pages (/staff/visas/ on the mission's host)."""

from django.urls import path

from . import views_staff as views

app_name = "visas_staff"

_CASE = "staff/visas/<str:reference>/"

urlpatterns = [
    path("staff/visas/", views.staff_queue, name="queue"),
    path(_CASE, views.staff_case, name="case"),
    path(_CASE + "files/<int:upload_id>/", views.staff_upload, name="upload"),
    path(_CASE + "evisa.pdf", views.staff_evisa, name="evisa"),
    path(_CASE + "completeness/", views.staff_completeness, name="completeness"),
    path(_CASE + "attend/", views.staff_attend, name="attend"),
    path(_CASE + "screen/", views.staff_screen, name="screen"),
    path(_CASE + "matches/<int:hit_id>/", views.staff_hit, name="hit"),
    path(_CASE + "recommend/", views.staff_recommend, name="recommend"),
    path(_CASE + "decide/", views.staff_decide, name="decide"),
    path(_CASE + "extend/", views.staff_extend, name="extend"),
    path(_CASE + "appeal/", views.staff_appeal_record, name="appeal_record"),
    path(_CASE + "appeal/decide/", views.staff_appeal_decide, name="appeal_decide"),
    path(_CASE + "end/", views.staff_end, name="end"),
]
