"""The one check of a status change against an app's transition table.

Each app keeps its tables (``{status: {allowed next statuses}}``, keyed by a
``TextChoices``) in its own ``transitions.py``; every service checks a change with
:func:`check_transition`. An illegal change raises ``InvalidTransition`` (HTTP 409)
and changes nothing.
"""

from collections.abc import Callable, Collection, Mapping
from typing import Any

from django.db import models

from core.exceptions import InvalidTransition

# ``{status: {allowed next statuses}}``, keyed by members of one ``TextChoices``.
TransitionTable = Mapping[Any, Collection[Any]]
Refusal = Callable[[Any, Any], str]


def _choices_of(table: TransitionTable) -> type[models.Choices]:
    return type(next(iter(table)))


def allowed_labels(table: TransitionTable, current: Any) -> str:
    """The statuses ``current`` may become, as readable words ("none (final)" if none)."""
    choices = _choices_of(table)
    return ", ".join(choices(value).label.lower() for value in sorted(table[current])) or (
        "none (final)"
    )


def default_refusal(what: str | None) -> Refusal:
    """``"<what> is <current>: it cannot become <target>."``"""

    def refusal(current: models.Choices, target: models.Choices) -> str:
        return f"{what} is {current.label.lower()}: it cannot become {target.label.lower()}."

    return refusal


def check_transition(
    table: TransitionTable,
    current: Any,
    target: Any,
    *,
    what: str | None = None,
    message: Refusal | None = None,
    fields: dict[str, Any] | None = None,
) -> Any:
    """Raise ``InvalidTransition`` unless ``table`` allows ``current`` -> ``target``.

    ``current`` and ``target`` are statuses (members or their stored values).
    The refusal reads ``message(current, target)`` when given (both as members of the
    table's choices), else ``"<what> is <current>: it cannot become <target>."``;
    ``fields`` go into the error as they are. Returns ``target`` as a member.
    """
    choices = _choices_of(table)
    current, target = choices(current), choices(target)
    if target in table[current]:
        return target
    refusal = message or default_refusal(what)
    raise InvalidTransition(refusal(current, target), fields=fields)
