"""The registry of data-quality checks."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


@dataclass
class Outcome:
    """What a check found when it is not a plain set of rows."""

    count: int
    sample_ids: list[Any] = field(default_factory=list)
    detail: str = ""  # a short sentence with figures; never a PHI value
    # An incremental check: when the full pass it builds on ran (None: not incremental,
    # or this run was the full pass, recorded as the run's own time).
    full_pass_at: Any = None


@dataclass
class Check:
    name: str
    description: str
    severity: str
    function: Callable[[], object]
    model: type[models.Model] | None = None  # whose ids the samples are (admin links)


_registry: dict[str, Check] = {}
F = TypeVar("F", bound=Callable[[], object])


def register(
    name: str, *, severity: str, description: str, model: type[models.Model] | None = None
) -> Callable[[F], F]:
    """Decorator registering a check function under a unique dotted ``name``."""

    def decorator(function: F) -> F:
        if name in _registry and _registry[name].function is not function:
            raise ValueError(f"A data-quality check named {name!r} is already registered.")
        _registry[name] = Check(
            name=name,
            description=description,
            severity=Severity(severity),
            function=function,
            model=model,
        )
        return function

    return decorator


def get_checks(names: Iterable[str] | None = None) -> list[Check]:
    """Registered checks in name order; ``names`` picks some (unknown ones: ValueError)."""
    if names:
        names = list(names)
        unknown = sorted(set(names) - set(_registry))
        if unknown:
            raise ValueError(f"Unknown data-quality check: {', '.join(unknown)}.")
        return [_registry[name] for name in sorted(set(names))]
    return [_registry[name] for name in sorted(_registry)]
