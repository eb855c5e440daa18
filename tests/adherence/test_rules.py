"""The Medicare PAP adherence rule (LCD L33718): >= 4 h on 70% of nights (21 of 30)
in a consecutive 30-day window within the first 90 days."""

import datetime
from decimal import Decimal

import pytest

from adherence import rules
from adherence.choices import AdherenceState

START = datetime.date(2026, 3, 1)


def day(n):
    """Day n of the period (day 1 is the start)."""
    return START + datetime.timedelta(days=n - 1)


def nights(days, hours="6.00"):
    return {day(n): Decimal(hours) for n in days}


def test_21_of_30_nights_meets_the_rule():
    evaluation = rules.evaluate(START, nights(range(1, 22)), as_of=day(30))
    assert evaluation.state == AdherenceState.MET
    assert evaluation.met_on == day(21)
    assert evaluation.best_window_nights == 21


def test_20_of_30_nights_does_not_meet_it():
    usage = nights(range(1, 21)) | nights(range(21, 31), "1.00")
    evaluation = rules.evaluate(START, usage, as_of=day(30))
    assert evaluation.state != AdherenceState.MET
    assert evaluation.met_on is None
    assert evaluation.best_window_nights == 20


def test_4_hours_counts_and_3_99_does_not():
    assert rules.compliant(Decimal("4.00"))
    assert not rules.compliant(Decimal("3.99"))
    twenty = nights(range(1, 21))
    assert rules.evaluate(START, twenty | nights([21], "4.00"), day(30)).state == "met"
    assert rules.evaluate(START, twenty | nights([21], "3.99"), day(30)).state != "met"


def test_the_window_slides_past_day_30():
    # Days 1-10 unused, then 21 good nights from day 11: the window of days 11-40.
    usage = nights(range(1, 11), "0.50") | nights(range(11, 32))
    evaluation = rules.evaluate(START, usage, as_of=day(40))
    assert evaluation.state == AdherenceState.MET
    assert evaluation.met_on == day(31)
    assert evaluation.best_window_start == day(2)  # days 2-31 hold the same 21 nights


def test_nights_spread_over_more_than_30_days_do_not_meet_it():
    # 21 good nights, but every other day over 42 days: never 21 in 30 consecutive days.
    evaluation = rules.evaluate(START, nights(range(1, 43, 2)), as_of=day(60))
    assert evaluation.state != AdherenceState.MET
    assert evaluation.best_window_nights == 15


def test_the_last_window_ends_on_day_90():
    good = nights(range(70, 91))  # days 70-90: inside the window of days 61-90
    assert rules.evaluate(START, good, as_of=day(95)).state == AdherenceState.MET


def test_nights_after_day_90_do_not_count():
    good = nights(range(71, 92))  # 20 nights up to day 90, the 21st on day 91
    evaluation = rules.evaluate(START, good, as_of=day(95))
    assert evaluation.state == AdherenceState.NOT_MET
    assert evaluation.best_window_nights == 20


def test_falling_short_with_days_left_is_at_risk():
    usage = nights(range(1, 11), "2.00")  # 10 poor nights
    evaluation = rules.evaluate(START, usage, as_of=day(10))
    assert evaluation.state == AdherenceState.AT_RISK
    assert evaluation.days_remaining == 80
    assert (evaluation.trailing_nights, evaluation.trailing_days) == (0, 10)


def test_good_pace_is_on_track():
    evaluation = rules.evaluate(START, nights(range(1, 11)), as_of=day(10))
    assert evaluation.state == AdherenceState.ON_TRACK


def test_it_cannot_be_met_once_too_few_days_remain():
    # Nothing good up to day 80: the window 61-90 can hold at most 10 more good nights.
    usage = nights(range(1, 81), "1.00")
    assert rules.evaluate(START, usage, as_of=day(80)).state == AdherenceState.NOT_MET
    # Up to day 70 it still could (days 70-90 are 21 nights, all unknown).
    usage = nights(range(1, 70), "1.00")
    assert rules.evaluate(START, usage, as_of=day(69)).state == AdherenceState.AT_RISK


def test_a_closed_window_without_usage_is_not_met():
    assert rules.evaluate(START, {}, as_of=day(91)).state == AdherenceState.NOT_MET
    assert rules.evaluate(START, {}, as_of=day(90)).state == AdherenceState.NO_DATA


def test_nights_not_imported_after_the_period_count_as_unused():
    evaluation = rules.evaluate(START, nights(range(1, 15)), as_of=day(120))
    assert evaluation.state == AdherenceState.NOT_MET
    assert evaluation.known_through == day(90)


@pytest.mark.parametrize(
    ("start", "dos", "month"),
    [
        (datetime.date(2026, 1, 15), datetime.date(2026, 1, 15), 1),
        (datetime.date(2026, 1, 15), datetime.date(2026, 4, 15), 4),
        (datetime.date(2026, 1, 15), datetime.date(2026, 4, 14), 3),
        (datetime.date(2026, 1, 31), datetime.date(2026, 4, 30), 4),
        (datetime.date(2026, 1, 31), datetime.date(2026, 2, 28), 2),
    ],
)
def test_rental_month_of_a_date_of_service(start, dos, month):
    assert rules.rental_month_of(start, dos) == month
