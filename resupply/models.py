"""Resupply: how often each PAP supply may be replaced, what each patient has and
when it runs out, and the outreach that turns a confirmed need into an order
(docs/domain/resupply.md).

- ``ReplacementRule``: the usual maximum of an HCPCS code (``quantity`` per
  ``months``). Global defaults (no company) come from LCD L33718 and policy article
  A52467 (migration ``0002_default_replacement_rules``); a company overrides them for
  all its payers or for one payer.
- ``ResupplyItem``: per patient and HCPCS, the last delivery (the proof of delivery
  date is the date of service) and the day that supply runs out: the next eligible date.
- ``ResupplyRequest``: the outreach worklist's row, one per patient and cycle.
- ``ResupplyContact`` / ``ResupplyContactItem``: each call (who, when, channel,
  outcome) and, per item, what the patient still has and whether they want it.
"""

from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import HCPCSCodeField
from core.models import BaseModel, BaseQuerySet, TenantModel, TenantQuerySet
from core.phi import EncryptedTextField
from core.tenancy import get_active_membership

from .choices import ACTIVE_STATUSES, ContactChannel, ContactOutcome, RequestStatus

LCD_SOURCE = "LCD L33718 / policy article A52467 (PAP supplies, usual maximum quantities)"


class ReplacementRuleQuerySet(BaseQuerySet["ReplacementRule"]):
    def for_user(self, user: Any) -> Self:
        """The global defaults and the active company's own rules."""
        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        membership = get_active_membership(user)
        if membership is None:
            return self.none()
        return self.filter(Q(company__isnull=True) | Q(company_id=membership.company_id))


class ReplacementRule(BaseModel):
    """At most ``quantity`` units of ``hcpcs_code`` per ``months`` months.

    No company: a global default (read-only for staff). A company's rule without a
    payer replaces the default for all its patients; with a payer, for that payer's
    patients (their primary coverage).
    """

    company = models.ForeignKey(
        "accounts.Company",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the global default.",
    )
    payer = models.ForeignKey(
        "hme.Payer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replacement_rules",
        help_text="Empty: every payer of the company.",
    )
    hcpcs_code = HCPCSCodeField("HCPCS")
    description = models.CharField(max_length=120)
    quantity = models.PositiveSmallIntegerField(help_text="Units per period (usual maximum).")
    months = models.PositiveSmallIntegerField("per months", help_text="The period, in months.")
    source = models.CharField(max_length=200, blank=True, default=LCD_SOURCE)
    is_active = models.BooleanField("active", default=True)

    objects: ClassVar = ReplacementRuleQuerySet.as_manager()

    class Meta:
        ordering = ["hcpcs_code", "company", "payer"]
        constraints = [
            models.UniqueConstraint(
                fields=["hcpcs_code"],
                condition=Q(company__isnull=True, payer__isnull=True),
                name="replacement_rule_global_uniq",
                violation_error_message="A global rule for this HCPCS code exists.",
            ),
            models.UniqueConstraint(
                fields=["company", "hcpcs_code"],
                condition=Q(company__isnull=False, payer__isnull=True),
                name="replacement_rule_company_uniq",
                violation_error_message="Your company already has a rule for this HCPCS code.",
            ),
            models.UniqueConstraint(
                fields=["company", "payer", "hcpcs_code"],
                condition=Q(payer__isnull=False),
                name="replacement_rule_payer_uniq",
                violation_error_message="This payer already has a rule for this HCPCS code.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(months__gte=1),
                name="replacement_rule_positive",
                violation_error_message="Quantity and months must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(payer__isnull=True) | Q(company__isnull=False),
                name="replacement_rule_payer_has_company",
                violation_error_message="A payer's rule belongs to a company.",
            ),
        ]

    def __str__(self) -> str:
        per = "month" if self.months == 1 else f"{self.months} months"
        return f"{self.hcpcs_code}: {self.quantity} per {per}"

    def clean(self) -> None:
        super().clean()
        from django.core.exceptions import ValidationError

        payer = self.payer if self.payer_id else None
        if payer is not None and self.company_id and payer.company_id != self.company_id:
            raise ValidationError({"payer": "This payer is not in your company."})


