"""The passports app's URLs on HQ's host (included from `consulate/urls_hq.py`): the
personalisation of approved passports, and the public verifier of the documents the system
issues."""

from django.urls import URLPattern, URLResolver, path

from . import views_personalisation, views_verify

app_name = "passports_hq"

urlpatterns: list[URLPattern | URLResolver] = [
    path("hq/passports/", views_personalisation.hq_personalisation, name="personalisation"),
    path(
        "hq/passports/<int:pk>/personalise/",
        views_personalisation.hq_personalise,
        name="personalise",
    ),
    path(
        "hq/passports/blocks/",
        views_personalisation.hq_number_block_add,
        name="number_block_add",
    ),
    path("verify/", views_verify.verify_page, name="verify"),
    path("api/v1/verify/", views_verify.VerifyApi.as_view(), name="verify_api"),
]
