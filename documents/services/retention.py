"""Retention ends, legal holds and ``purge_expired``.

A record's retention end is its anchor date plus the years of its rule below; it is
kept through the day before and may be removed on that day or later, unless a legal
hold covers its patient or its claim. Purging writes one PurgeRecord (ids and counts,
no PHI) and removes documents' sealed files too.

Sources:
- CMS: suppliers keep orders, proof of delivery and the documentation behind their
  claims 7 years from the date of service, 42 CFR 424.516(f); proof of delivery kept
  7 years, Medicare Program Integrity Manual ch. 4, 4.26 and ch. 5, 5.8.
- HIPAA: policies, procedures and the documentation of required actions and
  assessments (the audit trail and access log included) 6 years from creation or last
  effect, 45 CFR 164.316(b)(2)(i); audit controls 45 CFR 164.312(b).
State law or a payer contract may ask for longer; raise the years here, never lower.
"""

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.models import AuditEntry

from .. import files
from ..choices import DocumentKind, IntakeStatus, PurgeKind
from ..models import Document, FaxIntake, LegalHold, PurgeRecord, SigningRequest

CMS_SUPPLIER = "42 CFR 424.516(f) (7 years from the date of service)"
CMS_POD = "42 CFR 424.516(f); Medicare Program Integrity Manual ch. 4, 4.26"
HIPAA_DOCS = "45 CFR 164.316(b)(2)(i) (6 years from creation)"
HIPAA_AUDIT = "45 CFR 164.316(b)(2)(i) with 164.312(b) (audit controls)"


@dataclass(frozen=True)
class Rule:
    record: str
    years: int
    anchor: str
    source: str
    purged_here: bool = True


# The table docs/domain/documents.md prints. Documents by kind first.
DOCUMENT_RULES: dict[str, Rule] = {
    DocumentKind.STANDARD_WRITTEN_ORDER: Rule(
        "Standard written order", 7, "date of service (else received)", CMS_SUPPLIER
    ),
    DocumentKind.PRESCRIPTION: Rule(
        "Prescription", 7, "date of service (else received)", CMS_SUPPLIER
    ),
    DocumentKind.PRIOR_AUTH_DECISION: Rule(
        "Prior-authorization decision", 7, "date of service (else received)", CMS_SUPPLIER
    ),
    DocumentKind.PROOF_OF_DELIVERY: Rule(
        "Proof of delivery", 7, "date of service (else received)", CMS_POD
    ),
    DocumentKind.INSURANCE_CARD: Rule(
        "Insurance card", 7, "date of service (else received)", CMS_SUPPLIER
    ),
    DocumentKind.MEDICAL_RECORD: Rule(
        "Medical record (medical need)", 7, "date of service (else received)", CMS_SUPPLIER
    ),
    DocumentKind.ABN: Rule("ABN", 7, "date of service (else received)", CMS_SUPPLIER),
    DocumentKind.FACE_TO_FACE: Rule(
        "Face-to-face note", 7, "date of service (else received)", CMS_SUPPLIER
    ),
    DocumentKind.OTHER: Rule("Other document", 6, "received", HIPAA_DOCS),
}
OTHER_RULES: dict[str, Rule] = {
    "claim": Rule("Claim and its lines", 7, "last date of service", CMS_SUPPLIER, False),
    "delivery": Rule("Delivery (proof of delivery)", 7, "date of service", CMS_POD, False),
    PurgeKind.SIGNING_REQUEST: Rule(
        "Signing request (signature evidence)", 7, "signed or sent", CMS_SUPPLIER
    ),
    PurgeKind.FAX_INTAKE: Rule("Fax intake (filed or discarded)", 6, "received", HIPAA_DOCS),
    PurgeKind.AUDIT_ENTRY: Rule("Audit trail entry", 6, "timestamp", HIPAA_AUDIT),
    "access_log": Rule("PHI access log row", 6, "timestamp", HIPAA_AUDIT, False),
    "compliance_event": Rule(
        "Compliance event", 6, "timestamp (core.compliance, daily)", HIPAA_AUDIT, False
    ),
}


