"""Claims and their lines: what is billed to a payer, and where each claim stands."""

from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from clinical.models.records import clean_icd10_list
from core.fields import HCPCSCodeField
from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet
from core.money import MONEY
from core.validators import format_icd10, normalize_hcpcs

from ..choices import AdjustmentGroup, ClaimStatus, CoveragePriority, describe_carc
from ..rules import clean_modifiers
from .payers import same_company_errors

CLAIM_NUMBER_PREFIX = "C-"
CLAIM_NUMBER_DIGITS = 6
# CMS-1500 item 21 holds twelve diagnoses (A-L); each line points at up to four.
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
ZERO = Decimal("0.00")
# Claims whose status may still change; paid and void are final.
OPEN_STATUSES = (
    ClaimStatus.PENDING,
    ClaimStatus.PROCESSING,
    ClaimStatus.APPROVED,
    ClaimStatus.DENIED,
)
# A claim can be corrected (header and lines) only while the payer does not hold it.
EDITABLE_STATUSES = (ClaimStatus.PENDING, ClaimStatus.DENIED)


def format_claim_number(value):
    """``123`` -> ``C-000123``."""
    return f"{CLAIM_NUMBER_PREFIX}{value:0{CLAIM_NUMBER_DIGITS}d}"


class ClaimNumberCounter(CompanyNumberCounter):
    """The last claim number (C-000123) given out in a company."""


class ClaimQuerySet(TenantQuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def aged(self, min_days=None, max_days=None, *, now=None):
        """Claims whose age (whole days since the latest submission) is between
        ``min_days`` and ``max_days`` inclusive: the worklist's aging buckets."""
        now = now or timezone.now()
        queryset = self.filter(submitted_at__isnull=False)
        if min_days:
            queryset = queryset.filter(submitted_at__lte=now - timedelta(days=min_days))
        if max_days is not None:
            queryset = queryset.filter(submitted_at__gt=now - timedelta(days=max_days + 1))
        return queryset


# Aging buckets of the worklist (admin filter, API ?age_bucket=): (min, max) days.
AGE_BUCKETS = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}


