"""The one transition helper: a table that must name every state, and `move_to` that refuses
what the table does not allow, in the reader's language."""

from __future__ import annotations

import pytest
from django.db import models
from django.utils import translation

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.workflows import Workflow, transitions_check


class Light(models.TextChoices):
    RED = "red", "Red"
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"


LIGHT_TRANSITIONS = {
    Light.RED: {Light.GREEN},
    Light.GREEN: {Light.AMBER},
    Light.AMBER: {Light.RED},
}


class TrafficLight(Workflow, models.Model):
    TRANSITIONS = LIGHT_TRANSITIONS
    status = models.CharField(max_length=10, choices=Light.choices, default=Light.RED)

    class Meta:
        app_label = "tests_workflows"
        managed = False

    def __str__(self) -> str:
        return str(self.status)


def test_a_move_the_table_allows_sets_the_status():
    light = TrafficLight(status=Light.RED)
    light.move_to(Light.GREEN)
    assert light.status == Light.GREEN


def test_a_move_the_table_forbids_is_refused_and_changes_nothing():
    light = TrafficLight(status=Light.RED)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        light.move_to(Light.AMBER)
    assert refused.value.code is CommonError.BAD_TRANSITION
    assert refused.value.http_status == 400
    assert str(refused.value.message) == "This is “Red” and cannot become “Amber”."
    assert light.status == Light.RED


def test_an_unknown_current_state_allows_nothing():
    assert not TrafficLight(status="broken").can_move_to(Light.RED)


def test_a_table_must_name_every_state_and_only_states():
    transitions_check(LIGHT_TRANSITIONS, Light)
    with pytest.raises(ValueError, match="keys"):
        transitions_check({Light.RED: {Light.GREEN}}, Light)
    with pytest.raises(ValueError, match="unknown"):
        transitions_check({**LIGHT_TRANSITIONS, Light.AMBER: {"blue"}}, Light)