def add_years(day: datetime.date, years: int) -> datetime.date:
    """``day`` ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retention_end(anchor: datetime.date, rule: Rule) -> datetime.date:
    """The first day the record may be removed."""
    return add_years(anchor, rule.years)


def _local(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment)


def cutoff(as_of: datetime.date, years: int) -> datetime.date:
    """Records anchored on or before this day are past retention on ``as_of``. (An
    anchor of 29 February is kept one day longer in the year its end falls on 28
    February: the error is always on the side of keeping.)"""
    return add_years(as_of, -years)


@dataclass
class Holds:
    """The legal holds in force: a patient's hold keeps all their records; a claim's
    keeps the claim's documents and those of the order it bills."""

    patient_ids: set[Any]
    claim_ids: set[Any]
    order_ids: set[Any]

    @classmethod
    def active(cls) -> "Holds":
        from hme.models import Claim

        rows = LegalHold.objects.filter(released_at__isnull=True).values_list(
            "patient_id", "claim_id"
        )
        patients = {patient_id for patient_id, _ in rows if patient_id}
        claims = {claim_id for _, claim_id in rows if claim_id}
        orders = set(
            Claim.objects.filter(pk__in=claims, order__isnull=False).values_list(
                "order_id", flat=True
            )
        )
        return cls(patients, claims, orders)

    def covers(self, patient_id: Any = None, claim_id: Any = None, order_id: Any = None) -> bool:
        return (
            patient_id in self.patient_ids
            or (claim_id is not None and claim_id in self.claim_ids)
            or (order_id is not None and order_id in self.order_ids)
        )


@dataclass
class PurgePlan:
    as_of: datetime.date
    due: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    held: Counter[str] = field(default_factory=Counter)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in self.due.items() if ids}


def document_anchor(document: Document, claim_dos: dict[Any, datetime.date]) -> datetime.date:
    """The later of the date of service it supports (claim, delivery, order) and the
    day it was received: a document is never purged before either has run out."""
    candidates = [_local(document.received_at)]
    if document.claim_id and document.claim_id in claim_dos:
        candidates.append(claim_dos[document.claim_id])
    if document.delivery_id and document.delivery and document.delivery.delivered_on:
        candidates.append(document.delivery.delivered_on)
    if document.order_id and document.order and document.order.delivered_on:
        candidates.append(document.order.delivered_on)
    return max(candidates)


def _claim_dates(claim_ids: set[Any]) -> dict[Any, datetime.date]:
    from hme.models import Claim

    rows = (
        Claim.objects.filter(pk__in=claim_ids)
        .annotate(last_dos=Max("lines__date_of_service"))
        .values_list("pk", "last_dos")
    )
    return {pk: dos for pk, dos in rows if dos}


