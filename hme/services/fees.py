"""Fee schedules: what a line is expected to be paid, the supplier's charge, the
underpayment flag, and the importer of the CMS DMEPOS fee schedule file.

The allowable of a line is the payer's fee schedule entry in force on the date of
service for its HCPCS code and band (docs/domain/hme-billing.md). A capped rental's
months 4-13 without an entry of their own are 75% of the months 1-3 fee (power
wheelchairs 40%): 42 CFR 414.229(f) pays 10% / 7.5% (15% / 6%) of the purchase price.
With no fee schedule in force, a rental month falls back to today's percentage of the
purchase price, and the basis says so.
"""

import csv
import datetime
import io
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum

from accounts.models import Company
from core.caching import cached, invalidate
from core.exceptions import ServiceError
from core.validators import normalize_hcpcs, validate_hcpcs

from ..models import Claim, ClaimLine, FeeBand, FeeScheduleEntry, Payer, SupplierCharge
from ..models.claims import ZERO
from ..rules import (
    CAPPED_RENTAL_MONTHS,
    NEW_PURCHASE,
    RENTAL,
    USED_PURCHASE,
    capped_rental_fee,
    is_power_wheelchair,
)

CENT = Decimal("0.01")
# Months 4-13 against months 1-3 of a capped rental (7.5/10; power wheelchairs 6/15).
MONTHS_4_13_RATIO = Decimal("0.75")
POWER_WHEELCHAIR_4_13_RATIO = Decimal("0.40")


@dataclass(frozen=True)
class Expected:
    """An expected reimbursement for all units (None: unknown) and where it comes from."""

    amount: Decimal | None
    basis: str


def band_for(
    modifiers: Sequence[str], rental_month: int | None = None, *, capped: bool = False
) -> str:
    """The fee band of a line from its pricing modifier and, for capped rentals, its
    month (other rentals pay one monthly fee)."""
    if RENTAL in modifiers or rental_month is not None:
        if capped and rental_month is not None and rental_month > 3:
            return FeeBand.RENTAL_4_13
        return FeeBand.RENTAL_1_3
    if NEW_PURCHASE in modifiers:
        return FeeBand.NEW_PURCHASE
    if USED_PURCHASE in modifiers:
        return FeeBand.USED_PURCHASE
    return FeeBand.UNIT


def fee_in_force(
    payer: Payer,
    hcpcs: str,
    band: str,
    day: datetime.date,
    state: str = "",
    modifiers: Sequence[str] = (),
) -> FeeScheduleEntry | None:
    """The payer's entry for the code and band in force on ``day`` whose modifiers the
    line carries: the state's own column before an any-state one, the entry with the
    most modifiers, then the latest start.

    Read through the cache (``core.caching``, kind ``fees``, the payer's company): an
    import, an entry saved or a payer changed invalidates the company's fees at once
    (``hme.reference``)."""
    code = normalize_hcpcs(hcpcs)
    mods = ".".join(sorted({m for m in modifiers if m})) or "-"
    if not (code.isalnum() and mods.replace(".", "").replace("-", "").isalnum()):
        return _fee_in_force(payer, hcpcs, band, day, state, modifiers)
    return cached(
        "fees",
        payer.company_id,
        ("fee", payer.pk, code, band, day, (state or "").upper() or "-", mods),
        lambda: _fee_in_force(payer, hcpcs, band, day, state, modifiers),
    )


def _fee_in_force(
    payer: Payer,
    hcpcs: str,
    band: str,
    day: datetime.date,
    state: str = "",
    modifiers: Sequence[str] = (),
) -> FeeScheduleEntry | None:
    allowed = ["", *modifiers]
    entries = FeeScheduleEntry.objects.filter(
        payer=payer,
        hcpcs=normalize_hcpcs(hcpcs),
        band=band,
        effective_from__lte=day,
        modifier__in=allowed,
        modifier2__in=allowed,
    ).filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
    entries = entries.filter(Q(state="") | Q(state=(state or "").upper()))
    found: FeeScheduleEntry | None = (
        entries.select_related("payer")
        .order_by("-state", "-modifier2", "-modifier", "-effective_from")
        .first()
    )
    return found


def _describe(entry: FeeScheduleEntry) -> str:
    where = f" {entry.state}" if entry.state else ""
    return f"{entry.payer.name}{where} fee schedule from {entry.effective_from.isoformat()}"


