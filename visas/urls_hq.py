"""The visas app's URLs on HQ's host (included from `consulate/urls_hq.py`): the statistics,
the watchlist and the categories."""

from django.urls import URLPattern, URLResolver, path

from . import views_hq

app_name = "visas_hq"

urlpatterns: list[URLPattern | URLResolver] = [
    path("hq/visas/statistics/", views_hq.hq_statistics, name="statistics"),
    path("hq/visas/statistics.csv", views_hq.hq_statistics_csv, name="statistics_csv"),
    path("hq/visas/watchlist/", views_hq.hq_watchlist, name="watchlist"),
    path("hq/visas/watchlist/<int:pk>/end/", views_hq.hq_watchlist_end, name="watchlist_end"),
    path("hq/visas/categories/", views_hq.hq_categories, name="categories"),
    path("hq/visas/categories/new/", views_hq.hq_category_new, name="category_new"),
    path("hq/visas/categories/<int:pk>/", views_hq.hq_category_edit, name="category_edit"),
    path(
        "hq/visas/categories/<int:pk>/active/",
        views_hq.hq_category_active,
        name="category_active",
    ),
]
