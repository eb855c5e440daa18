"""The Medicare PAP adherence rule, as pure functions over a rental's nights.

Source: LCD L33718 "Positive Airway Pressure (PAP) Devices for the Treatment of
Obstructive Sleep Apnea", Continued Coverage Beyond the First Three Months of Therapy:
"adherence to therapy is defined as use of PAP >= 4 hours per night on 70% of nights
during a consecutive thirty (30) day period anytime during the first three (3) months
of initial usage." Policy article A52467 ties the KX modifier of months 4 and later
to that adherence being documented.

Day 1 is the rental's start (the date of delivery, when initial usage begins); the
first three months are days 1 to 90. A 30-day window may start on any day from 1 to 61
(its last day is at most day 90). 70% of 30 nights is 21 nights. A night without a row
is a night without use (the exports list every night the device was on; a missing
night is a night the patient did not use it) up to the last night imported; nights
after that are not known yet.
"""

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .choices import AdherenceState

SOURCE = "LCD L33718 (PAP devices for OSA): >= 4 h/night on 70% of nights, 30 consecutive days"
MIN_HOURS = Decimal("4")
WINDOW_DAYS = 30
PERIOD_DAYS = 90
REQUIRED_SHARE = Decimal("0.70")
REQUIRED_NIGHTS = math.ceil(REQUIRED_SHARE * WINDOW_DAYS)  # 21
# The last day a window may start on: day 61 (day 61 + 29 = day 90).
LAST_WINDOW_START = PERIOD_DAYS - WINDOW_DAYS + 1
# Months of a PAP rental whose KX needs adherence met (months 1-3 bill on the initial
# coverage criteria).
KX_FROM_MONTH = 4
# The PAP devices the rule applies to: CPAP, and bi-level without / with backup rate.
PAP_DEVICE_CODES = ("E0601", "E0470", "E0471")


def is_pap_device(hcpcs: str) -> bool:
    return (hcpcs or "").upper() in PAP_DEVICE_CODES


def compliant(hours: Decimal) -> bool:
    """4.0 hours counts; 3.99 does not."""
    return Decimal(hours) >= MIN_HOURS


@dataclass(frozen=True)
class Evaluation:
    """What the rule says about one rental on ``as_of``."""

    state: str
    start: datetime.date
    period_end: datetime.date  # day 90
    known_through: datetime.date | None  # the last night imported (capped at day 90)
    nights_recorded: int
    best_window_start: datetime.date | None
    best_window_nights: int  # compliant nights in the best window so far
    met_on: datetime.date | None  # the night the rule was first satisfied
    trailing_nights: int  # compliant nights in the last (up to) 30 known days
    trailing_days: int
    days_remaining: int  # days of the 90 not known yet

    @property
    def met(self) -> bool:
        return self.state == AdherenceState.MET

    @property
    def trailing_share(self) -> Decimal:
        if not self.trailing_days:
            return Decimal(0)
        return (Decimal(self.trailing_nights) / self.trailing_days).quantize(Decimal("0.01"))


def period_end(start: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=PERIOD_DAYS - 1)


def evaluate(
    start: datetime.date, nights: Mapping[datetime.date, Decimal], as_of: datetime.date
) -> Evaluation:
    """Evaluate the rule for a rental that started on ``start`` from its nights
    (``{night: hours}``) as known on ``as_of``."""
    end = period_end(start)
    inside = {night: hours for night, hours in nights.items() if start <= night <= end}
    good = {night for night, hours in inside.items() if compliant(hours)}
    known = max(inside) if inside else None
    if as_of > end:
        known = end  # the period is over: every night not imported was a night not used

    best_start, best_count, met_on = None, 0, None
    for offset in range(LAST_WINDOW_START):
        first = start + datetime.timedelta(days=offset)
        days = [first + datetime.timedelta(days=i) for i in range(WINDOW_DAYS)]
        count = 0
        for day in days:
            if day in good:
                count += 1
                if count == REQUIRED_NIGHTS and (met_on is None or day < met_on):
                    met_on = day
        if count > best_count:
            best_start, best_count = first, count

    if known is None:
        trailing_nights = trailing_days = 0
        remaining = (end - start).days + 1
    else:
        trailing_first = max(start, known - datetime.timedelta(days=WINDOW_DAYS - 1))
        trailing_days = (known - trailing_first).days + 1
        trailing_nights = sum(1 for night in good if trailing_first <= night <= known)
        remaining = (end - known).days

    if met_on is not None:
        state = AdherenceState.MET
    elif not _still_possible(start, good, known):
        state = AdherenceState.NOT_MET
    elif known is None:
        state = AdherenceState.NO_DATA
    elif Decimal(trailing_nights) < REQUIRED_SHARE * trailing_days:
        state = AdherenceState.AT_RISK
    else:
        state = AdherenceState.ON_TRACK
    return Evaluation(
        state=state,
        start=start,
        period_end=end,
        known_through=known,
        nights_recorded=len(inside),
        best_window_start=best_start,
        best_window_nights=best_count,
        met_on=met_on,
        trailing_nights=trailing_nights,
        trailing_days=trailing_days,
        days_remaining=remaining,
    )


def _still_possible(
    start: datetime.date, good: set[datetime.date], known: datetime.date | None
) -> bool:
    """Could some window still reach 21 nights if every night not known yet were used?"""
    for offset in range(LAST_WINDOW_START):
        first = start + datetime.timedelta(days=offset)
        count = 0
        for i in range(WINDOW_DAYS):
            day = first + datetime.timedelta(days=i)
            if day in good or known is None or day > known:
                count += 1
        if count >= REQUIRED_NIGHTS:
            return True
    return False


def rental_month_of(start: datetime.date, day: datetime.date) -> int:
    """The month of a rental a date of service falls in (month 1 starts on ``start``)."""
    months = (day.year - start.year) * 12 + (day.month - start.month)
    if day.day < start.day and not _is_clamped(start, day):
        months -= 1
    return months + 1


def _is_clamped(start: datetime.date, day: datetime.date) -> bool:
    # Month N's date is start + N-1 months clamped to the month's end (hme.rules): a
    # rental started on the 31st bills on the 30th of a 30-day month.
    following = day + datetime.timedelta(days=1)
    return following.month != day.month and start.day > day.day
