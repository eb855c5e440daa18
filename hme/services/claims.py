"""Claims: creation, corrections, and every status change (``hme.transitions``).

Each function runs in one transaction, locks the claim row (``select_for_update``)
before reading its status, and raises a ``core.exceptions`` error with a message a
biller can act on, having changed nothing.
"""

import datetime
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Company, Location, User
from clinical.models import Patient, Provider
from core.events import emit
from core.exceptions import Conflict, InvalidTransition, ServiceError
from core.locks import lock_row

from ..choices import AdjustmentGroup, ClaimStatus, describe_carc, normalize_carc, validate_carc
from ..models import Adjustment, Claim, ClaimLine, Coverage, PaymentAllocation
from ..models.claims import EDITABLE_STATUSES, ZERO
from ..transitions import check_claim_transition
from .authorizations import draw_units, find_authorization, return_units

CENT = Decimal("0.01")
# Who may send a claim past the payer's timely filing limit, with a reason.
TIMELY_FILING_OVERRIDE_ROLES = (Role.BILLING, Role.ADMINISTRATOR)
# Header fields a correction may change.
CORRECTABLE_FIELDS = ("coverage", "billing_location", "referring_provider", "diagnosis_codes")
LINE_FIELDS = (
    "date_of_service",
    "hcpcs",
    "modifiers",
    "description",
    "units",
    "charge",
    "diagnosis_pointers",
)


def _error_from_validation(error: ValidationError, prefix: str = "") -> ServiceError:
    fields = getattr(error, "message_dict", None) or {"non_field_errors": error.messages}
    message = " ".join(error.messages)
    return ServiceError(f"{prefix}{message}", fields=fields)


def money(value: object, label: str = "amount") -> Decimal:
    """A Decimal of whole cents, never negative; ServiceError otherwise."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError(
            f"The {label} must be an amount in dollars, as 12.50; got {value!r}."
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ServiceError(f"The {label} cannot be negative; got {value}.")
    if amount != amount.quantize(CENT):
        raise ServiceError(f"The {label} has more than two decimals: {value}.")
    return amount.quantize(CENT)


# Creating and correcting -------------------------------------------------------------


def create_claim(
    *,
    company: Company,
    patient: Patient,
    coverage: Coverage,
    billing_location: Location,
    diagnosis_codes: Iterable[str] | None,
    lines: Sequence[Mapping[str, Any]],
    referring_provider: Provider | None = None,
    **links: Any,
) -> Claim:
    """Create a pending claim with its lines (dicts of ``LINE_FIELDS``); number drawn,
    totals computed, prior-authorization units drawn for items that need them.

    Every line names what it bills: ``order_line`` (a delivered purchase or supply) or
    ``rental_month`` (a ``dme.RentalMonth``), exactly one; a line pointing at nothing
    is refused (``line_bills_nothing``), and so is an item already billed to the same
    payer sequence on a live claim (``already_billed``, held by the database) and a
    line that repeats the patient's HCPCS code, date of service and modifiers on
    another live claim (``duplicate_service``: the payer would deny it as CO-18). Lines
    may carry ``expected_amount``/``expected_basis`` (the fee schedule allowable).
    Claims are made by the billing services (``hme.services.billing``) and by
    :func:`replace_claim`, never typed.

    A line dict may carry ``authorization`` to bill under that one without drawing
    units (rental months after the first); otherwise lines whose HCPCS needs prior
    authorization draw their units from an approved, valid authorization of the
    coverage, or the claim is refused. ``links`` are ``order``, ``rental`` and
    ``rental_month`` when the claim comes from one.
    """
    if not lines:
        raise ServiceError("A claim needs at least one line.", fields={"lines": ["Add a line."]})
    with transaction.atomic():
        claim = Claim(
            company=company,
            patient=patient,
            coverage=coverage,
            payer_id=coverage.payer_id,
            billing_location=billing_location,
            referring_provider=referring_provider,
            diagnosis_codes=list(diagnosis_codes or []),
            **links,
        )
        try:
            claim.full_clean(exclude=["number", "payer"])
        except ValidationError as error:
            raise _error_from_validation(error) from error
        claim.save()
        _add_lines(claim, lines)
        recalculate_claim(claim)
    return claim


# What a line bills: a delivered order line (purchase, supply) or a rental month.
BILLED_ITEM_FIELDS = ("order_line", "rental_month")
LINE_EXTRA_FIELDS = ("expected_amount", "expected_basis")
DUPLICATE_CARC = "CO-18"


def _bills_nothing(number: int) -> ServiceError:
    return ServiceError(
        f"Line {number} bills nothing: every claim line comes from a delivered order line "
        "or a rental month. Bill the delivery or the rental month instead of typing a line.",
        code="line_bills_nothing",
        fields={"lines": [f"Line {number} points at no delivered item or rental month."]},
    )


def _check_billed_item(claim: Claim, line: ClaimLine) -> None:
    """The line's billed item is the claim's patient's, delivered (or furnished)."""
    number = line.line_number
    if (line.order_line_id is None) == (line.rental_month_id is None):
        raise _bills_nothing(number)
    if line.order_line_id is not None:
        order_line = line.order_line
        assert order_line is not None
        order = order_line.order
        if order.company_id != claim.company_id or order.patient_id != claim.patient_id:
            raise ServiceError(
                f"Line {number} bills an order line of another patient.", code="wrong_patient"
            )
        if order.delivered_on is None or order_line.delivered_quantity < 1:
            raise ServiceError(
                f"Line {number}: order {order.number}'s item was not delivered: only a "
                "delivered item is billed.",
                code="not_delivered",
            )
    else:
        month = line.rental_month
        assert month is not None
        if month.rental.patient_id != claim.patient_id or month.company_id != claim.company_id:
            raise ServiceError(
                f"Line {number} bills a rental month of another patient.", code="wrong_patient"
            )


