"""From our records to the 837P builder's data (``hme.edi.x837``).

Where each element comes from (docs/domain/edi.md has the full table):

- Envelope: the company (``edi_submitter_id``, ``edi_isa_*``, ``edi_contact_name``,
  ``phone``) and the payer (``edi_receiver_*``, ``edi_isa_*``); control numbers from
  ``InterchangeControlCounter``.
- 2010AA billing provider: company name (legal name first), NPI and tax ID; the
  address of the claim's billing location.
- 2010BA subscriber: the patient (SBR02 18, self) and the coverage's member ID,
  decrypted here and only into the file; 2010BB the payer; SBR09 from the payer.
- 2400 lines: the claim lines; REF*6R is ``<claim number>-<line number>``, stable and
  unique in the company (a claim's number never changes and lines are numbered in it).
  A line is a rental when its order line is a rental or it carries RR; CR3 length of
  need (months) is the order line's ``length_of_need_months`` when that field exists
  (branch billing-path), else the rental's cap in months, else 99 (lifetime, the CMS
  convention for CR303).
- 2420E ordering provider: the order's prescriber (the order line's order, or the
  claim's order), else the claim's referring provider.
- PWK and 2320/2330: from providers registered by other modules
  (:func:`register_attachment_provider`, :func:`register_other_payer_provider`), or
  given to the batch service directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..choices import CoveragePriority, PayerKind, SubscriberRelation
from .x12 import X12Error
from .x837 import (
    Address,
    Attachment,
    BillingProvider,
    ClaimData,
    Line,
    OtherPayer,
    PayerInfo,
    Person,
    Subscriber,
)

#: SBR09 claim filing indicator by payer kind (005010X222A1 2000B SBR09 code list).
FILING_CODES = {
    PayerKind.MEDICARE: "MB",  # Medicare Part B (DME MACs)
    PayerKind.MEDICAID: "MC",
    PayerKind.VA: "VA",
    PayerKind.COMMERCIAL: "CI",
}
RESPONSIBILITY = {
    CoveragePriority.PRIMARY: "P",
    CoveragePriority.SECONDARY: "S",
}
#: CR303 when no length of need is recorded: 99 = lifetime (CMS DME MAC instructions).
LIFETIME_MONTHS = 99
RENTAL_MODIFIERS = {"RR"}

AttachmentProvider = Callable[[Any], Iterable[Attachment]]
OtherPayerProvider = Callable[[Any], Iterable[OtherPayer]]
_attachment_providers: list[AttachmentProvider] = []
_other_payer_providers: list[OtherPayerProvider] = []


def register_attachment_provider(provider: AttachmentProvider) -> None:
    """``provider(claim)`` yields the PWK attachments sent for a claim (documents)."""
    if provider not in _attachment_providers:
        _attachment_providers.append(provider)


def register_other_payer_provider(provider: OtherPayerProvider) -> None:
    """``provider(claim)`` yields the prior payers' adjudications (remittance)."""
    if provider not in _other_payer_providers:
        _other_payer_providers.append(provider)


def unregister_provider(provider: Any) -> None:
    """Forget one registered provider (tests); the apps' own providers stay."""
    for providers in (_attachment_providers, _other_payer_providers):
        if provider in providers:
            providers.remove(provider)


def filing_code(payer: Any) -> str:
    return str(payer.edi_claim_filing_code or FILING_CODES.get(payer.kind, ""))


def _address(obj: Any) -> Address:
    return Address(
        line1=obj.address_line1 or "",
        line2=obj.address_line2 or "",
        city=obj.city or "",
        state=obj.state or "",
        postal_code=obj.postal_code or "",
    )


def _person(provider: Any) -> Person | None:
    if provider is None:
        return None
    return Person(last_name=provider.last_name, first_name=provider.first_name, npi=provider.npi)


def line_control_number(claim: Any, line: Any) -> str:
    """REF*6R: ``C-000123-2`` (claim number and line number; unique in the company)."""
    return f"{claim.number}-{line.line_number}"


def _is_rental(claim: Any, line: Any) -> bool:
    """A line that bills a rental month (``ClaimLine.rental_month``), or an order line of
    a rented kind, or one carrying a rental modifier."""
    if line.rental_month_id is not None:
        return True
    order_line = line.order_line
    if order_line is not None and order_line.kind == "rental":
        return True
    return claim.rental_id is not None or bool(RENTAL_MODIFIERS & set(line.modifiers or []))


