from django.urls import URLPattern, URLResolver, include, path

from . import apis, views

app_name = "appointments"

urlpatterns: list[URLPattern | URLResolver] = [
    path("appointments/", views.service_list, name="service_list"),
    path("appointments/availability.json", views.availability_json, name="availability_json"),
    path("appointments/mine/", views.booking_list, name="booking_list"),
    path("appointments/booking/<str:reference>/", views.booking_detail, name="booking_detail"),
    path("appointments/booking/<str:reference>/ics/", views.booking_ics, name="booking_ics"),
    path(
        "appointments/booking/<str:reference>/cancel/", views.booking_cancel, name="booking_cancel"
    ),
    path(
        "appointments/booking/<str:reference>/move/<int:slot_id>/",
        views.booking_reschedule,
        name="booking_reschedule",
    ),
    path(
        "appointments/cancel/<str:reference>/<str:token>/",
        views.cancel_by_token,
        name="cancel_by_token",
    ),
    path("appointments/lottery/<int:pk>/", views.lottery_detail, name="lottery_detail"),
    path(
        "appointments/lottery/<int:pk>/verify.py",
        views.lottery_verify_script,
        name="lottery_verify_script",
    ),
    path("appointments/waitlist/<int:pk>/leave/", views.waitlist_leave, name="waitlist_leave"),
    path(
        "appointments/waitlist/<int:pk>/<str:token>/",
        views.waitlist_offer,
        name="waitlist_offer",
    ),
    path("appointments/<slug:code>/", views.service_calendar, name="service_calendar"),
    path("appointments/<slug:code>/waitlist/", views.waitlist_join, name="waitlist_join"),
    path("appointments/<slug:code>/book/<int:slot_id>/", views.book, name="book"),
    path("staff/appointments/", views.staff_day_sheet, name="staff_day_sheet"),
    path("staff/appointments/settings/", views.staff_settings, name="staff_settings"),
    path(
        "staff/appointments/settings/service/<slug:code>/",
        views.staff_service_edit,
        name="staff_service_edit",
    ),
    path("api/v1/appointments/", include(apis.urlpatterns)),
]
