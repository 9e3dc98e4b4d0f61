"""Visa numbers: blocks HQ allocates to the mission in advance (the shape of the ETD's), so a
visa is issued while the link to HQ is down."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from consulate.kernel.history import history_records
from passports.models.etd import NumberBlock, number_block_constraints


class VisaNumberBlock(NumberBlock):
    history = history_records()
    objects: ClassVar[models.Manager[VisaNumberBlock]]

    class Meta:
        ordering = ["id"]
        constraints = number_block_constraints("visas_number_block")