def _same_modifiers(a: Sequence[str] | None, b: Sequence[str] | None) -> bool:
    return sorted(a or []) == sorted(b or [])


def find_duplicate(claim: Claim, line: ClaimLine) -> ClaimLine | None:
    """A line of another live claim of the patient, to the same payer sequence, with the
    same HCPCS code, date of service and modifiers: the payer denies the second as an
    exact duplicate (CARC 18)."""
    candidates = (
        ClaimLine.objects.filter(
            company_id=claim.company_id,
            claim__patient_id=claim.patient_id,
            hcpcs=line.hcpcs,
            date_of_service=line.date_of_service,
            payer_sequence=line.payer_sequence,
            live=True,
        )
        .exclude(claim_id=claim.pk)
        .select_related("claim")
    )
    return next((c for c in candidates if _same_modifiers(c.modifiers, line.modifiers)), None)


def _refuse_duplicate(claim: Claim, line: ClaimLine) -> None:
    other = find_duplicate(claim, line)
    if other is None:
        return
    modifiers = "-".join(line.modifiers or [])
    raise Conflict(
        f"Line {line.line_number} ({line.hcpcs}{'-' + modifiers if modifiers else ''}, "
        f"{line.date_of_service:%m/%d/%Y}) is already billed on claim {other.claim.number}: "
        f"the payer would deny it as an exact duplicate ({DUPLICATE_CARC}). Correct or "
        "replace that claim instead.",
        code="duplicate_service",
    )


