"""Exemption categories have a name per language (django-modeltranslation): HQ edits English
and Turkish in the admin, and the counter, the assessment and the approvals pages show the
reader's language, English where no Turkish is given. The migration kept the names written
before as the English ones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django_tenants.utils import schema_context

from consulate.kernel.accounts.models import HqRole
from consulate.kernel.actors import SYSTEM
from fees.reference.models import ExemptionCategory
from fees.reference.services import ExemptionCategoryInput, exemption_category_set
from tests.factories import UserFactory
from tests.fees.conftest import assess, login
from tests.fees.factories import WaiverFactory

pytestmark = pytest.mark.usefixtures("fee_reference")


def test_a_name_follows_the_readers_language_and_falls_back_to_english():
    # given a category with both names and one with only the English one
    both, _ = exemption_category_set(
        category=ExemptionCategoryInput(
            code="flood", name="Flood victims", name_tr="Sel mağdurları", rule="humanitarian"
        ),
        acting_user=SYSTEM,
    )
    english_only, _ = exemption_category_set(
        category=ExemptionCategoryInput(code="quake", name="Quake victims", rule="humanitarian"),
        acting_user=SYSTEM,
    )
    # when they are read in English and in Turkish
    # then each reader gets their language, and English stands in for a missing Turkish name
    for language, expected in (("en", "Flood victims"), ("tr", "Sel mağdurları")):
        with translation.override(language):
            assert ExemptionCategory.objects.get(pk=both.pk).name == expected
    with translation.override("tr"):
        assert ExemptionCategory.objects.get(pk=english_only.pk).name == "Quake victims"
    # and the plain column (and the history) keep the English name
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM fees_reference_exemptioncategory WHERE code = 'flood'")
        assert cursor.fetchone() == ("Flood victims",)
    assert both.history.first().name_tr == "Sel mağdurları"


def test_changing_the_turkish_name_in_turkish_keeps_the_english_one():
    # given the demo's humanitarian category, changed by a service running in Turkish
    with translation.override("tr"):
        exemption_category_set(
            category=ExemptionCategoryInput(
                code="humanitarian",
                name="Humanitarian grounds",
                name_tr="İnsani nedenler",
                rule="humanitarian",
            ),
            acting_user=SYSTEM,
        )
    category = ExemptionCategory.objects.get(code="humanitarian")
    # then each language has its own value
    assert (category.name_en, category.name_tr) == ("Humanitarian grounds", "İnsani nedenler")


def test_hq_edits_both_languages_in_the_admin(client_hq):
    # given an HQ admin in the admin
    login(client_hq, UserFactory(hq_role=HqRole.ADMIN, is_staff=True))
    # when they open a category, the form asks for the name in English and in Turkish
    category = ExemptionCategory.objects.get(code="reciprocity")
    url = f"/admin/fees_reference/exemptioncategory/{category.pk}/change/"
    page = client_hq.get(url).content.decode()
    assert 'name="name_en"' in page
    assert 'name="name_tr"' in page
    # and saving both changes both, through the service (history records the admin)
    response = client_hq.post(
        url,
        {
            "name_en": "Reciprocity",
            "name_tr": "Karşılıklılık",
            "rule": "reciprocity",
            "nationalities": "JP KR",
            "percent_waived": "100",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    category.refresh_from_db()
    assert (category.name_en, category.name_tr) == ("Reciprocity", "Karşılıklılık")
    # and a new category needs its English name (every language falls back to it)
    response = client_hq.post(
        "/admin/fees_reference/exemptioncategory/add/",
        {"code": "orphans", "name_tr": "Yetimler", "rule": "humanitarian", "percent_waived": "100"},
    )
    assert response.status_code == 200
    assert not ExemptionCategory.objects.filter(code="orphans").exists()


def test_the_pages_show_the_category_in_the_readers_language(
    client_a, mission_a, cashier_a, consul_a, officer_a
):
    # given a waiver asked for on humanitarian grounds at alpha
    with schema_context(mission_a.schema_name):
        assessment = assess(cashier_a)
        WaiverFactory(assessment=assessment, acting_user=officer_a)
    # when a consul reads the approvals and the assessment in Turkish, then in English
    login(client_a, consul_a)
    pages = ("/fees/approvals/", f"/fees/assessments/{assessment.pk}/")
    for language, name in (("tr", "İnsani gerekçeler"), ("en", "Humanitarian grounds")):
        for url in pages:
            page = client_a.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            # then the category is named in their language, never by its code alone
            assert name in page, (language, url)
    # and the waiver form offers the categories in Turkish
    page = client_a.get(pages[1], HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert ">6 yaşından küçük çocuklar</option>" in page


def test_the_migration_keeps_the_names_written_before_as_the_english_ones():
    # given the reference tables as they were before names had a language
    executor = MigrationExecutor(connection)
    executor.migrate([("fees_reference", "0002_schedule_versions_immutable")])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE fees_reference_exemptioncategory SET name = %s WHERE code = 'diplomatic'",
            ["Old name"],
        )
    # when it migrates forward
    executor = MigrationExecutor(connection)
    executor.migrate([("fees_reference", "0003_exemption_category_name_per_language")])
    # then the name written before is the English name, which Turkish readers see too
    category = ExemptionCategory.objects.get(code="diplomatic")
    assert category.name_en == "Old name"
    assert category.name_tr is None
    with translation.override("tr"):
        assert ExemptionCategory.objects.get(code="diplomatic").name == "Old name"