def expected_for(
    payer: Payer,
    hcpcs: str,
    modifiers: Sequence[str],
    day: datetime.date,
    units: int,
    *,
    state: str = "",
    rental_month: int | None = None,
    capped: bool = False,
    purchase_price: Decimal | None = None,
    monthly_fee: Decimal | None = None,
) -> Expected:
    """What the payer is expected to allow for the line (all ``units``)."""
    band = band_for(modifiers, rental_month, capped=capped)
    entry = fee_in_force(payer, hcpcs, band, day, state, modifiers)
    if entry is not None:
        return Expected((entry.allowable * units).quantize(CENT), _describe(entry))
    if band == FeeBand.RENTAL_4_13 and capped:
        base = fee_in_force(payer, hcpcs, FeeBand.RENTAL_1_3, day, state, modifiers)
        if base is not None:
            ratio = POWER_WHEELCHAIR_4_13_RATIO if is_power_wheelchair(hcpcs) else MONTHS_4_13_RATIO
            amount = (base.allowable * ratio).quantize(CENT, rounding=ROUND_HALF_UP)
            return Expected(
                (amount * units).quantize(CENT),
                f"{_describe(base)}, months 1-3 fee x {ratio} (42 CFR 414.229(f))",
            )
    if rental_month is not None and capped and purchase_price is not None:
        number = min(rental_month, CAPPED_RENTAL_MONTHS)
        power = is_power_wheelchair(hcpcs)
        fee = capped_rental_fee(purchase_price, number, power_wheelchair=power)
        rate = ("15%" if number <= 3 else "6%") if power else ("10%" if number <= 3 else "7.5%")
        return Expected(
            (fee * units).quantize(CENT),
            f"{rate} of the purchase price (no fee schedule in force)",
        )
    if rental_month is not None and monthly_fee is not None:
        return Expected(
            (monthly_fee * units).quantize(CENT),
            "the rental's monthly fee (no fee schedule in force)",
        )
    return Expected(None, "no fee schedule in force")


def supplier_charge(company_id: uuid.UUID, hcpcs: str, band: str) -> Decimal | None:
    """The supplier's own charge for one unit, or None when its charge list has none."""
    charge: Decimal | None = (
        SupplierCharge.objects.filter(
            company_id=company_id, hcpcs=normalize_hcpcs(hcpcs), band=band
        )
        .values_list("charge", flat=True)
        .first()
    )
    return charge


def flag_underpayment(claim: Claim) -> Claim:
    """After a payment is posted: flag the claim when the payer's payment plus the
    patient's share is below the expected reimbursement of its lines. Call inside the
    transaction that posted the payment (after ``recalculate_claim``)."""
    expected = claim.lines.aggregate(total=Sum("expected_amount"))["total"]
    claim.expected_amount = expected
    short = ZERO
    if expected is not None:
        received = claim.paid_amount + claim.patient_responsibility
        short = max(ZERO, expected - received)
    claim.underpaid_amount = short
    claim.save(update_fields=["expected_amount", "underpaid_amount"])
    return claim


def claim_expected_total(lines: Iterable[ClaimLine]) -> Decimal | None:
    amounts = [line.expected_amount for line in lines if line.expected_amount is not None]
    return sum(amounts, ZERO) if amounts else None


# Importing the CMS DMEPOS fee schedule file ---------------------------------------------

# Column names of the CMS DMEPOS fee schedule file (DMEPOS<yy>_<quarter>.csv): HCPCS,
# MOD, MOD2, then one column per state (non-rural "AL (NR)" and rural "AL (R)").
HCPCS_COLUMN, MOD_COLUMN, MOD2_COLUMN = "HCPCS", "MOD", "MOD2"
MAX_ERRORS_SHOWN = 5


@dataclass
class ImportResult:
    created: int
    closed: int
    skipped: int

    def summary(self, payer: Payer, state: str) -> str:
        return (
            f"Imported {self.created} fee(s) for {payer.name} ({state}); closed "
            f"{self.closed} earlier fee(s); skipped {self.skipped} row(s) without a {state} fee."
        )


def _band_of(mod: str, mod2: str) -> str:
    mods = {mod, mod2} - {""}
    if "RR" in mods:
        return FeeBand.RENTAL_4_13 if "KJ" in mods else FeeBand.RENTAL_1_3
    if "NU" in mods:
        return FeeBand.NEW_PURCHASE
    if "UE" in mods:
        return FeeBand.USED_PURCHASE
    # No pricing modifier (supplies; KL mail order and the like ride along).
    return FeeBand.UNIT


def _state_column(header: Sequence[str], state: str, rural: bool) -> str:
    wanted = [f"{state} ({'R' if rural else 'NR'})", f"{state}_{'R' if rural else 'NR'}"]
    if not rural:
        wanted.append(state)
    by_upper = {name.strip().upper(): name for name in header}
    for name in wanted:
        if name.upper() in by_upper:
            return by_upper[name.upper()]
    raise ServiceError(
        f"The file has no fee column for {state} ({'rural' if rural else 'non-rural'}): "
        f"expected one of {', '.join(wanted)}.",
        code="no_state_column",
    )