def _add_lines(claim: Claim, lines: Iterable[Mapping[str, Any]], first_number: int = 1) -> None:
    sequence = claim.coverage.priority
    for number, data in enumerate(lines, start=first_number):
        data = dict(data)
        authorization = data.pop("authorization", None)
        draw = authorization is None
        unknown = set(data) - set(LINE_FIELDS) - set(BILLED_ITEM_FIELDS) - set(LINE_EXTRA_FIELDS)
        if unknown:
            raise ServiceError(
                f"Line {number}: unknown field(s) {', '.join(sorted(unknown))}.",
                fields={"lines": ["Unknown field."]},
            )
        line = ClaimLine(
            company_id=claim.company_id,
            claim=claim,
            line_number=number,
            payer_sequence=sequence,
            **{name: data[name] for name in LINE_FIELDS if name in data},
            **{name: data.get(name) for name in BILLED_ITEM_FIELDS},
            **{name: data[name] for name in LINE_EXTRA_FIELDS if name in data},
        )
        if line.expected_basis is None:
            line.expected_basis = ""
        try:
            line.full_clean(exclude=["claim", *BILLED_ITEM_FIELDS])
        except ValidationError as error:
            raise _error_from_validation(error, prefix=f"Line {number}: ") from error
        _check_billed_item(claim, line)
        _refuse_duplicate(claim, line)
        if draw:
            authorization = find_authorization(
                claim.coverage, line.hcpcs, line.date_of_service, line.units
            )
            if authorization is not None:
                draw_units(authorization, line.units)
        line.authorization = authorization
        line.draws_authorization = draw and authorization is not None
        try:
            with transaction.atomic():
                line.save()
        except IntegrityError as error:
            what = "rental month" if line.rental_month_id else "delivered item"
            raise Conflict(
                f"Line {number}: this {what} is already billed to the "
                f"{claim.coverage.get_priority_display().lower()} payer on another claim.",
                code="already_billed",
            ) from error


def _release_authorizations(lines: Iterable[ClaimLine]) -> None:
    """Give back the units lines drew (void, replaced lines). Rental months after the
    first bill under month 1's authorization without drawing: they give nothing back."""
    for line in lines:
        if line.authorization_id and line.draws_authorization:
            return_units(line.authorization_id, line.units)


