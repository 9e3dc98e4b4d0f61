"""The demo data set: HQ staff, six missions in different countries, currencies and time zones
(JPY has 0 minor units, KWD 3), staff of every role at each, and two citizens."""

from __future__ import annotations

from typing import Any

PASSWORD = "consulate-demo-2026"  # noqa: S105 - the demo's published password
# Demo staff share one TOTP secret so the printed logins work at once. Only seeded when
# CONSULATE_DEMO_MODE is on; `manage.py demo_totp` prints the current code.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - published, demo only

WEEKDAYS_9_TO_1 = [{"weekday": day, "opens": "09:00", "closes": "13:00"} for day in range(5)]
SUNDAY_TO_THURSDAY = [
    {"weekday": day, "opens": "08:30", "closes": "14:30"} for day in (6, 0, 1, 2, 3)
]

# HQ's dashboard alerts about a demo mission silent this long (a real one's default is an hour):
# stop the Berlin node of the README and the alert shows within minutes
DEMO_SILENCE_MINUTES = 5

# Names, cities and addresses in English (the fallback) and Turkish. An address leaves out the
# country: pages add the host country's name in the reader's language.
MISSIONS: list[dict[str, Any]] = [
    {
        "code": "berlin", "region": "150", "silence_alert_minutes": DEMO_SILENCE_MINUTES,
        "name": "Consulate-General in Berlin", "kind": "consulate_general",
        "name_tr": "Berlin Başkonsolosluğu",
        "host_country": "DE", "timezone": "Europe/Berlin", "currency": "EUR",
        "city": "Berlin", "city_tr": "Berlin",
        "languages": ["de", "tr", "en"], "jurisdiction": ["DE-BE", "DE-BB", "DE-MV", "DE-SN"],
        "address": "Rungestraße 9\n10179 Berlin", "address_tr": "Rungestraße 9\n10179 Berlin",
        "phone": "+49 30 000 0000",
        "email": "berlin@consulate.invalid", "office_hours": WEEKDAYS_9_TO_1,
    },
    {
        "code": "tokyo", "region": "142", "silence_alert_minutes": DEMO_SILENCE_MINUTES,
        "name": "Embassy in Tokyo", "kind": "embassy",
        "name_tr": "Tokyo Büyükelçiliği",
        "host_country": "JP", "timezone": "Asia/Tokyo", "currency": "JPY",
        "city": "Tokyo", "city_tr": "Tokyo",
        "languages": ["ja", "tr", "en"], "jurisdiction": ["JP"],
        "address": "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001",
        "address_tr": "2-33-6 Jingumae, Shibuya-ku\nTokyo 150-0001",
        "phone": "+81 3 0000 0000", "email": "tokyo@consulate.invalid",
        "office_hours": WEEKDAYS_9_TO_1,
    },
    {
        "code": "kuwait", "region": "142", "silence_alert_minutes": DEMO_SILENCE_MINUTES,
        "name": "Embassy in Kuwait City", "kind": "embassy",
        "name_tr": "Kuveyt Büyükelçiliği",
        "host_country": "KW", "timezone": "Asia/Kuwait", "currency": "KWD",
        "city": "Kuwait City", "city_tr": "Kuveyt",
        "languages": ["ar", "tr", "en"], "jurisdiction": ["KW"],
        "address": "Block 1, Street 13, Villa 5\nDaiyah, Kuwait City",
        "address_tr": "Blok 1, 13. Cadde, Villa 5\nDaiyah, Kuveyt",
        "phone": "+965 0000 0000", "email": "kuwait@consulate.invalid",
        "office_hours": SUNDAY_TO_THURSDAY,
    },
    {
        "code": "newyork", "region": "019", "silence_alert_minutes": DEMO_SILENCE_MINUTES,
        "name": "Consulate-General in New York", "kind": "consulate_general",
        "name_tr": "New York Başkonsolosluğu",
        "host_country": "US", "timezone": "America/New_York",
        "city": "New York", "city_tr": "New York",
        "currency": "USD", "languages": ["en", "tr"],
        "jurisdiction": ["US-NY", "US-NJ", "US-CT", "US-PA"],
        "address": "821 United Nations Plaza\nNew York, NY 10017",
        "address_tr": "821 United Nations Plaza\nNew York, NY 10017",
        "phone": "+1 212 000 0000", "email": "newyork@consulate.invalid",
        "office_hours": WEEKDAYS_9_TO_1,
    },
    {
        "code": "london", "region": "150", "silence_alert_minutes": DEMO_SILENCE_MINUTES,
        "name": "Embassy in London", "kind": "embassy",
        "name_tr": "Londra Büyükelçiliği",
        "host_country": "GB", "timezone": "Europe/London", "currency": "GBP",
        "city": "London", "city_tr": "Londra",
        "languages": ["en", "tr"], "jurisdiction": ["GB"],
        "address": "43 Belgrave Square\nLondon SW1X 8PA",
        "address_tr": "43 Belgrave Square\nLondra SW1X 8PA",
        "phone": "+44 20 0000 0000", "email": "london@consulate.invalid",
        "office_hours": WEEKDAYS_9_TO_1,
    },
    {
        "code": "sydney", "region": "009", "silence_alert_minutes": DEMO_SILENCE_MINUTES,
        "name": "Consulate-General in Sydney", "kind": "consulate_general",
        "name_tr": "Sidney Başkonsolosluğu",
        "host_country": "AU", "timezone": "Australia/Sydney",
        "city": "Sydney", "city_tr": "Sidney",
        "currency": "AUD", "languages": ["en", "tr"], "jurisdiction": ["AU-NSW", "AU-QLD"],
        "address": "Level 3, 66 Ocean Street\nWoollahra NSW 2025",
        "address_tr": "Kat 3, 66 Ocean Street\nWoollahra NSW 2025",
        "phone": "+61 2 0000 0000", "email": "sydney@consulate.invalid",
        "office_hours": WEEKDAYS_9_TO_1,
    },
]  # fmt: skip

ROLES = ["officer", "cashier", "consul", "mission_admin"]
HQ_STAFF = [("analyst@hq.demo", "analyst"), ("admin@hq.demo", "admin")]
CITIZENS = [
    ("ayse@example.org", "Ayşe", "Yılmaz", "tr"),
    ("john@example.org", "John", "Smith", "en"),
]


def staff_email(role: str, code: str) -> str:
    return f"{role.replace('_', '-')}@{code}.demo"
