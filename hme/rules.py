"""Billing rules that are tables rather than operations (docs/domain/hme-billing.md).

Kept apart from the services so models, services, admin and API read one copy:
which items need prior authorization and for how long an approval runs, which
modifiers a DME line must carry, and how a capped rental month is priced.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError

from core.validators import normalize_hcpcs, validate_hcpcs, validate_modifiers

CENT = Decimal("0.01")

# Prior authorization ---------------------------------------------------------------


@dataclass(frozen=True)
class PriorAuthRule:
    """HCPCS codes ``first``..``last`` (inclusive) need prior authorization; an approval
    is valid for ``window`` from its start."""

    first: str
    last: str
    category: str
    window: relativedelta

    def matches(self, hcpcs):
        return len(hcpcs) == 5 and hcpcs[0] == self.first[0] and self.first <= hcpcs <= self.last


# Prior-authorization windows (docs/domain/hme-billing.md); code lists from the CMS
# Required Prior Authorization List for DMEPOS (power mobility devices,
# pressure-reducing support surfaces, the lower-limb orthoses and prostheses on it).
PRIOR_AUTH_RULES = (
    PriorAuthRule("K0800", "K0864", "Power mobility device", relativedelta(months=6)),
    PriorAuthRule("E0193", "E0193", "Pressure-reducing support surface", relativedelta(months=1)),
    PriorAuthRule("E0277", "E0277", "Pressure-reducing support surface", relativedelta(months=1)),
    PriorAuthRule("E0371", "E0373", "Pressure-reducing support surface", relativedelta(months=1)),
    *(
        PriorAuthRule(code, code, "Orthosis", relativedelta(days=60))
        for code in ("L0648", "L0650", "L1832", "L1833", "L1851")
    ),
    *(
        PriorAuthRule(code, code, "Lower-limb prosthesis", relativedelta(days=120))
        for code in ("L5856", "L5857", "L5858", "L5973", "L5980", "L5987")
    ),
)


def requires_prior_auth(hcpcs: str | None) -> PriorAuthRule | None:
    """The rule that puts ``hcpcs`` under prior authorization, or None."""
    hcpcs = normalize_hcpcs(hcpcs or "")
    return next((rule for rule in PRIOR_AUTH_RULES if rule.matches(hcpcs)), None)


def default_auth_end(hcpcs_codes: Iterable[str], valid_from: datetime.date) -> datetime.date | None:
    """The last day an approval starting ``valid_from`` covers: the shortest window of
    its codes (None when none of them needs prior authorization)."""
    windows = [rule.window for code in hcpcs_codes if (rule := requires_prior_auth(code))]
    if not windows:
        return None
    return min(valid_from + window for window in windows) - datetime.timedelta(days=1)


def clean_hcpcs_list(codes):
    """Validate a list of HCPCS codes; return them upper case, deduplicated, in order."""
    if isinstance(codes, str) or not isinstance(codes, list | tuple):
        raise ValidationError('Give the HCPCS codes as a list, as in ["K0823"].')
    cleaned, errors = [], []
    for code in codes:
        value = normalize_hcpcs(str(code))
        try:
            validate_hcpcs(value)
        except ValidationError as error:
            errors.extend(f"{code!s}: {message}" for message in error.messages)
            continue
        if value not in cleaned:
            cleaned.append(value)
    if errors:
        raise ValidationError(errors)
    if not cleaned:
        raise ValidationError("Give at least one HCPCS code.")
    return cleaned


# Modifiers -------------------------------------------------------------------------

RENTAL = "RR"
NEW_PURCHASE = "NU"
USED_PURCHASE = "UE"
PRICING_MODIFIERS = (RENTAL, NEW_PURCHASE, USED_PURCHASE)
FIRST_MONTH, MONTHS_2_3, MONTHS_4_ON = "KH", "KI", "KJ"
CAPPED_RENTAL_MONTH_MODIFIERS = (FIRST_MONTH, MONTHS_2_3, MONTHS_4_ON)


def is_dme_equipment(hcpcs):
    """E (durable equipment) and K (temporary DME) codes are rented or bought: their
    lines must say which (RR, NU or UE). Supplies (A), orthotics (L) and others not."""
    return bool(hcpcs) and hcpcs[0] in "EK"


def clean_modifiers(hcpcs, modifiers):
    """Validate a claim line's modifiers; return them upper case.

    The format rules of ``core.validators.validate_modifiers`` (at most four, no repeat,
    KX never with GA/GY/GZ), then (docs/domain/hme-billing.md): a DME line carries
    exactly one of RR, NU, UE; KH/KI/KJ only on a rental (RR) line, one of them at most.
    """
    if isinstance(modifiers, str) or not isinstance(modifiers, list | tuple):
        raise ValidationError('Give the modifiers as a list, as in ["RR", "KH"].')
    modifiers = [normalize_hcpcs(str(m)) for m in modifiers]
    validate_modifiers(modifiers)
    pricing = [m for m in modifiers if m in PRICING_MODIFIERS]
    if len(pricing) > 1:
        raise ValidationError(
            f"Use one of RR, NU, UE on a line, not {' and '.join(pricing)}.",
            code="conflicting_modifiers",
        )
    if is_dme_equipment(hcpcs) and not pricing:
        raise ValidationError(
            f"{hcpcs} is rented or bought equipment: add RR (rental), NU (new purchase) or "
            "UE (used purchase).",
            code="missing_pricing_modifier",
        )
    months = [m for m in modifiers if m in CAPPED_RENTAL_MONTH_MODIFIERS]
    if len(months) > 1:
        raise ValidationError(
            f"Only one rental-month modifier per line (KH, KI or KJ); got {', '.join(months)}.",
            code="conflicting_modifiers",
        )
    if months and RENTAL not in modifiers:
        raise ValidationError(
            f"{months[0]} marks a rental month: it goes with RR only.",
            code="conflicting_modifiers",
        )
    return modifiers


# Capped rental ---------------------------------------------------------------------

CAPPED_RENTAL_MONTHS = 13
OXYGEN_RENTAL_MONTHS = 36


@dataclass(frozen=True)
class RentalMonth:
    """What month ``number`` of a rental bills: modifiers and the charge for one unit."""

    number: int
    modifiers: tuple
    charge: Decimal


def rental_month_modifiers(number: int, *, capped: bool = True) -> tuple[str, ...]:
    """RR + KH (month 1), KI (2-3), KJ (4 on) for capped rentals; RR alone for oxygen."""
    if not capped:
        return (RENTAL,)
    if number == 1:
        return (RENTAL, FIRST_MONTH)
    if number <= 3:
        return (RENTAL, MONTHS_2_3)
    return (RENTAL, MONTHS_4_ON)


# Power wheelchairs (K0813-K0899) rent at 15% / 6% of the purchase fee; scooters
# (K0800-K0812) and everything else at 10% / 7.5%.
POWER_WHEELCHAIR_CODES = ("K0813", "K0899")


def is_power_wheelchair(hcpcs: str) -> bool:
    first, last = POWER_WHEELCHAIR_CODES
    return bool(hcpcs) and first <= normalize_hcpcs(hcpcs) <= last and hcpcs[0] == "K"


def capped_rental_fee(
    purchase_fee: Decimal, number: int, *, power_wheelchair: bool = False
) -> Decimal:
    """Months 1-3: 10% of the purchase fee (power wheelchairs 15%); months 4-13: 7.5%
    (power wheelchairs 6%). Rounded half-up to the cent."""
    if not 1 <= number <= CAPPED_RENTAL_MONTHS:
        raise ValueError(f"A capped rental bills months 1-{CAPPED_RENTAL_MONTHS}; got {number}.")
    if power_wheelchair:
        rate = Decimal("0.15") if number <= 3 else Decimal("0.06")
    else:
        rate = Decimal("0.10") if number <= 3 else Decimal("0.075")
    return (Decimal(purchase_fee) * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def month_date_of_service(start_date: datetime.date, number: int) -> datetime.date:
    """Month ``number``'s date of service: the start date plus ``number - 1`` months
    (Jan 31 + 1 month is Feb 28/29: the anniversary clamps to the month's end)."""
    return start_date + relativedelta(months=number - 1)
