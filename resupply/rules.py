"""The resupply windows and the replacement-schedule arithmetic, with their sources.

- Contact the patient no sooner than 14 days before the supply runs out (the next
  delivery), ship no sooner than 10 days before: CMS DMEPOS refill requirements,
  Medicare Program Integrity Manual (Pub. 100-08) ch. 5, 5.2.6, and the DME MAC
  policy article A52467 (PAP devices), "Refill requirements". Never automatic
  shipping: each refill needs the patient's documented confirmation of need.
- Usual maximum quantities of PAP supplies: LCD L33718 "Positive Airway Pressure
  (PAP) Devices for the Treatment of Obstructive Sleep Apnea" and its policy article
  A52467, PAP supplies utilization table (seeded as the global rules by migration
  ``resupply.0002_default_replacement_rules``).
"""

import datetime

from dateutil.relativedelta import relativedelta

CONTACT_DAYS_BEFORE = 14
SHIP_DAYS_BEFORE = 10
REFILL_SOURCE = "CMS PIM ch. 5, 5.2.6 / policy article A52467 (refill requirements)"
# Average days in a month, for a delivery that covers a fraction of a month.
DAYS_PER_MONTH = 30.4375


def supply_ends_on(
    delivered_on: datetime.date, delivered: int, quantity: int, months: int
) -> datetime.date:
    """The day ``delivered`` units run out when ``quantity`` units last ``months``
    months (2 filters of "2 per month" last a month; 1 lasts half a month)."""
    covered_months, remainder = divmod(max(delivered, 1) * months, quantity)
    if remainder == 0:
        return delivered_on + relativedelta(months=covered_months)
    days = round(max(delivered, 1) * months * DAYS_PER_MONTH / quantity)
    return delivered_on + datetime.timedelta(days=days)


def contact_from(due_on: datetime.date) -> datetime.date:
    return due_on - datetime.timedelta(days=CONTACT_DAYS_BEFORE)


def ship_from(due_on: datetime.date) -> datetime.date:
    return due_on - datetime.timedelta(days=SHIP_DAYS_BEFORE)
