"""The passports app's URLs on HQ's host (included from `consulate/urls_hq.py`): the public
verifier of the documents the system issues."""

from django.urls import URLPattern, URLResolver, path

from . import views_verify

urlpatterns: list[URLPattern | URLResolver] = [
    path("verify/", views_verify.verify_page, name="verify"),
    path("api/v1/verify/", views_verify.VerifyApi.as_view(), name="verify_api"),
]
