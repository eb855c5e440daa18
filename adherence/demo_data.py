"""Invented nightly usage with a real signal, for the demo and the tests.

Each patient draws an engagement ``e`` in [0, 1]. It drives everything the device
records: the mean hours (2 h + 5 h x e), how often a night is skipped, whether use
drifts up or down after the first weeks, the residual AHI and the mask leak (a poor
mask fit goes with short nights). The first 14 nights therefore say something about
the 90 days, but not everything (the noise and the drift): the model has something to
learn and cannot be perfect.
"""

import datetime
import random
from decimal import Decimal

from . import rules


def engagement(rng: random.Random) -> float:
    return rng.betavariate(2.2, 1.6)


Night = tuple[datetime.date, Decimal, Decimal | None, Decimal | None]


def nights_for(
    rng: random.Random, start: datetime.date, through: datetime.date, e: float | None = None
) -> list[Night]:
    """(night, hours, AHI, leak) from ``start`` to ``through`` (at most day 90 and a
    few weeks past it); a night skipped is a row of 0 hours without AHI or leak, as
    the exports list it."""
    e = engagement(rng) if e is None else e
    drift = (e - 0.5) * 0.05 + rng.gauss(0, 0.02)  # hours per day after day 14
    skip = 0.35 * (1 - e) + 0.02
    end = min(through, rules.period_end(start) + datetime.timedelta(days=30))
    found: list[Night] = []
    day, index = start, 0
    while day <= end:
        if rng.random() >= skip + max(0.0, -drift) * index * 0.05:
            mean = 2.0 + 5.0 * e + drift * max(0, index - 14)
            hours = min(12.0, max(0.0, rng.gauss(mean, 1.4)))
            ahi = max(0.0, rng.gauss(2.0 + 9.0 * (1 - e), 2.0))
            leak = max(0.0, rng.gauss(8.0 + 28.0 * (1 - e), 6.0))
            found.append(
                (
                    day,
                    Decimal(str(round(hours, 2))),
                    Decimal(str(round(ahi, 1))),
                    Decimal(str(round(leak, 1))),
                )
            )
        else:
            found.append((day, Decimal("0.00"), None, None))
        day += datetime.timedelta(days=1)
        index += 1
    return found


def as_csv(
    nights: list[Night],
    *,
    serial: str = "",
    patient: str = "",
) -> bytes:
    """The nights as an AirView-like export (preamble, then one row a night)."""
    lines = ["ResMed AirView usage report"]
    if serial:
        lines.append(f"Serial Number,{serial}")
    if patient:
        lines.append(f"Patient ID,{patient}")
    lines.append("")
    lines.append("Date,Usage (hours),AHI,Leak 95th percentile (L/min)")
    lines += [
        f"{night.isoformat()},{hours},{'' if ahi is None else ahi},{'' if leak is None else leak}"
        for night, hours, ahi, leak in nights
    ]
    return ("\n".join(lines) + "\n").encode()