def read_fee_rows(
    handle: io.TextIOBase | Iterable[str],
    *,
    state: str,
    rural: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[tuple[int, str, str, str, str, Decimal]], int]:
    """Parse the file: ``([(row, hcpcs, mod, mod2, band, fee)], skipped)``. Every bad
    row is refused with its row number (counting the header as row 1), all at once."""
    reader = csv.DictReader(handle)
    header = [name.strip() for name in (reader.fieldnames or [])]
    upper = {name.upper(): name for name in reader.fieldnames or []}
    missing = [c for c in (HCPCS_COLUMN, MOD_COLUMN, MOD2_COLUMN) if c not in upper]
    if missing:
        raise ServiceError(
            f"Not a CMS DMEPOS fee schedule file: no {', '.join(missing)} column(s).",
            code="bad_header",
        )
    column = _state_column(header, state, rural)
    column = next(name for name in reader.fieldnames or [] if name.strip() == column)
    rows: list[tuple[int, str, str, str, str, Decimal]] = []
    errors: list[str] = []
    skipped = 0
    seen: dict[tuple[str, str, str], int] = {}
    for number, record in enumerate(reader, start=2):
        if progress:
            progress(1)
        hcpcs = normalize_hcpcs(record.get(upper[HCPCS_COLUMN]) or "")
        mod = normalize_hcpcs(record.get(upper[MOD_COLUMN]) or "")
        mod2 = normalize_hcpcs(record.get(upper[MOD2_COLUMN]) or "")
        raw = (record.get(column) or "").strip().replace("$", "").replace(",", "")
        try:
            validate_hcpcs(hcpcs)
        except ValidationError:
            errors.append(f"row {number}: {hcpcs or '(empty)'!r} is not a HCPCS code")
            continue
        bad_mod = next((m for m in (mod, mod2) if m and not (len(m) == 2 and m.isalnum())), None)
        if bad_mod:
            errors.append(f"row {number}: modifier {bad_mod!r} is not two letters or digits")
            continue
        if not raw:
            skipped += 1
            continue
        try:
            fee = Decimal(raw)
        except InvalidOperation:
            errors.append(f"row {number}: the {column} fee {raw!r} is not an amount")
            continue
        if not fee.is_finite() or fee < 0 or fee != fee.quantize(CENT):
            errors.append(f"row {number}: the {column} fee {raw!r} is not an amount in cents")
            continue
        key = (hcpcs, mod, mod2)
        if key in seen:
            errors.append(f"row {number}: {hcpcs} {mod} {mod2} repeats row {seen[key]}")
            continue
        seen[key] = number
        band = _band_of(mod, mod2)
        rows.append((number, hcpcs, mod, mod2, band, fee))
    if errors:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        extra = len(errors) - MAX_ERRORS_SHOWN
        more = f" (and {extra} more)" if extra > 0 else ""
        raise ServiceError(
            f"{len(errors)} bad row(s), nothing imported: {shown}{more}.", code="bad_rows"
        )
    return rows, skipped


def import_fee_schedule(
    company: Company,
    payer: Payer,
    rows: Sequence[tuple[int, str, str, str, str, Decimal]],
    *,
    state: str,
    effective_from: datetime.date,
    source: str = "",
) -> tuple[int, int]:
    """Write the parsed rows in one transaction: (created, closed). An open-ended fee of
    the same payer, code, modifiers, band and state that started earlier ends the day
    before; a fee already imported from the same date is refused."""
    if payer.company_id != company.pk:
        raise ServiceError("This payer is not in the company.", code="not_found")
    state = state.upper()
    day_before = effective_from - datetime.timedelta(days=1)
    with transaction.atomic():
        existing = FeeScheduleEntry.objects.filter(
            payer=payer, state=state, effective_from=effective_from
        )
        if existing.exists():
            raise ServiceError(
                f"{payer.name} already has {state} fees from {effective_from.isoformat()}: "
                "nothing imported.",
                code="already_imported",
            )
        closed = FeeScheduleEntry.objects.filter(
            payer=payer,
            state=state,
            effective_to__isnull=True,
            effective_from__lt=effective_from,
            hcpcs__in={row[1] for row in rows},
        ).update(effective_to=day_before)
        FeeScheduleEntry.objects.bulk_create(
            [
                FeeScheduleEntry(
                    company=company,
                    payer=payer,
                    hcpcs=hcpcs,
                    modifier=mod,
                    modifier2=mod2,
                    band=band,
                    state=state,
                    allowable=fee,
                    effective_from=effective_from,
                    source=f"{source} row {number}"[:200],
                )
                for number, hcpcs, mod, mod2, band, fee in rows
            ],
            batch_size=1000,
        )
        # Bulk writes send no signals: the company's cached fees go in one write.
        invalidate("fees", company.pk)
    return len(rows), closed
