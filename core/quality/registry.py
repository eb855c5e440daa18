"""The registry of data-quality checks."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


@dataclass
class Outcome:
    """What a check found when it is not a plain set of rows."""

    count: int
    sample_ids: list = field(default_factory=list)
    detail: str = ""  # a short sentence with figures; never a PHI value


@dataclass
class Check:
    name: str
    description: str
    severity: str
    function: Callable[[], object]
    model: type | None = None  # whose ids the samples are (admin links)


_registry: dict[str, Check] = {}


def register(name, *, severity, description, model=None):
    """Decorator registering a check function under a unique dotted ``name``."""

    def decorator(function):
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


def get_checks(names=None):
    """Registered checks in name order; ``names`` picks some (unknown ones: ValueError)."""
    if names:
        unknown = sorted(set(names) - set(_registry))
        if unknown:
            raise ValueError(f"Unknown data-quality check: {', '.join(unknown)}.")
        return [_registry[name] for name in sorted(set(names))]
    return [_registry[name] for name in sorted(_registry)]