def update_claim(
    claim: Claim, *, lines: Sequence[Mapping[str, Any]] | None = None, **fields: Any
) -> Claim:
    """Correct a pending or denied claim: header fields (``CORRECTABLE_FIELDS``) and,
    when ``lines`` is given, all of its lines (replaced, renumbered, authorizations
    drawn again)."""
    unknown = set(fields) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ServiceError(f"These claim fields cannot be changed: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        claim = lock_row(claim)
        if claim.status not in EDITABLE_STATUSES:
            raise InvalidTransition(
                f"Claim {claim.number} is {claim.get_status_display().lower()}: only a pending "
                "or denied claim can be corrected.",
                code="not_editable",
            )
        for name, value in fields.items():
            setattr(claim, name, value)
        if "coverage" in fields:
            claim.payer_id = claim.coverage.payer_id
        try:
            claim.full_clean(exclude=["number", "payer"])
        except ValidationError as error:
            raise _error_from_validation(error) from error
        claim.save()
        if lines is not None:
            if not lines:
                raise ServiceError(
                    "A claim needs at least one line.", fields={"lines": ["Add a line."]}
                )
            old = list(claim.lines.all())
            _release_authorizations(old)
            claim.lines.all().delete()
            _add_lines(claim, lines)
        else:
            if "coverage" in fields:
                claim.lines.update(payer_sequence=claim.coverage.priority)
            # New diagnosis list: the lines' pointers must still point somewhere.
            for line in claim.lines.all():
                try:
                    line.full_clean(exclude=["claim"])
                except ValidationError as error:
                    raise _error_from_validation(
                        error, prefix=f"Line {line.line_number}: "
                    ) from error
        recalculate_claim(claim)
    return claim


def recalculate_claim(claim: Claim) -> Claim:
    """Derive the claim's money from its lines and allocations, and save it.

    total charge = sum of line charges; allowed = sum of line allowed amounts;
    paid = sum of allocations; patient responsibility = sum of their PR adjustments.
    Call inside the transaction that changed the lines or allocations.
    """
    lines = claim.lines.aggregate(
        charge=Sum("charge"), allowed=Sum("allowed_amount"), expected=Sum("expected_amount")
    )
    paid = PaymentAllocation.objects.filter(claim=claim).aggregate(total=Sum("amount"))["total"]
    patient = Adjustment.objects.filter(
        allocation__claim=claim, group=AdjustmentGroup.PR
    ).aggregate(total=Sum("amount"))["total"]
    claim.total_charge = lines["charge"] or ZERO
    claim.allowed_amount = lines["allowed"] or ZERO
    claim.paid_amount = paid or ZERO
    claim.patient_responsibility = patient or ZERO
    claim.expected_amount = lines["expected"]
    claim.save(
        update_fields=[
            "total_charge",
            "allowed_amount",
            "paid_amount",
            "patient_responsibility",
            "expected_amount",
        ]
    )
    return claim


# Timely filing -----------------------------------------------------------------------


def earliest_date_of_service(claim: Claim) -> datetime.date | None:
    first: datetime.date | None = claim.lines.aggregate(first=Min("date_of_service"))["first"]
    return first


def filing_deadline(claim: Claim) -> datetime.date | None:
    """The last day the payer accepts the claim: earliest date of service + the payer's
    limit in days (Medicare: 365)."""
    first = earliest_date_of_service(claim)
    if first is None:
        return None
    return first + datetime.timedelta(days=claim.payer.timely_filing_days)


def may_override_timely_filing(user: User | AnonymousUser | None, company_id: uuid.UUID) -> bool:
    from accounts.models import Membership

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    allowed: bool = (
        Membership.objects.active()
        .filter(user_id=user.pk, company_id=company_id, role__in=TIMELY_FILING_OVERRIDE_ROLES)
        .exists()
    )
    return allowed


def _check_timely_filing(claim: Claim, user: User | None, override_reason: str | None) -> None:
    deadline = filing_deadline(claim)
    today = timezone.localdate()
    if deadline is None or today <= deadline:
        return
    late = (today - deadline).days
    message = (
        f"Claim {claim.number} is past {claim.payer}'s timely filing limit of "
        f"{claim.payer.timely_filing_days} days: the deadline was {deadline.isoformat()} "
        f"({late} day(s) ago)."
    )
    reason = (override_reason or "").strip()
    if not reason:
        raise ServiceError(
            f"{message} A Billing user may submit it anyway with an override reason.",
            code="timely_filing",
            fields={"override_reason": ["Give a reason to submit past the filing limit."]},
        )
    if not may_override_timely_filing(user, claim.company_id):
        raise ServiceError(
            f"{message} Only the Billing role (or an Administrator) may override it.",
            code="timely_filing",
        )
    claim.timely_filing_override_reason = reason
    claim.timely_filing_override_by = user
    claim.timely_filing_override_at = timezone.now()


# Status changes ----------------------------------------------------------------------

SUBMIT_FIELDS = [
    "submitted_at",
    "submission_count",
    "timely_filing_override_reason",
    "timely_filing_override_by",
    "timely_filing_override_at",
]


def _send(claim: Claim, user: User | None, override_reason: str | None) -> None:
    if not claim.lines.exists():
        raise ServiceError(f"Claim {claim.number} has no lines to bill.")
    _check_timely_filing(claim, user, override_reason)
    claim.submitted_at = timezone.now()
    claim.submission_count += 1


def submit_claim(
    claim: Claim, user: User | None = None, override_reason: str | None = None
) -> Claim:
    """Send a pending claim to the payer: ``submitted_at`` is set and the claim stays
    pending until the payer acknowledges it (``mark_processing``).

    Past the payer's timely filing limit it is refused (code ``timely_filing``) unless
    ``override_reason`` is given by a Billing user or an Administrator; the override is
    recorded on the claim (who, when, why).
    """
    with transaction.atomic():
        claim = lock_row(claim)
        if claim.status != ClaimStatus.PENDING:
            raise InvalidTransition(
                f"Claim {claim.number} is {claim.get_status_display().lower()}: only a pending "
                "claim can be submitted (a denied one is corrected and resubmitted)."
            )
        if claim.submitted_at is not None:
            raise InvalidTransition(
                f"Claim {claim.number} was already submitted on "
                f"{timezone.localtime(claim.submitted_at):%Y-%m-%d}; it waits for the payer's "
                "acknowledgement.",
                code="already_submitted",
            )
        _send(claim, user, override_reason)
        claim.save(update_fields=SUBMIT_FIELDS)
        emit(
            "claim.submitted",
            claim,
            {"payer_id": claim.payer_id, "status": claim.status},
            company=claim.company_id,
        )
    return claim


def mark_processing(claim: Claim) -> Claim:
    """The payer acknowledged a submitted claim: pending -> processing."""
    with transaction.atomic():
        claim = lock_row(claim)
        if claim.status != ClaimStatus.PENDING:
            raise InvalidTransition(
                f"Claim {claim.number} is {claim.get_status_display().lower()}: only a "
                "pending claim is acknowledged (a payer's reversal goes through the 835).",
                code="invalid_transition",
                fields={"status": [f"Cannot go from {claim.status} to processing."]},
            )
        check_claim_transition(claim, ClaimStatus.PROCESSING)
        if claim.submitted_at is None:
            raise InvalidTransition(
                f"Claim {claim.number} has not been submitted: submit it before the payer can "
                "acknowledge it.",
                code="not_submitted",
            )
        claim.status = ClaimStatus.PROCESSING
        claim.acknowledged_at = timezone.now()
        claim.save(update_fields=["status", "acknowledged_at"])
    return claim


def reverse_adjudication(claim: Claim) -> Claim:
    """The payer reversed its adjudication of an approved or paid claim (835 CLP02 22,
    005010X221A1 section 1.10.2.8): approved/paid -> processing through the transition
    table, adjudication and paid times cleared, to wait for the corrected claim payment.
    The caller (``hme.services.remittance``) has already taken back the reversed
    allocations; the claim's amounts are recomputed from what is left."""
    with transaction.atomic():
        claim = lock_row(claim)
        if claim.status not in (ClaimStatus.APPROVED, ClaimStatus.PAID):
            raise InvalidTransition(
                f"Claim {claim.number} is {claim.get_status_display().lower()}: only an "
                "approved or paid claim's adjudication can be reversed.",
                code="invalid_transition",
                fields={"status": [f"Cannot go from {claim.status} to processing."]},
            )
        check_claim_transition(claim, ClaimStatus.PROCESSING)
        claim.status = ClaimStatus.PROCESSING
        claim.adjudicated_at = None
        claim.paid_at = None
        claim.save(update_fields=["status", "adjudicated_at", "paid_at"])
        recalculate_claim(claim)
    return claim


def _split(total: Decimal, lines: Sequence[ClaimLine]) -> list[Decimal]:
    """``total`` spread over the lines in proportion to their charges, in cents; the
    rounding remainder goes to the last line so the parts add up exactly."""
    charges = sum((line.charge for line in lines), ZERO)
    parts: list[Decimal] = []
    left = total
    for index, line in enumerate(lines):
        if index == len(lines) - 1:
            parts.append(left)
        else:
            share = line.charge / charges if charges else Decimal(1) / len(lines)
            part = (total * share).quantize(CENT, rounding=ROUND_HALF_UP)
            parts.append(part)
            left -= part
    return parts


def approve_claim(
    claim: Claim, allowed: object = None, line_allowed: Mapping[Any, object] | None = None
) -> Claim:
    """The payer approved a processing claim: processing -> approved.

    Give ``allowed`` (the claim's allowed total, spread over the lines by charge) or
    ``line_allowed`` (``{line id or line number: amount}`` for every line). No line is
    allowed more than its charge; a zero allowed total is a denial (use ``deny_claim``).
    """
    if (allowed is None) == (line_allowed is None):
        raise ServiceError(
            "Give either the allowed total or the allowed amount of every line.",
            fields={"allowed": ["Give the allowed amount."]},
        )
    with transaction.atomic():
        claim = lock_row(claim)
        check_claim_transition(claim, ClaimStatus.APPROVED)
        lines = list(claim.lines.order_by("line_number"))
        if line_allowed is not None:
            by_key = {str(key): value for key, value in line_allowed.items()}
            amounts = []
            for line in lines:
                value = by_key.pop(str(line.pk), by_key.pop(str(line.line_number), None))
                if value is None:
                    raise ServiceError(
                        f"Give the allowed amount of line {line.line_number} too.",
                        fields={"lines": [f"Line {line.line_number} is missing."]},
                    )
                amounts.append(money(value, f"allowed amount of line {line.line_number}"))
            if by_key:
                raise ServiceError(
                    f"Claim {claim.number} has no line {', '.join(sorted(by_key))}.",
                    fields={"lines": ["Unknown line."]},
                )
        else:
            total = money(allowed, "allowed amount")
            if total > claim.total_charge:
                raise ServiceError(
                    f"The allowed amount ${total} is more than the claim's charge "
                    f"${claim.total_charge}.",
                    fields={"allowed": ["At most the total charge."]},
                )
            amounts = _split(total, lines)
        for line, amount in zip(lines, amounts, strict=True):
            if amount > line.charge:
                raise ServiceError(
                    f"Line {line.line_number} is allowed ${amount}, more than its charge "
                    f"${line.charge}.",
                    fields={"lines": [f"Line {line.line_number}: at most its charge."]},
                )
        if sum(amounts, ZERO) == ZERO:
            raise ServiceError(
                "An allowed amount of $0.00 is a denial: deny the claim with its reason code.",
                fields={"allowed": ["Must be more than 0."]},
            )
        for line, amount in zip(lines, amounts, strict=True):
            line.allowed_amount = amount
            line.save(update_fields=["allowed_amount"])
        claim.status = ClaimStatus.APPROVED
        claim.adjudicated_at = timezone.now()
        claim.save(update_fields=["status", "adjudicated_at"])
        recalculate_claim(claim)
    return claim


def deny_claim(claim: Claim, group: str | None, code: str | None, text: str | None = "") -> Claim:
    """The payer denied a processing claim: processing -> denied, with the CARC group
    and code (CO-50...) and the payer's words (the code's description by default)."""
    code = normalize_carc(code)
    group = str(group or "").strip().upper()
    try:
        validate_carc(group, code)
    except ValidationError as error:
        raise _error_from_validation(error) from error
    with transaction.atomic():
        claim = lock_row(claim)
        check_claim_transition(claim, ClaimStatus.DENIED)
        claim.status = ClaimStatus.DENIED
        claim.denial_group = group
        claim.denial_code = code
        claim.denial_reason = (text or "").strip() or describe_carc(group, code)
        claim.adjudicated_at = timezone.now()
        claim.save(
            update_fields=[
                "status",
                "denial_group",
                "denial_code",
                "denial_reason",
                "adjudicated_at",
            ]
        )
        claim.lines.update(allowed_amount=ZERO)
        recalculate_claim(claim)
        emit(
            "claim.denied",
            claim,
            {"payer_id": claim.payer_id, "denial_group": group, "denial_code": code},
            company=claim.company_id,
        )
    return claim


def resubmit_claim(
    claim: Claim,
    correction_note: str | None,
    user: User | None = None,
    override_reason: str | None = None,
) -> Claim:
    """Send a corrected denied claim again: denied -> pending, submitted now.

    ``correction_note`` says what was corrected (correct the claim first with
    ``update_claim``). The denial is cleared from the claim (its history stays in the
    audit log); timely filing applies as on the first submission.
    """
    note = (correction_note or "").strip()
    if not note:
        raise ServiceError(
            "Say what was corrected before resubmitting.",
            fields={"correction_note": ["This field is required."]},
        )
    with transaction.atomic():
        claim = lock_row(claim)
        check_claim_transition(claim, ClaimStatus.PENDING)
        _send(claim, user, override_reason)
        claim.status = ClaimStatus.PENDING
        claim.correction_note = note
        claim.denial_group = claim.denial_code = claim.denial_reason = ""
        claim.acknowledged_at = claim.adjudicated_at = None
        claim.save(
            update_fields=[
                *SUBMIT_FIELDS,
                "status",
                "correction_note",
                "denial_group",
                "denial_code",
                "denial_reason",
                "acknowledged_at",
                "adjudicated_at",
            ]
        )
    return claim


def void_claim(claim: Claim, reason: str | None = "") -> Claim:
    """Cancel an open claim (pending, processing, approved or denied): -> void.

    Refused once a payment is posted to it. Prior-authorization units it drew are given
    back. A voided rental month is not billed again automatically (a month is billed
    once): correct a rental claim instead of voiding it when the month is owed.
    """
    with transaction.atomic():
        claim = lock_row(claim)
        check_claim_transition(claim, ClaimStatus.VOID)
        if claim.allocations.exists():
            raise InvalidTransition(
                f"Claim {claim.number} has payments posted to it: it cannot be voided.",
                code="has_payments",
            )
        _release_authorizations(claim.lines.all())
        claim.status = ClaimStatus.VOID
        claim.voided_at = timezone.now()
        claim.void_reason = (reason or "").strip()
        claim.save(update_fields=["status", "voided_at", "void_reason"])
        # What the lines billed may be billed again (a replacement claim, a re-bill).
        claim.lines.update(live=False)
    return claim


REPLACEABLE_STATUSES = (ClaimStatus.PROCESSING, ClaimStatus.APPROVED, ClaimStatus.DENIED)


def replace_claim(
    claim: Claim,
    reason: str | None,
    *,
    line_changes: Mapping[int, Mapping[str, Any]] | None = None,
    **fields: Any,
) -> Claim:
    """A corrected/replacement claim (837 frequency code 7) of a claim the payer holds
    (processing, approved or denied, no payment posted): the original is voided
    ("replaced by ...") and a new pending claim is made with the same lines, each still
    billing its delivered item or rental month, with the header corrections
    (``CORRECTABLE_FIELDS``) and line corrections (``{line number: {field: value}}``
    of ``LINE_FIELDS``) given. The new claim names the one it replaces."""
    note = (reason or "").strip()
    if not note:
        raise ServiceError(
            "Say what the replacement corrects.", fields={"reason": ["This field is required."]}
        )
    unknown = set(fields) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ServiceError(f"These claim fields cannot be changed: {', '.join(sorted(unknown))}.")
    changes = {int(k): dict(v) for k, v in (line_changes or {}).items()}
    with transaction.atomic():
        claim = lock_row(claim)
        if claim.status not in REPLACEABLE_STATUSES or claim.submitted_at is None:
            raise InvalidTransition(
                f"Claim {claim.number} is {claim.get_status_display().lower()}: a replacement "
                "claim replaces a submitted claim the payer holds (processing, approved or "
                "denied); correct a pending claim directly.",
                code="not_replaceable",
            )
        old_lines = list(claim.lines.order_by("line_number"))
        missing = sorted(set(changes) - {line.line_number for line in old_lines})
        if missing:
            raise ServiceError(
                f"Claim {claim.number} has no line {', '.join(map(str, missing))}.",
                fields={"line_changes": ["Unknown line."]},
            )
        lines = []
        for old in old_lines:
            data: dict[str, Any] = {name: getattr(old, name) for name in LINE_FIELDS}
            bad = set(changes.get(old.line_number, {})) - set(LINE_FIELDS)
            if bad:
                raise ServiceError(
                    f"Line {old.line_number}: these fields cannot be changed: "
                    f"{', '.join(sorted(bad))}.",
                    fields={"line_changes": ["Unknown field."]},
                )
            data.update(changes.get(old.line_number, {}))
            data["order_line"] = old.order_line
            data["rental_month"] = old.rental_month
            data["expected_amount"] = old.expected_amount
            data["expected_basis"] = old.expected_basis
            if old.authorization_id and not old.draws_authorization:
                data["authorization"] = old.authorization
            lines.append(data)
        header = {name: getattr(claim, name) for name in CORRECTABLE_FIELDS}
        header.update(fields)
        void_claim(claim, f"Replaced: {note}")
        replacement = create_claim(
            company=claim.company,
            patient=claim.patient,
            lines=lines,
            order=claim.order,
            rental=claim.rental,
            rental_month=claim.rental_month,
            replaces=claim,
            **header,
        )
        replacement.correction_note = note
        replacement.save(update_fields=["correction_note"])
        Claim.objects.filter(pk=claim.pk).update(
            void_reason=f"Replaced by claim {replacement.number}: {note}"
        )
    return replacement
