"""The one transition helper (``core.transitions``) and every app's tables."""

import ast
from pathlib import Path

import pytest
from django.db import models

from clinical import transitions as clinical_transitions
from core.exceptions import InvalidTransition
from core.transitions import allowed_labels, check_transition
from dme import transitions as dme_transitions
from hme import transitions as hme_transitions

ROOT = Path(__file__).resolve().parents[2]


class Light(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


LIGHTS = {
    Light.GREEN: {Light.AMBER},
    Light.AMBER: {Light.RED},
    Light.RED: {Light.GREEN},
}


def test_an_allowed_change_returns_the_target_as_a_member():
    assert check_transition(LIGHTS, "green", "amber", what="The light") is Light.AMBER


def test_a_refused_change_says_what_it_is_and_what_it_cannot_become():
    with pytest.raises(InvalidTransition) as refused:
        check_transition(LIGHTS, Light.GREEN, Light.RED, what="The light")
    assert refused.value.message == "The light is green: it cannot become red."
    assert refused.value.code == "invalid_transition"
    assert refused.value.status_code == 409
    assert refused.value.fields == {}


def test_a_refusal_may_be_worded_by_the_caller_and_name_fields():
    with pytest.raises(InvalidTransition) as refused:
        check_transition(
            LIGHTS,
            "red",
            Light.AMBER,
            message=lambda current, target: f"{current.label} never turns {target.label}.",
            fields={"status": ["No."]},
        )
    assert refused.value.message == "Red never turns Amber."
    assert refused.value.fields == {"status": ["No."]}


def test_the_allowed_statuses_read_as_words():
    assert allowed_labels(LIGHTS, Light.GREEN) == "amber"
    assert allowed_labels({**LIGHTS, Light.RED: set()}, Light.RED) == "none (final)"


TABLES = [
    clinical_transitions.APPOINTMENT_TRANSITIONS,
    clinical_transitions.ALERT_TRANSITIONS,
    dme_transitions.ORDER_TRANSITIONS,
    dme_transitions.DELIVERY_TRANSITIONS,
    dme_transitions.RENTAL_TRANSITIONS,
    dme_transitions.ASSET_TRANSITIONS,
    hme_transitions.CLAIM_TRANSITIONS,
    hme_transitions.AUTHORIZATION_TRANSITIONS,
]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: type(next(iter(table))).__name__)
def test_every_table_names_every_status_of_its_choices(table):
    choices = type(next(iter(table)))
    assert set(table) == set(choices)
    assert all(target in choices for targets in table.values() for target in targets)


def test_no_app_defines_its_own_transition_check():
    """Apps keep tables and per-model wrappers; the check itself lives in core."""
    copies = []
    for app in ("accounts", "clinical", "dme", "hme"):
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef) and node.name == "check_transition":
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert copies == []