class Claim(TenantModel):
    """One bill to one payer for one patient (a CMS-1500 / 837P claim).

    Money is derived, never typed: ``total_charge`` is the sum of the lines' charges,
    ``allowed_amount`` the sum of their allowed amounts, ``paid_amount`` the sum of the
    payment allocations and ``patient_responsibility`` the sum of their PR adjustments;
    ``hme.services`` recomputes them in the transaction that changes a line or posts a
    payment. Status moves only through the services' transition table
    (``hme.services.CLAIM_TRANSITIONS``, docs/domain/hme-billing.md). A rental month is billed once:
    the database refuses a second claim for the same rental and month.
    """

    number = models.CharField(
        "claim number", max_length=16, editable=False, help_text="Generated, as C-000123."
    )
    patient = models.ForeignKey("clinical.Patient", on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey("hme.Coverage", on_delete=models.PROTECT, related_name="claims")
    # The coverage's payer, copied so worklists filter and group by payer without a join.
    payer = models.ForeignKey(
        "hme.Payer", on_delete=models.PROTECT, related_name="claims", editable=False
    )
    billing_location = models.ForeignKey(
        "accounts.Location",
        verbose_name="billing provider location",
        on_delete=models.PROTECT,
        related_name="+",
    )
    referring_provider = models.ForeignKey(
        "clinical.Provider",
        verbose_name="referring provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
        help_text="The prescriber (CMS-1500 item 17, with NPI).",
    )
    order = models.ForeignKey(
        "dme.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="claims",
        help_text="The delivered order billed (purchases), or the rental's order.",
    )
    rental = models.ForeignKey(
        "dme.Rental",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="claims",
    )
    rental_month = models.PositiveSmallIntegerField(
        "rental month",
        null=True,
        blank=True,
        editable=False,
        help_text="The month of the rental period billed (1 = the first month).",
    )
    replaces = models.ForeignKey(
        "self",
        verbose_name="replaces claim",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="replacements",
        help_text="The claim this corrected/replacement claim replaces (it was voided).",
    )
    expected_amount = models.DecimalField(
        "expected reimbursement",
        null=True,
        blank=True,
        editable=False,
        help_text="Sum of the lines' expected reimbursement (fee schedule allowable).",
        **MONEY,
    )
    underpaid_amount = models.DecimalField(
        "underpaid by",
        default=ZERO,
        editable=False,
        help_text="Expected reimbursement less what the payer paid plus the patient's "
        "share, when a payment posted below it; 0 otherwise.",
        **MONEY,
    )
    diagnosis_codes = models.JSONField(
        "diagnosis codes",
        default=list,
        help_text='ICD-10-CM codes in claim order (up to 12), as ["G47.33"]; lines point '
        "at them by position (1 = the first).",
    )
    status = models.CharField(
        max_length=16,
        choices=ClaimStatus.choices,
        default=ClaimStatus.PENDING,
        editable=False,
    )
    submitted_at = models.DateTimeField("submitted at", null=True, blank=True, editable=False)
    submission_count = models.PositiveSmallIntegerField("submissions", default=0, editable=False)
    acknowledged_at = models.DateTimeField("acknowledged at", null=True, blank=True, editable=False)
    adjudicated_at = models.DateTimeField("adjudicated at", null=True, blank=True, editable=False)
    paid_at = models.DateTimeField("paid at", null=True, blank=True, editable=False)
    voided_at = models.DateTimeField("voided at", null=True, blank=True, editable=False)
    total_charge = models.DecimalField("total charge", default=ZERO, editable=False, **MONEY)
    allowed_amount = models.DecimalField("allowed", default=ZERO, editable=False, **MONEY)
    paid_amount = models.DecimalField("paid", default=ZERO, editable=False, **MONEY)
    patient_responsibility = models.DecimalField(
        "patient responsibility", default=ZERO, editable=False, **MONEY
    )
    denial_group = models.CharField(
        "denial group", max_length=2, choices=AdjustmentGroup.choices, blank=True, editable=False
    )
    denial_code = models.CharField(
        "denial reason code (CARC)", max_length=3, blank=True, editable=False
    )
    denial_reason = models.TextField("denial reason", blank=True, editable=False)
    correction_note = models.TextField(
        "correction note",
        blank=True,
        editable=False,
        help_text="What was corrected on resubmission.",
    )
    void_reason = models.TextField("void reason", blank=True, editable=False)
    timely_filing_override_reason = models.TextField(
        "timely filing override reason", blank=True, editable=False
    )
    timely_filing_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="timely filing overridden by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    timely_filing_override_at = models.DateTimeField(
        "timely filing overridden at", null=True, blank=True, editable=False
    )

    objects: ClassVar = ClaimQuerySet.as_manager()

    access_logged = True
    location_field = "billing_location"
    patient_field = "patient_id"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="claim_company_number_uniq",
                violation_error_message="This company already has a claim with this number.",
            ),
            # What is billed once (a delivered order line, a rental month) is held on
            # the lines: ClaimLine's partial unique constraints.
            models.CheckConstraint(
                condition=(Q(rental__isnull=True) & Q(rental_month__isnull=True))
                | (Q(rental__isnull=False) & Q(rental_month__gte=1)),
                name="claim_rental_has_month",
                violation_error_message="A rental claim bills one month (1 or more), and only "
                "a rental claim has a month.",
            ),
            models.CheckConstraint(
                condition=Q(total_charge__gte=0)
                & Q(allowed_amount__gte=0)
                & Q(paid_amount__gte=0)
                & Q(patient_responsibility__gte=0),
                name="claim_money_not_negative",
                violation_error_message="Claim amounts cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~Q(status=ClaimStatus.DENIED)
                | (~Q(denial_group="") & ~Q(denial_code="")),
                name="claim_denied_has_reason",
                violation_error_message="A denied claim carries a denial group and code.",
            ),
            models.CheckConstraint(
                condition=Q(status=ClaimStatus.PENDING)
                | Q(status=ClaimStatus.VOID)
                | Q(submitted_at__isnull=False),
                name="claim_adjudicated_was_submitted",
                violation_error_message="Only a submitted claim can be processed by the payer.",
            ),
        ]
        indexes = [
            # The worklist: status with age buckets on submitted_at, within a company.
            models.Index(fields=["company", "status", "submitted_at"], name="claim_status_age_idx"),
            # Worklist filter by payer (and status).
            models.Index(fields=["company", "payer", "status"], name="claim_payer_idx"),
            # Denial code filter: its choices (DISTINCT group, code) and the filtering.
            # Partial: only denied claims carry a code (about 8%), so listing the
            # choices reads a small index, not one entry per claim.
            models.Index(
                fields=["company", "denial_group", "denial_code"],
                condition=~Q(denial_code=""),
                name="claim_denial_idx",
            ),
            # A patient's claims.
            models.Index(fields=["patient", "status"], name="claim_patient_idx"),
            # The API's cursor pagination walks (created_at, id) within a company.
            models.Index(fields=["company", "created_at", "id"], name="claim_created_idx"),
            # The cockpit's KPIs: claims adjudicated in the last 90 days.
            models.Index(fields=["company", "adjudicated_at"], name="claim_adjudicated_idx"),
            # The billing dashboard's "Denied, by reason": an index-only scan of the
            # denied claims (about 8%) grouped by reason.
            models.Index(
                fields=["company", "denial_group", "denial_code"],
                condition=Q(status="denied"),
                name="claim_denied_reason_idx",
            ),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="claim_updated_idx"),
        ]

    def __str__(self):
        return self.number or "new claim"

    @property
    def is_underpaid(self):
        return self.underpaid_amount > 0

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def is_editable(self):
        return self.status in EDITABLE_STATUSES

    @property
    def denial_display(self):
        if not self.denial_code:
            return ""
        return describe_carc(self.denial_group, self.denial_code)

    @property
    def diagnosis_codes_display(self):
        return ", ".join(format_icd10(code) for code in self.diagnosis_codes or [])

    def age_days(self, now=None):
        """Days since the (latest) submission, None before the first."""
        if self.submitted_at is None:
            return None
        return ((now or timezone.now()) - self.submitted_at).days

    def clean(self):
        super().clean()
        errors = same_company_errors(
            self, ["patient", "coverage", "billing_location", "referring_provider"]
        )
        if self.coverage_id and self.patient_id and self.coverage.patient_id != self.patient_id:
            errors["coverage"] = "This coverage is another patient's policy."
        try:
            self.diagnosis_codes = clean_icd10_list(self.diagnosis_codes or [])
        except ValidationError as error:
            errors["diagnosis_codes"] = error.messages
        else:
            if not self.diagnosis_codes:
                errors["diagnosis_codes"] = "A claim needs at least one diagnosis."
            elif len(self.diagnosis_codes) > MAX_DIAGNOSES:
                errors["diagnosis_codes"] = (
                    f"A claim carries at most {MAX_DIAGNOSES} diagnoses; got "
                    f"{len(self.diagnosis_codes)}."
                )
            elif self.patient_id and not errors:
                missing = self.codes_not_on_patient()
                if missing:
                    errors["diagnosis_codes"] = (
                        f"Not on the patient's active diagnoses: "
                        f"{', '.join(format_icd10(c) for c in missing)}. Add them to the "
                        "patient's problem list first."
                    )
        if errors:
            raise ValidationError(errors)

    def codes_not_on_patient(self):
        active = set(self.patient.diagnoses.active().values_list("code", flat=True))
        return [code for code in self.diagnosis_codes if code not in active]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.coverage_id and not self.payer_id:
            self.payer_id = self.coverage.payer_id
        with transaction.atomic():
            if not self.number:
                self.number = format_claim_number(ClaimNumberCounter.next_number(self.company_id))
            super().save(*args, **kwargs)