def _length_of_need(claim: Any, line: Any) -> int:
    order_line = line.order_line
    months = getattr(order_line, "length_of_need_months", None) if order_line else None
    if not months and line.rental_month_id is not None:
        months = line.rental_month.rental.cap_months
    if not months and claim.rental_id is not None:
        months = claim.rental.cap_months
    return int(months or LIFETIME_MONTHS)


def _ordering_provider(claim: Any, line: Any) -> Person | None:
    order_line = line.order_line
    if order_line is None and line.rental_month_id is not None:
        order_line = line.rental_month.rental.order_line
    if order_line is not None:
        return _person(order_line.order.prescriber)
    if claim.order_id is not None:
        return _person(claim.order.prescriber)
    return _person(claim.referring_provider)


def claim_data(
    claim: Any,
    *,
    frequency: str = "1",
    payer_claim_number: str = "",
    attachments: Sequence[Attachment] | None = None,
    other_payers: Sequence[OtherPayer] | None = None,
) -> ClaimData:
    """The builder's view of one claim (with its lines, coverage, patient, payer).

    Expects ``claim`` loaded with ``data_queryset`` (no query per claim beyond the
    prefetches). Refuses a subscriber who is not the patient: the 2000C patient loop
    needs the subscriber's own name and birth date, which are not recorded.
    """
    coverage = claim.coverage
    if coverage.subscriber_relation != SubscriberRelation.SELF:
        raise X12Error(
            f"Claim {claim.number}: the patient is not the subscriber; the subscriber's "
            "name and date of birth (2010BA, 2000C) are not recorded, so it cannot be sent "
            "electronically."
        )
    company = claim.company
    patient = claim.patient
    location = claim.billing_location
    payer = claim.payer
    lines = sorted(claim.lines.all(), key=lambda line: line.line_number)
    claim_auth = next((line.authorization.number for line in lines if line.authorization_id), "")
    if attachments is None:
        attachments = [a for provider in _attachment_providers for a in provider(claim)]
    if other_payers is None:
        other_payers = [o for provider in _other_payer_providers for o in provider(claim)]
    return ClaimData(
        number=claim.number,
        billing_provider=BillingProvider(
            key=location.pk,
            name=company.legal_name or company.name,
            npi=company.npi,
            tax_id=company.tax_id,
            address=_address(location),
        ),
        subscriber=Subscriber(
            last_name=patient.last_name,
            first_name=patient.first_name,
            member_id=coverage.member_id or "",
            birth_date=patient.dob,
            sex=patient.sex,
            address=_address(patient),
            group_number=coverage.group_number,
        ),
        payer=PayerInfo(
            name=payer.name,
            payer_id=payer.payer_id,
            filing_code=filing_code(payer),
            responsibility=RESPONSIBILITY.get(coverage.priority, "T"),
        ),
        diagnoses=list(claim.diagnosis_codes or []),
        lines=[
            Line(
                number=line.line_number,
                hcpcs=line.hcpcs,
                modifiers=list(line.modifiers or []),
                charge=line.charge,
                units=line.units,
                pointers=list(line.diagnosis_pointers or []),
                service_date=line.date_of_service,
                service_end=getattr(line, "date_of_service_end", None),
                control_number=line_control_number(claim, line),
                ordering_provider=_ordering_provider(claim, line),
                is_rental=_is_rental(claim, line),
                length_of_need_months=_length_of_need(claim, line),
                authorization_number=line.authorization.number if line.authorization_id else "",
            )
            for line in lines
        ],
        frequency=frequency,
        payer_claim_number=payer_claim_number,
        prior_authorization=claim_auth,
        referring_provider=_person(claim.referring_provider),
        attachments=list(attachments),
        other_payers=list(other_payers),
    )


#: Encrypted columns the 837P never reads: not loaded, so not decrypted (each costs a
#: Fernet decryption per row; bench/edi.py).
UNUSED_PATIENT_FIELDS = (
    "phone",
    "email",
    "notes",
    "ssn_last4",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)


def data_queryset(queryset: Any) -> Any:
    """``queryset`` of claims with everything ``claim_data`` reads, in a fixed number of
    queries whatever the count (billing location first: the 2000A grouping)."""
    from django.db.models import Prefetch

    from ..models import ClaimLine

    lines = ClaimLine.objects.select_related(
        "authorization",
        "order_line__order__prescriber",
        "rental_month__rental__order_line__order__prescriber",
    ).defer("order_line__order__notes")
    return (
        queryset.select_related(
            "company",
            "patient",
            "coverage",
            "payer",
            "billing_location",
            "referring_provider",
            "order__prescriber",
            "rental",
        )
        .defer("order__notes", *(f"patient__{name}" for name in UNUSED_PATIENT_FIELDS))
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("billing_location_id", "number")
    )