def plan_purge(
    as_of: datetime.date | None = None, progress: Callable[[int], object] | None = None
) -> PurgePlan:
    """What ``purge_expired`` would remove on ``as_of`` (today by default)."""
    as_of = as_of or timezone.localdate()
    plan = PurgePlan(as_of=as_of)
    holds = Holds.active()
    # Documents: by kind; the anchor is at least the received day, so only documents
    # received on or before the kind's cutoff can be due.
    for kind, rule in DOCUMENT_RULES.items():
        limit = cutoff(as_of, rule.years)
        candidates = list(
            Document.objects.filter(kind=kind, received_at__date__lte=limit).select_related(
                "order", "delivery"
            )
        )
        claim_dos = _claim_dates({d.claim_id for d in candidates if d.claim_id})
        for document in candidates:
            if progress:
                progress(1)
            if retention_end(document_anchor(document, claim_dos), rule) > as_of:
                continue
            if holds.covers(document.patient_id, document.claim_id, document.order_id):
                plan.held[PurgeKind.DOCUMENT] += 1
                continue
            plan.due[PurgeKind.DOCUMENT].append(document.pk)
    # Signing requests: the signed ones keep their document's life; open/cancelled ones
    # 7 years after they were sent.
    rule = OTHER_RULES[PurgeKind.SIGNING_REQUEST]
    limit = cutoff(as_of, rule.years)
    due_documents = set(plan.due[PurgeKind.DOCUMENT])
    for pk, patient_id, order_id, document_id in SigningRequest.objects.filter(
        Q(signed_at__date__lte=limit) | Q(signed_at__isnull=True, sent_at__date__lte=limit)
    ).values_list("pk", "order__patient_id", "order_id", "document_id"):
        if document_id and document_id not in due_documents:
            continue  # its signed order is still kept: so is the evidence
        if holds.covers(patient_id, order_id=order_id):
            plan.held[PurgeKind.SIGNING_REQUEST] += 1
            continue
        plan.due[PurgeKind.SIGNING_REQUEST].append(pk)
    # Fax intakes no longer in the worklist.
    rule = OTHER_RULES[PurgeKind.FAX_INTAKE]
    plan.due[PurgeKind.FAX_INTAKE].extend(
        FaxIntake.objects.filter(
            status__in=[IntakeStatus.FILED, IntakeStatus.DISCARDED],
            received_at__date__lte=cutoff(as_of, rule.years),
        ).values_list("pk", flat=True)
    )
    # The audit trail, except entries about a held patient or claim.
    rule = OTHER_RULES[PurgeKind.AUDIT_ENTRY]
    entries = AuditEntry.objects.filter(timestamp__date__lte=cutoff(as_of, rule.years))
    held_entries = _held_audit_filter(holds)
    if held_entries is not None:
        plan.held[PurgeKind.AUDIT_ENTRY] += entries.filter(held_entries).count()
        entries = entries.exclude(held_entries)
    plan.due[PurgeKind.AUDIT_ENTRY].extend(entries.values_list("pk", flat=True))
    return plan


def _held_audit_filter(holds: Holds) -> Q | None:
    from clinical.models import Patient
    from hme.models import Claim

    condition = Q()
    if holds.patient_ids:
        condition |= Q(
            content_type=ContentType.objects.get_for_model(Patient),
            object_pk__in=[str(pk) for pk in holds.patient_ids],
        )
    if holds.claim_ids:
        condition |= Q(
            content_type=ContentType.objects.get_for_model(Claim),
            object_pk__in=[str(pk) for pk in holds.claim_ids],
        )
    return condition or None


def _delete_files(names: list[str]) -> None:
    for name in names:
        files.delete_stored(name)


def purge(plan: PurgePlan, batch_size: int = 500) -> PurgeRecord | None:
    """Remove what ``plan`` lists (re-checked: a hold placed since is honoured) and
    write the PurgeRecord. Rows go in one transaction; files after it commits."""
    fresh = plan_purge(plan.as_of)
    due = {
        kind: [pk for pk in ids if pk in set(fresh.due.get(kind, []))]
        for kind, ids in plan.due.items()
    }
    if not any(due.values()):
        return None
    names: list[str] = []
    with transaction.atomic():
        signing = due.get(PurgeKind.SIGNING_REQUEST, [])
        for start in range(0, len(signing), batch_size):
            SigningRequest.objects.filter(pk__in=signing[start : start + batch_size]).delete()
        for kind, model in ((PurgeKind.DOCUMENT, Document), (PurgeKind.FAX_INTAKE, FaxIntake)):
            ids = due.get(kind, [])
            for start in range(0, len(ids), batch_size):
                rows = model.objects.filter(pk__in=ids[start : start + batch_size])
                names.extend(rows.values_list("storage_name", flat=True))
                rows.delete()
        audit = due.get(PurgeKind.AUDIT_ENTRY, [])
        for start in range(0, len(audit), batch_size):
            AuditEntry.objects.filter(pk__in=audit[start : start + batch_size]).delete()
        record = PurgeRecord.objects.create(
            ran_at=timezone.now(),
            as_of=plan.as_of,
            counts={kind: len(ids) for kind, ids in due.items() if ids},
            removed_ids={kind: [str(pk) for pk in ids] for kind, ids in due.items() if ids},
            held_skipped=sum(fresh.held.values()),
        )
        transaction.on_commit(lambda: _delete_files(names))
    return record


__all__ = [
    "DOCUMENT_RULES",
    "OTHER_RULES",
    "plan_purge",
    "purge",
    "retention_end",
]
