"""Demo reference data for visas: six categories every mission offers (tourism, business,
transit, study, work, family visit) with their checklists and questions in English and
Turkish, a per-mission addition at London (youth mobility), and a small watchlist whose
entries carry several spellings. Idempotent: what exists is left alone.

The demo citizen John Smith, born 14 March 1985, British, meets the entry "SMITH JOHNATHAN /
SMYTH JONATHAN" at screening: a near match for the officer to clear, with its reason.

The fee of every category is the schedule's general visa fee (`fees.demo`: service "visa"
with no visa category applies to any), so `fee_code` is the category's code and a per-category
fee can be added to the schedule later without touching the categories.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from consulate.kernel.actors import SYSTEM
from consulate.kernel.tenancy import use_public_schema
from missions.models import Mission

from .models import ItemKind, QuestionKind, VisaCategory, VisaType, WatchlistEntry
from .services import (
    CategoryInput,
    ItemInput,
    QuestionInput,
    category_save,
    watchlist_entry_add,
)

# The mission that shows a per-mission addition, when the demo has it.
ADDITION_MISSION = "london"


def _photo() -> ItemInput:
    return ItemInput(
        code="photo",
        label="Passport photo",
        label_tr="Vesikalık fotoğraf",
        help_text="A recent colour photo, 35 × 45 mm, plain light background, face to camera.",
        help_text_tr="Yakın tarihli renkli fotoğraf, 35 × 45 mm, açık renk düz fon, yüz kameraya.",
        kind=ItemKind.PHOTO,
        order=10,
    )


def _passport_copy() -> ItemInput:
    return ItemInput(
        code="passport_copy",
        label="Copy of the passport's data page",
        label_tr="Pasaportun kimlik sayfasının kopyası",
        help_text="The passport must be valid for three months after the planned departure.",
        help_text_tr="Pasaport, planlanan ayrılış tarihinden sonra üç ay geçerli olmalıdır.",
        order=20,
    )


def _item(code: str, label: str, label_tr: str, help_text: str, help_text_tr: str, order: int,
          required: bool = True) -> ItemInput:  # fmt: skip
    return ItemInput(
        code=code,
        label=label,
        label_tr=label_tr,
        help_text=help_text,
        help_text_tr=help_text_tr,
        order=order,
        required=required,
    )


INSURANCE = _item(
    "travel_insurance",
    "Travel medical insurance",
    "Seyahat sağlık sigortası",
    "Cover of at least 30,000 euros for the whole stay.",
    "Tüm kalış süresi için en az 30.000 avro teminat.",
    30,
)
BANK = _item(
    "bank_statements",
    "Bank statements (last three months)",
    "Banka hesap dökümleri (son üç ay)",
    "Showing that you can pay for the stay.",
    "Kalış masraflarını karşılayabildiğinizi gösteren.",
    40,
)
FLIGHT = _item(
    "flight_booking",
    "Flight booking",
    "Uçuş rezervasyonu",
    "A reservation is enough; do not buy the ticket before the decision.",
    "Rezervasyon yeterlidir; karardan önce bilet almayın.",
    50,
)


def _question(code: str, label: str, label_tr: str, kind: str = QuestionKind.TEXT,
              order: int = 10, required: bool = True) -> QuestionInput:  # fmt: skip
    return QuestionInput(
        code=code, label=label, label_tr=label_tr, kind=kind, order=order, required=required
    )


CATEGORIES: list[CategoryInput] = [
    CategoryInput(
        code="tourism",
        name="Tourism",
        name_tr="Turizm",
        description="A short visit as a tourist, up to 90 days.",
        description_tr="Turist olarak kısa ziyaret, en fazla 90 gün.",
        visa_type=VisaType.SHORT_STAY,
        max_stay_days=90,
        order=10,
        items=[
            _photo(),
            _passport_copy(),
            INSURANCE,
            BANK,
            FLIGHT,
            _item(
                "accommodation",
                "Hotel booking or address of stay",
                "Otel rezervasyonu veya kalış adresi",
                "",
                "",
                60,
            ),
        ],
        questions=[
            _question(
                "first_visit",
                "Is this your first visit?",
                "Bu ilk ziyaretiniz mi?",
                QuestionKind.YES_NO,
            ),
        ],
    ),
    CategoryInput(
        code="business",
        name="Business",
        name_tr="İş",
        description="Meetings, fairs and negotiations, up to 90 days; not paid work.",
        description_tr="Toplantı, fuar ve görüşmeler, en fazla 90 gün; ücretli çalışma değil.",
        visa_type=VisaType.SHORT_STAY,
        max_stay_days=90,
        order=20,
        items=[
            _photo(),
            _passport_copy(),
            INSURANCE,
            _item(
                "invitation_letter",
                "Invitation from the host company",
                "Ev sahibi şirketin davet mektubu",
                "On the company's letterhead, with the dates and purpose of the visit.",
                "Şirketin antetli kâğıdında, ziyaretin tarihleri ve amacıyla.",
                40,
            ),
            _item(
                "employer_letter",
                "Letter from your employer",
                "İşvereninizden mektup",
                "",
                "",
                50,
            ),
        ],
        questions=[
            _question(
                "company_name", "Name of the company you visit", "Ziyaret ettiğiniz şirketin adı"
            ),
        ],
    ),
    CategoryInput(
        code="transit",
        name="Airport transit",
        name_tr="Havalimanı transit",
        description="Changing planes without leaving the airport's international zone.",
        description_tr="Havalimanının uluslararası alanından çıkmadan aktarma.",
        visa_type=VisaType.AIRPORT_TRANSIT,
        max_stay_days=2,
        order=30,
        items=[
            _photo(),
            _passport_copy(),
            _item(
                "onward_ticket",
                "Ticket for the onward flight",
                "Devam uçuşunun bileti",
                "",
                "",
                30,
            ),
            _item(
                "destination_visa",
                "Visa for the final destination",
                "Varış ülkesinin vizesi",
                "If the destination asks for one.",
                "Varış ülkesi istiyorsa.",
                40,
                required=False,
            ),
        ],
        questions=[
            _question("final_destination", "Final destination", "Son varış yeri"),
        ],
    ),
    CategoryInput(
        code="study",
        name="Study",
        name_tr="Öğrenim",
        description="Studying at a university or school for more than 90 days.",
        description_tr="Üniversitede veya okulda 90 günden uzun öğrenim.",
        visa_type=VisaType.LONG_STAY,
        max_stay_days=365,
        order=40,
        items=[
            _photo(),
            _passport_copy(),
            _item(
                "admission_letter",
                "Letter of admission",
                "Kabul mektubu",
                "From the university or school, with the course and its dates.",
                "Üniversite veya okuldan, programı ve tarihleriyle.",
                30,
            ),
            BANK,
            _item(
                "health_insurance",
                "Health insurance",
                "Sağlık sigortası",
                "For the whole period of study.",
                "Tüm öğrenim süresi için.",
                50,
            ),
        ],
        questions=[
            _question(
                "school_name", "Name of the university or school", "Üniversitenin veya okulun adı"
            ),
            _question(
                "course_start",
                "When does the course start?",
                "Program ne zaman başlıyor?",
                QuestionKind.DATE,
                order=20,
            ),
        ],
    ),
    CategoryInput(
        code="work",
        name="Work",
        name_tr="Çalışma",
        description="Paid work with an employer in the country, with a work permit.",
        description_tr="Ülkedeki bir işverenle, çalışma izniyle ücretli çalışma.",
        visa_type=VisaType.LONG_STAY,
        max_stay_days=365,
        order=50,
        items=[
            _photo(),
            _passport_copy(),
            _item(
                "employment_contract",
                "Employment contract",
                "İş sözleşmesi",
                "Signed by you and the employer.",
                "Sizin ve işverenin imzaladığı.",
                30,
            ),
            _item(
                "work_permit",
                "Work permit",
                "Çalışma izni",
                "Issued by the labour ministry to the employer.",
                "Çalışma bakanlığının işverene verdiği.",
                40,
            ),
            _item(
                "diplomas",
                "Diplomas and qualifications",
                "Diplomalar ve yeterlilikler",
                "",
                "",
                50,
                required=False,
            ),
        ],
        questions=[
            _question("employer_name", "Name of the employer", "İşverenin adı"),
        ],
    ),
    CategoryInput(
        code="family_visit",
        name="Visiting family or friends",
        name_tr="Aile veya arkadaş ziyareti",
        description="A short visit to relatives or friends who live in the country.",
        description_tr="Ülkede yaşayan akraba veya arkadaşlara kısa ziyaret.",
        visa_type=VisaType.SHORT_STAY,
        max_stay_days=90,
        order=60,
        items=[
            _photo(),
            _passport_copy(),
            INSURANCE,
            _item(
                "invitation_letter",
                "Letter of invitation from your host",
                "Ev sahibinizin davet mektubu",
                "With a copy of your host's identity card or residence permit.",
                "Ev sahibinizin kimlik kartı veya oturma izninin kopyasıyla.",
                40,
            ),
            FLIGHT,
        ],
        questions=[
            _question("host_name", "Your host's name", "Ev sahibinizin adı"),
            _question(
                "host_relationship",
                "How are you related to your host?",
                "Ev sahibinizle yakınlığınız nedir?",
                order=20,
            ),
        ],
    ),
]

ADDITIONS: list[CategoryInput] = [
    CategoryInput(
        code="youth_mobility",
        name="Youth mobility",
        name_tr="Gençlik hareketliliği",
        description="Living and working for up to a year, for citizens aged 18 to 30.",
        description_tr="18-30 yaş arası vatandaşlar için bir yıla kadar yaşama ve çalışma.",
        mission=ADDITION_MISSION,
        visa_type=VisaType.LONG_STAY,
        max_stay_days=365,
        order=70,
        items=[_photo(), _passport_copy(), BANK, INSURANCE],
        questions=[
            _question(
                "planned_city", "Where do you plan to live?", "Nerede yaşamayı planlıyorsunuz?"
            ),
        ],
    ),
]

# (spellings, date of birth, only the year, nationality, reason)
WATCHLIST: list[tuple[str, dt.date | None, bool, str, str]] = [
    (
        "MUKHAMMAD ALIEV\nMUHAMMAD ALIYEV\nMOHAMMED ALIEV",
        dt.date(1979, 6, 2),
        False,
        "UZB",
        "Demo: forged documents presented at an earlier application.",
    ),
    (
        "SMITH JOHNATHAN\nSMYTH JONATHAN",
        dt.date(1985, 3, 14),
        False,
        "GBR",
        "Demo: overstayed an earlier visa by four months.",
    ),
    (
        "AL-HASSAN OMAR\nEL HASSAN OMAR\nHASSAN OMAR",
        dt.date(1990, 1, 1),
        True,
        "",
        "Demo: entry ban notified by the interior ministry.",
    ),
    (
        "MUELLER HANS PETER\nMULLER HANS PETER\nMÜLLER HANS-PETER",
        dt.date(1968, 11, 23),
        False,
        "DEU",
        "Demo: wanted for questioning (Interpol diffusion).",
    ),
    (
        "NGUYEN VAN AN\nNGUYEN AN",
        None,
        False,
        "VNM",
        "Demo: suspected organiser of irregular migration.",
    ),
    (
        "IVANOVA YELENA\nIVANOVA ELENA\nIWANOWA JELENA",
        dt.date(1982, 7, 30),
        False,
        "RUS",
        "Demo: on the sanctions list.",
    ),
]


def seed_reference(*, stdout: Any = None, acting_user: Any = SYSTEM) -> dict[str, int]:
    """Create what is missing; never change what is there. Returns counts created. Runs in the
    public schema, through the reference services, in one transaction: the missions get it as
    one published version."""
    use_public_schema()
    with transaction.atomic():
        created = _seed(acting_user)
    if stdout is not None and any(created.values()):
        stdout.write(
            f"visas: {created['categories']} categorie(s), {created['watchlist']} watchlist"
            " entrie(s)"
        )
    return created


def _seed(acting_user: Any) -> dict[str, int]:
    created = {"categories": 0, "watchlist": 0}
    categories = list(CATEGORIES)
    if Mission.objects.filter(code=ADDITION_MISSION).exists():
        categories += ADDITIONS
    for category in categories:
        if VisaCategory.objects.filter(code=category.code, mission=category.mission).exists():
            continue
        category_save(category=category, acting_user=acting_user)
        created["categories"] += 1
    for names, birth_date, year_only, nationality, reason in WATCHLIST:
        if WatchlistEntry.objects.filter(names=names).exists():
            continue
        watchlist_entry_add(
            names=names,
            birth_date=birth_date,
            birth_year_only=year_only,
            nationality=nationality,
            reason=reason,
            acting_user=acting_user,
        )
        created["watchlist"] += 1
    return created
