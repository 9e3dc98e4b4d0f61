"""Secrets for development and tests, generated once per checkout into var/dev-secrets.env.

Production never uses this: its settings require the variables from the environment.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRETS_FILE = BASE_DIR / "var" / "dev-secrets.env"


def load() -> dict[str, str]:
    if not SECRETS_FILE.exists():
        SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
        values = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "CONSULATE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CONSULATE_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        SECRETS_FILE.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        SECRETS_FILE.chmod(0o600)
    pairs = (line.split("=", 1) for line in SECRETS_FILE.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}
