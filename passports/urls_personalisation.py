from django.urls import path

from . import views_personalisation as views

app_name = "passports_hq"

urlpatterns = [
    path("hq/passports/", views.hq_personalisation, name="personalisation"),
    path("hq/passports/<int:pk>/personalise/", views.hq_personalise, name="personalise"),
    path("hq/passports/blocks/", views.hq_number_block_add, name="number_block_add"),
]
