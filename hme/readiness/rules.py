"""Tables the readiness checks read, each with its source (docs/domain/hme-billing.md,
"Ready to bill"). Kept here rather than in ``hme.rules`` so the billing-path branch's
edits of that file and these tables never collide; the lead may move them there."""

from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

# Timely filing: 12 months (365 days) after the date of service for Medicare
# (42 CFR 424.44(a)); other payers carry their own limit (Payer.timely_filing_days).
# A warning starts this many days before the limit.
TIMELY_FILING_WARNING_DAYS = 60

# Same or similar: one item per reasonable useful lifetime of 5 years
# (42 CFR 414.210(f)); the payer denies a second inside it (remark M3).
REASONABLE_USEFUL_LIFETIME = relativedelta(years=5)


@dataclass(frozen=True)
class FrequencyLimit:
    """At most ``quantity`` units per ``months`` months (the "usual maximum")."""

    quantity: int
    months: int

    @property
    def window(self) -> relativedelta:
        return relativedelta(months=self.months)

    def describe(self) -> str:
        per = "month" if self.months == 1 else f"{self.months} months"
        return f"{self.quantity} per {per}"


# PAP supplies: the usual maximum quantities of LCD L33718 (Positive Airway Pressure
# Devices for the Treatment of Obstructive Sleep Apnea) and its policy article A52467.
PAP_SUPPLY_SOURCE = "LCD L33718 / policy article A52467 (usual maximum quantities)"
FREQUENCY_LIMITS = {
    "A7027": FrequencyLimit(1, 3),  # combination oral/nasal mask
    "A7028": FrequencyLimit(2, 1),  # oral cushion, combination mask
    "A7029": FrequencyLimit(2, 1),  # nasal pillows, combination mask
    "A7030": FrequencyLimit(1, 3),  # full face mask
    "A7031": FrequencyLimit(1, 1),  # full face mask cushion
    "A7032": FrequencyLimit(2, 1),  # nasal mask cushion
    "A7033": FrequencyLimit(2, 1),  # nasal pillows
    "A7034": FrequencyLimit(1, 3),  # nasal mask or cannula interface
    "A7035": FrequencyLimit(1, 6),  # headgear
    "A7036": FrequencyLimit(1, 6),  # chinstrap
    "A7037": FrequencyLimit(1, 3),  # tubing
    "A7038": FrequencyLimit(2, 1),  # disposable filter
    "A7039": FrequencyLimit(1, 6),  # non-disposable filter
    "A7046": FrequencyLimit(1, 6),  # humidifier water chamber
    "A4604": FrequencyLimit(1, 3),  # heated tubing
}

# KX says "the policy's coverage requirements are met". Codes whose LCD uses KX
# (a first cut: PAP devices and supplies, LCD L33718; power mobility, LCD L33789;
# hospital beds, LCD L33820; oxygen, LCD L33797; pressure-reducing support surfaces,
# LCD L33830 / L33642). KX on any other code claims a policy that does not exist.
KX_POLICIES = (
    ("E0470", "E0471", "LCD L33718"),
    ("E0601", "E0601", "LCD L33718"),
    ("E0561", "E0562", "LCD L33718"),
    ("A7027", "A7039", "LCD L33718"),
    ("A7046", "A7046", "LCD L33718"),
    ("A4604", "A4604", "LCD L33718"),
    ("K0800", "K0899", "LCD L33789"),
    ("E0250", "E0297", "LCD L33820"),
    ("E0424", "E0444", "LCD L33797"),
    ("E1390", "E1392", "LCD L33797"),
    ("E0181", "E0199", "LCD L33830"),
    ("E0277", "E0277", "LCD L33642"),
    ("E0371", "E0373", "LCD L33642"),
)
# The KX/GA/GY/GZ rule: KX never with GA, GY or GZ on one line (CMS MLN "Medicare
# modifiers" and the DME MAC supplier manuals).
NOT_WITH_KX = ("GA", "GY", "GZ")


def kx_policy(hcpcs: str) -> str | None:
    """The LCD whose requirements KX attests for ``hcpcs``, or None."""
    for first, last, source in KX_POLICIES:
        if hcpcs[:1] == first[:1] and first <= hcpcs <= last:
            return source
    return None


def same_or_similar_class(category: str, hcpcs: str) -> str:
    """The class of items "same or similar" compares: the catalogue category (CPAP and
    BiPAP are one class), narrowed by the HCPCS group for mobility (a walker and a
    wheelchair are not similar)."""
    if category == "mobility":
        return f"{category}:{hcpcs[:3]}"
    return category
