"""The appointments app's URLs on HQ's host (included from `consulate/urls_hq.py`): the public
wait times of every mission."""

from django.urls import URLPattern, URLResolver, path

from . import views_hq

urlpatterns: list[URLPattern | URLResolver] = [
    path("wait-times/", views_hq.wait_times_page, name="wait_times"),
    path("wait-times.json", views_hq.wait_times_json, name="wait_times_json"),
]
