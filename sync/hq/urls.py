"""HQ's sync endpoint, included by HQ's URLconf (`consulate/urls_hq.py`)."""

from django.urls import path

from . import views

app_name = "sync_hq"

urlpatterns = [
    path("sync/v1/push", views.push, name="push"),
]