class ClaimLine(TenantModel):
    """One service line (CMS-1500 item 24): date of service, HCPCS code with up to four
    modifiers, units, the line's charge (all units), and pointers (1-4 of them) to the
    claim's diagnoses by position. ``allowed_amount`` comes from adjudication,
    ``paid_amount`` from posted payments."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines")
    line_number = models.PositiveSmallIntegerField("line", validators=[MinValueValidator(1)])
    date_of_service = models.DateField("date of service")
    hcpcs = HCPCSCodeField("HCPCS")
    modifiers = models.JSONField(default=list, blank=True, help_text='Up to four, as ["RR", "KH"].')
    description = models.CharField(max_length=200, blank=True)
    units = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    charge = models.DecimalField(
        "charge", validators=[MinValueValidator(ZERO)], help_text="For all units.", **MONEY
    )
    diagnosis_pointers = models.JSONField(
        "diagnosis pointers",
        default=list,
        help_text="Positions in the claim's diagnoses, as [1, 2].",
    )
    allowed_amount = models.DecimalField("allowed", default=ZERO, editable=False, **MONEY)
    paid_amount = models.DecimalField("paid", default=ZERO, editable=False, **MONEY)
    # The prior authorization billed under (837 REF G1), and whether this line drew its
    # units (rental months after the first bill under month 1's without drawing).
    authorization = models.ForeignKey(
        "hme.Authorization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="claim_lines",
    )
    draws_authorization = models.BooleanField(default=False, editable=False)
    order_line = models.ForeignKey(
        "dme.OrderLine",
        verbose_name="order line",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="claim_lines",
    )
    rental_month = models.ForeignKey(
        "dme.RentalMonth",
        verbose_name="rental month",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="claim_lines",
    )
    # The claim's payer sequence (its coverage's priority), copied so the database can
    # hold "billed once per payer sequence".
    payer_sequence = models.CharField(
        "payer sequence",
        max_length=16,
        choices=CoveragePriority.choices,
        default=CoveragePriority.PRIMARY,
        editable=False,
    )
    # False once the claim is void (or replaced, which voids it): the line no longer
    # counts as billing its item, which may then be billed again.
    live = models.BooleanField(default=True, editable=False)
    # Lines typed by hand before every line had to trace to what it bills; the
    # data-quality check hme.claimline_bills_nothing lists them. Never set on new lines.
    legacy = models.BooleanField(default=False, editable=False)
    expected_amount = models.DecimalField(
        "expected reimbursement",
        null=True,
        blank=True,
        editable=False,
        help_text="The fee schedule allowable for all units; empty when none is known.",
        **MONEY,
    )
    expected_basis = models.CharField("expected from", max_length=200, blank=True, editable=False)

    access_logged = True

    class Meta:
        ordering = ["claim", "line_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(legacy=True)
                | Q(order_line__isnull=False, rental_month__isnull=True)
                | Q(order_line__isnull=True, rental_month__isnull=False),
                name="claimline_bills_one_item",
                violation_error_message="A claim line bills a delivered order line or a "
                "rental month, exactly one of them.",
            ),
            models.UniqueConstraint(
                fields=["order_line", "payer_sequence"],
                condition=Q(live=True, order_line__isnull=False),
                name="claimline_order_line_billed_once",
                violation_error_message="This delivered item is already billed to this payer.",
            ),
            models.UniqueConstraint(
                fields=["rental_month", "payer_sequence"],
                condition=Q(live=True, rental_month__isnull=False),
                name="claimline_rental_month_billed_once",
                violation_error_message="This rental month is already billed to this payer.",
            ),
            models.UniqueConstraint(
                fields=["claim", "line_number"],
                name="claimline_claim_number_uniq",
                violation_error_message="This claim already has a line with this number.",
            ),
            models.CheckConstraint(
                condition=Q(charge__gte=0) & Q(allowed_amount__gte=0) & Q(paid_amount__gte=0),
                name="claimline_money_not_negative",
                violation_error_message="Line amounts cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(units__gte=1),
                name="claimline_units_positive",
                violation_error_message="A line bills at least one unit.",
            ),
        ]
        indexes = [
            # Reports by item and date of service.
            models.Index(
                fields=["company", "hcpcs", "date_of_service"], name="claimline_hcpcs_idx"
            ),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="claimline_updated_idx"),
        ]

    def __str__(self):
        modifiers = "-".join(self.modifiers or [])
        return f"{self.line_number}. {self.hcpcs}{'-' + modifiers if modifiers else ''}"

    @property
    def modifiers_display(self):
        return " ".join(self.modifiers or [])

    def clean(self):
        super().clean()
        errors = {}
        self.hcpcs = normalize_hcpcs(self.hcpcs or "")
        try:
            self.modifiers = clean_modifiers(self.hcpcs, self.modifiers or [])
        except ValidationError as error:
            errors["modifiers"] = error.messages
        diagnoses = self.claim.diagnosis_codes if self.claim_id else None
        try:
            self.diagnosis_pointers = clean_pointers(self.diagnosis_pointers, diagnoses)
        except ValidationError as error:
            errors["diagnosis_pointers"] = error.messages
        if errors:
            raise ValidationError(errors)


def clean_pointers(pointers, diagnoses=None):
    """1-4 distinct positions (1-based) into the claim's diagnoses."""
    if isinstance(pointers, str) or not isinstance(pointers, list | tuple):
        raise ValidationError("Give the diagnosis pointers as a list of positions, as in [1, 2].")
    if not 1 <= len(pointers) <= MAX_POINTERS:
        raise ValidationError(
            f"A line points at 1 to {MAX_POINTERS} of the claim's diagnoses; got {len(pointers)}."
        )
    cleaned = []
    for pointer in pointers:
        if isinstance(pointer, bool) or not isinstance(pointer, int):
            raise ValidationError(f"Diagnosis pointers are whole numbers; got {pointer!r}.")
        if pointer in cleaned:
            raise ValidationError(f"Diagnosis pointer {pointer} is listed twice.")
        limit = len(diagnoses) if diagnoses is not None else MAX_DIAGNOSES
        if not 1 <= pointer <= limit:
            raise ValidationError(
                f"Diagnosis pointer {pointer} points at no diagnosis: the claim has "
                f"{limit} (use 1 to {limit})."
            )
        cleaned.append(pointer)
    return cleaned