class ResupplyItem(TenantModel):
    """What a patient last got of one supply and when it runs out (refreshed daily
    from the proofs of delivery by ``services.refresh_worklist``)."""

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.CASCADE, related_name="resupply_items"
    )
    hcpcs_code = HCPCSCodeField("HCPCS")
    equipment = models.ForeignKey("dme.Equipment", on_delete=models.PROTECT, related_name="+")
    # The line last delivered: its order carries the written order a refill relies on.
    source_line = models.ForeignKey("dme.OrderLine", on_delete=models.PROTECT, related_name="+")
    last_delivered_on = models.DateField("last delivered on")
    last_quantity = models.PositiveIntegerField("quantity delivered")
    quantity = models.PositiveSmallIntegerField("usual maximum")
    months = models.PositiveSmallIntegerField("per months")
    supply_ends_on = models.DateField(
        "next eligible on", help_text="The day the supply delivered last runs out."
    )

    patient_field = "patient_id"

    class Meta:
        ordering = ["supply_ends_on", "hcpcs_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "hcpcs_code"],
                name="resupply_item_patient_code_uniq",
                violation_error_message="This patient already has this supply.",
            )
        ]
        indexes = [
            # The daily refresh: a company's items by due day.
            models.Index(fields=["company", "supply_ends_on"], name="resupply_item_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.hcpcs_code} (eligible {self.supply_ends_on:%Y-%m-%d})"


class ResupplyRequestQuerySet(TenantQuerySet["ResupplyRequest"]):
    def active(self) -> Self:
        return self.filter(status__in=ACTIVE_STATUSES)


class ResupplyRequest(TenantModel):
    """The outreach worklist's row: a patient whose supplies run out on ``due_on``.

    Contact no sooner than ``contact_from`` (14 days before), ship no sooner than
    ``ship_from`` (10 days before): the CMS DMEPOS refill requirements (Medicare
    Program Integrity Manual, ch. 5, 5.2.6; LCD L33718's policy article A52467).
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="resupply_requests"
    )
    items = models.ManyToManyField(ResupplyItem, related_name="requests", blank=True)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN, editable=False
    )
    due_on = models.DateField("supplies run out on")
    contact_from = models.DateField("contact from")
    ship_from = models.DateField("ship from")
    attempts = models.PositiveSmallIntegerField("contact attempts", default=0, editable=False)
    last_contact_at = models.DateTimeField("last contact", null=True, blank=True, editable=False)
    order = models.OneToOneField(
        "dme.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="resupply_request",
    )
    outreach_sent_at = models.DateTimeField(
        "outreach message sent", null=True, blank=True, editable=False
    )

    objects: ClassVar = ResupplyRequestQuerySet.as_manager()
    patient_field = "patient_id"
    access_logged = True

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status__in=["open", "confirmed"]),
                name="resupply_request_one_active_uniq",
                violation_error_message="This patient already has an open resupply request.",
            ),
            models.CheckConstraint(
                condition=Q(contact_from__lte=models.F("ship_from"))
                & Q(ship_from__lte=models.F("due_on")),
                name="resupply_request_windows",
                violation_error_message=(
                    "Contact comes before shipping, shipping before the due day."
                ),
            ),
        ]
        indexes = [
            # The worklist: a company's requests of a status by due day.
            models.Index(fields=["company", "status", "due_on"], name="resupply_request_work_idx"),
            models.Index(fields=["company", "patient"], name="resupply_request_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"Resupply due {self.due_on:%Y-%m-%d} ({self.get_status_display()})"


class ResupplyContact(TenantModel):
    """One contact with the patient about a request: who, when, how, the outcome."""

    request = models.ForeignKey(ResupplyRequest, on_delete=models.CASCADE, related_name="contacts")
    contacted_at = models.DateTimeField("contacted at")
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=12, choices=ContactChannel.choices)
    outcome = models.CharField(max_length=12, choices=ContactOutcome.choices)
    note = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["-contacted_at", "-id"]
        indexes = [
            models.Index(fields=["request", "outcome"], name="resupply_contact_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.get_channel_display()}"


class ResupplyContactItem(TenantModel):
    """Per item of a confirmation: what the patient still has, whether they want it,
    and how many (never more than the usual maximum less what is on hand)."""

    contact = models.ForeignKey(ResupplyContact, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(ResupplyItem, on_delete=models.PROTECT, related_name="+")
    on_hand = models.PositiveSmallIntegerField("still has", default=0)
    wanted = models.BooleanField(default=True)
    quantity = models.PositiveSmallIntegerField("quantity wanted", default=0)

    class Meta:
        ordering = ["item__hcpcs_code"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "item"], name="resupply_contact_item_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.item.hcpcs_code}: {self.quantity if self.wanted else 'not wanted'}"
