"""837P submission batches: create, rebuild, send, and process what comes back.

docs/domain/edi.md. One function per workflow step; the admin actions, the API, the
Celery task and the acknowledgement handlers (``hme.edi.acks``) all call these.

Claim states (``hme.transitions``): a claim is *submitted* (``submit_claim``: the
moment is recorded, it stays pending) when its batch is sent, and it becomes
*processing* (``mark_processing``) when the payer's front end accepts it (277CA). A claim
the 999 or the 277CA rejects is not yet with the payer: it stays pending, its submission
is withdrawn (``submitted_at`` cleared) so it can be corrected and batched again, and the
batch item keeps the reason in words and codes (the billing worklist filter).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Company, User
from core.exceptions import Conflict, InvalidTransition, ServiceError

from ..choices import ClaimStatus
from ..edi import data as edi_data
from ..edi import inbox, store
from ..edi.adapters import AdapterError, ClearinghouseAdapter, get_adapter
from ..edi.x12 import X12Error
from ..edi.x837 import MAX_CLAIMS, Attachment, BuildError, Envelope, OtherPayer, generate_837p
from ..models import Claim, Payer
from ..models.edi import (
    BATCH_NUMBER_PREFIX,
    BatchClaim,
    BatchClaimStatus,
    BatchNumberCounter,
    BatchStatus,
    ClaimFrequency,
    InboundFile,
    InboundStatus,
    InterchangeControlCounter,
    SubmissionBatch,
)
from .claims import filing_deadline, mark_processing, submit_claim

logger = logging.getLogger(__name__)

#: ISA13 is nine digits (005010 ISA13): the counter must stay below this.
MAX_CONTROL_NUMBER = 999_999_999
#: Claim statuses a batch may take (original or replacement).
BATCHABLE_STATUSES = (ClaimStatus.PENDING,)
MAX_REASONS_SHOWN = 20


@dataclass
class ClaimInput:
    """What the caller adds for one claim (the remittance and documents modules)."""

    frequency: str = ClaimFrequency.ORIGINAL
    attachments: Sequence[Attachment] | None = None
    other_payers: Sequence[OtherPayer] | None = None


# Readiness ---------------------------------------------------------------------------


def readiness_reasons(claim: Claim) -> list[str]:
    """Why ``claim`` may not go into an 837P batch now ([] = it may).

    READINESS CHECK: this is the one place a batch asks whether a claim is ready to bill.
    Today it checks the claim's status, that it is not already submitted or in an open
    batch, and the payer's timely filing limit. When the ready-to-bill rules (branch
    ``readiness``: missing SWO element, expired authorization, missing modifier,
    invalid NPI/MBI/ICD-10, no proof of delivery) are merged, call them here.
    """
    reasons: list[str] = []
    if claim.status not in BATCHABLE_STATUSES:
        reasons.append(
            f"Claim {claim.number} is {claim.get_status_display().lower()}: only a pending "
            "claim goes into a batch."
        )
        return reasons
    if claim.submitted_at is not None:
        reasons.append(
            f"Claim {claim.number} was already submitted; it waits for the payer's acknowledgement."
        )
    open_item = (
        BatchClaim.objects.filter(claim=claim, batch__status=BatchStatus.CREATED)
        .select_related("batch")
        .first()
    )
    if open_item is not None:
        reasons.append(f"Claim {claim.number} is already in batch {open_item.batch.number}.")
    deadline = filing_deadline(claim)
    if deadline is not None and timezone.localdate() > deadline:
        reasons.append(
            f"Claim {claim.number} is past {claim.payer}'s timely filing limit "
            f"(deadline {deadline.isoformat()})."
        )
    return reasons


def _refuse(reasons: list[str]) -> None:
    if not reasons:
        return
    shown = reasons[:MAX_REASONS_SHOWN]
    more = len(reasons) - len(shown)
    message = "No batch was created: " + " ".join(shown)
    if more:
        message += f" ({more} more reason(s).)"
    raise ServiceError(message, code="not_batchable", fields={"claims": shown})


# Building ----------------------------------------------------------------------------


def _envelope(company: Company, payer: Payer, batch: SubmissionBatch) -> Envelope:
    reasons = []
    if not company.edi_submitter_id:
        reasons.append(f"Set the company's EDI submitter ID ({company.name}, EDI fields).")
    if not (payer.edi_receiver_id and payer.edi_receiver_name):
        reasons.append(f"Set {payer.name}'s EDI receiver name and ID.")
    if not payer.payer_id:
        reasons.append(f"Set {payer.name}'s electronic payer ID.")
    if not company.phone:
        reasons.append("Set the company's phone (837P 1000A PER).")
    if reasons:
        raise ServiceError("The 837P cannot be addressed: " + " ".join(reasons), code="edi_setup")
    return Envelope(
        sender_qualifier=company.edi_isa_qualifier or "ZZ",
        sender_id=company.edi_isa_id or company.edi_submitter_id,
        receiver_qualifier=payer.edi_isa_qualifier or "ZZ",
        receiver_id=payer.edi_isa_id or payer.edi_receiver_id,
        submitter_name=company.legal_name or company.name,
        submitter_id=company.edi_submitter_id,
        contact_name=company.edi_contact_name or company.name,
        contact_phone=company.phone,
        receiver_name=payer.edi_receiver_name,
        receiver_edi_id=payer.edi_receiver_id,
        control_number=batch.interchange_control_number,
        transaction_control_number=batch.transaction_control_number,
        reference=batch.number,
        created=timezone.localtime(batch.built_at),
        usage=batch.usage_indicator,
    )


def _draw_control_numbers(batch: SubmissionBatch) -> None:
    number = InterchangeControlCounter.next_number(batch.company_id)
    if number > MAX_CONTROL_NUMBER:
        raise ServiceError("The interchange control numbers are used up (ISA13 has 9 digits).")
    batch.interchange_control_number = number
    batch.group_control_number = number
    batch.transaction_control_number = f"{number:04d}"[-9:]


def _payer_claim_number(claim: Claim) -> str:
    """The payer's claim number from the claim's latest accepted 277CA (REF*F8)."""
    item = (
        BatchClaim.objects.filter(claim=claim, status=BatchClaimStatus.ACCEPTED)
        .exclude(payer_claim_number="")
        .order_by("-created_at")
        .first()
    )
    return item.payer_claim_number if item is not None else ""


def _claims_of(batch: SubmissionBatch) -> QuerySet[Claim]:
    return Claim.objects.filter(edi_items__batch=batch)


def _write_file(
    batch: SubmissionBatch, inputs: Mapping[Any, ClaimInput], frequencies: Mapping[Any, str]
) -> None:
    """Generate, seal and record the batch's file (streaming, claim by claim)."""
    envelope = _envelope(batch.company, batch.payer, batch)
    queryset = edi_data.data_queryset(_claims_of(batch))

    def pieces() -> Iterator[str]:
        def claims() -> Iterator[Any]:
            for claim in queryset.iterator(chunk_size=500):
                given = inputs.get(claim.pk) or ClaimInput()
                frequency = frequencies.get(claim.pk, ClaimFrequency.ORIGINAL)
                try:
                    yield edi_data.claim_data(
                        claim,
                        frequency=frequency,
                        payer_claim_number=(_payer_claim_number(claim) if frequency != "1" else ""),
                        attachments=given.attachments,
                        other_payers=given.other_payers,
                    )
                except X12Error as error:
                    raise BuildError(error.message) from None

        yield from generate_837p(envelope, claims())

    batch.file_name = f"{batch.number}-{batch.interchange_control_number:09d}.x12"
    stored = store.write_sealed(store.store_path(batch.company_id, batch.file_name), pieces())
    batch.file_sha256 = stored.sha256
    batch.file_size = stored.size


def create_batch(
    company: Company,
    claims: Iterable[Claim],
    *,
    user: User | None = None,
    inputs: Mapping[Any, ClaimInput] | None = None,
    usage: str | None = None,
) -> SubmissionBatch:
    """One payer's claims in a new 837P batch (status created), file built and sealed.

    Refused, with every reason, when a claim is not ready (``readiness_reasons``), is
    another payer's or company's, or lacks an element the 837P needs. ``inputs`` gives
    per-claim frequency (1, 7 with the payer's claim number), PWK attachments and
    other-payer adjudications. Nothing is created when it raises.
    """
    inputs = dict(inputs or {})
    claim_list = list(claims)
    if not claim_list:
        raise ServiceError("Choose at least one claim for the batch.", code="not_batchable")
    if len(claim_list) > MAX_CLAIMS:
        raise ServiceError(
            f"A batch holds at most {MAX_CLAIMS} claims (005010X222A1 1.4.1); "
            f"{len(claim_list)} were chosen.",
            code="not_batchable",
        )
    with transaction.atomic():
        locked = list(
            Claim.objects.select_for_update(of=("self",))
            .filter(pk__in=[c.pk for c in claim_list])
            .select_related("payer")
            .order_by("number")
        )
        reasons: list[str] = []
        if len(locked) != len({c.pk for c in claim_list}):
            reasons.append("Some chosen claims no longer exist.")
        payers = {claim.payer_id for claim in locked}
        if len(payers) > 1:
            reasons.append(
                "A batch is one payer's claims: these are for "
                + ", ".join(sorted({str(c.payer) for c in locked}))
                + "."
            )
        frequencies: dict[Any, str] = {}
        for claim in locked:
            if claim.company_id != company.pk:
                reasons.append("A chosen claim is not one of this company's.")
                continue
            reasons += readiness_reasons(claim)
            frequency = (inputs.get(claim.pk) or ClaimInput()).frequency
            if frequency not in ClaimFrequency.values or frequency == ClaimFrequency.VOID:
                reasons.append(
                    f"Claim {claim.number}: a batch sends originals (1) and replacements (7); "
                    "a void (8) goes through void_claim and the payer's own process."
                )
            elif frequency == ClaimFrequency.REPLACEMENT and not _payer_claim_number(claim):
                reasons.append(
                    f"Claim {claim.number}: a replacement (7) needs the payer's claim number "
                    "from an accepted 277CA."
                )
            frequencies[claim.pk] = frequency
        _refuse(reasons)
        payer = locked[0].payer
        batch = SubmissionBatch(
            company=company,
            payer=payer,
            number=f"{BATCH_NUMBER_PREFIX}{BatchNumberCounter.next_number(company.pk):06d}",
            usage_indicator=usage or settings.EDI_USAGE_INDICATOR,
            built_at=timezone.now(),
            claim_count=len(locked),
            total_charge=sum((c.total_charge for c in locked), Decimal("0")),
            created_by=user,
            updated_by=user,
        )
        _draw_control_numbers(batch)
        batch.save()
        BatchClaim.objects.bulk_create(
            [
                BatchClaim(
                    company=company,
                    batch=batch,
                    claim=claim,
                    frequency=frequencies[claim.pk],
                    created_by=user,
                    updated_by=user,
                )
                for claim in locked
            ]
        )
        _build_or_undo(batch, inputs, frequencies)
    return batch


def _build_or_undo(
    batch: SubmissionBatch, inputs: Mapping[Any, ClaimInput], frequencies: Mapping[Any, str]
) -> None:
    try:
        _write_file(batch, inputs, frequencies)
        batch.save()
    except BaseException:
        if batch.file_name:
            store.remove(store.store_path(batch.company_id, batch.file_name))
        raise


def create_batches(
    company: Company,
    claims: Iterable[Claim],
    *,
    user: User | None = None,
    inputs: Mapping[Any, ClaimInput] | None = None,
) -> list[SubmissionBatch]:
    """One batch per payer of the chosen claims (the admin action), all or none."""
    by_payer: dict[Any, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_payer[claim.payer_id].append(claim)
    with transaction.atomic():
        return [
            create_batch(company, group, user=user, inputs=inputs)
            for _, group in sorted(by_payer.items(), key=lambda item: str(item[0]))
        ]


def rebuild_batch(
    batch: SubmissionBatch,
    *,
    user: User | None = None,
    inputs: Mapping[Any, ClaimInput] | None = None,
) -> SubmissionBatch:
    """Build a created (not yet sent) batch's file again from the claims as they are now.

    New control numbers are drawn (a number is never used for two different files).
    """
    with transaction.atomic():
        batch = SubmissionBatch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
        if batch.status != BatchStatus.CREATED:
            raise InvalidTransition(
                f"Batch {batch.number} is {batch.get_status_display().lower()}: only a batch "
                "not yet sent can be rebuilt.",
                code="not_rebuildable",
            )
        reasons = []
        for claim in _claims_of(batch).select_related("payer").order_by("number"):
            if claim.status not in BATCHABLE_STATUSES:
                reasons.append(
                    f"Claim {claim.number} is {claim.get_status_display().lower()}: "
                    "remove it by creating a new batch."
                )
        if reasons:
            raise ServiceError("The batch cannot be rebuilt: " + " ".join(reasons))
        frequencies = dict(batch.items.values_list("claim_id", "frequency"))
        old_file = batch.file_name
        _draw_control_numbers(batch)
        batch.built_at = timezone.now()
        batch.build_count += 1
        batch.updated_by = user
        _build_or_undo(batch, dict(inputs or {}), frequencies)
        if old_file and old_file != batch.file_name:
            transaction.on_commit(
                lambda: store.remove(store.store_path(batch.company_id, old_file))
            )
    return batch


def batch_file(batch: SubmissionBatch) -> Iterator[bytes]:
    """The batch's 837P bytes, decrypted as they are read (download, send)."""
    if not batch.file_name:
        raise Conflict(f"Batch {batch.number} has no file.")
    path = store.store_path(batch.company_id, batch.file_name)
    if not path.exists():
        raise Conflict(f"The file of batch {batch.number} is missing from the EDI store.")
    return store.read_sealed(path)


# Sending -----------------------------------------------------------------------------


def send_batch(
    batch: SubmissionBatch,
    *,
    user: User | None = None,
    adapter: ClearinghouseAdapter | None = None,
) -> SubmissionBatch:
    """Send a created batch: every claim is submitted (``submit_claim``), then the file
    goes to the clearinghouse; created -> sent. If the clearinghouse refuses, nothing
    changes (the error is kept on the batch for the next try)."""
    adapter = adapter or get_adapter()
    try:
        with transaction.atomic():
            batch = SubmissionBatch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
            if batch.status != BatchStatus.CREATED:
                raise InvalidTransition(
                    f"Batch {batch.number} is {batch.get_status_display().lower()}: it is sent "
                    "once.",
                    code="already_sent",
                )
            for claim in _claims_of(batch).order_by("number"):
                submit_claim(claim, user)
            reference = adapter.send(batch.company_id, batch.file_name, batch_file(batch))
            batch.status = BatchStatus.SENT
            batch.sent_at = timezone.now()
            batch.sent_reference = reference[:200]
            batch.send_error = ""
            batch.updated_by = user
            batch.save(
                update_fields=[
                    "status",
                    "sent_at",
                    "sent_reference",
                    "send_error",
                    "updated_by",
                    "updated_at",
                ]
            )
    except AdapterError as error:
        SubmissionBatch.objects.filter(pk=batch.pk).update(send_error=error.message[:1000])
        raise
    return batch


# Acknowledgements (called by hme.edi.acks) -------------------------------------------


def withdraw_submission(item: BatchClaim, *, codes: str, reason: str) -> bool:
    """The clearinghouse or payer front end rejected ``item``'s claim: record why and
    give the claim back to the biller (pending, not submitted). False when the claim had
    already moved on (processing or later): only the item records the rejection then."""
    item.status = BatchClaimStatus.REJECTED
    item.status_codes = codes[:200]
    item.reason = reason
    item.acknowledged_at = timezone.now()
    item.save(update_fields=["status", "status_codes", "reason", "acknowledged_at", "updated_at"])
    claim = Claim.objects.select_for_update(of=("self",)).get(pk=item.claim_id)
    if claim.status != ClaimStatus.PENDING:
        return False
    claim.submitted_at = None
    claim.save(update_fields=["submitted_at"])
    return True


def accept_claim(item: BatchClaim, *, codes: str, reason: str, payer_claim_number: str) -> bool:
    """The payer's front end accepted ``item``'s claim (277CA): processing, and the
    payer's claim number recorded. False when the claim was no longer waiting."""
    item.status = BatchClaimStatus.ACCEPTED
    item.status_codes = codes[:200]
    item.reason = reason
    item.payer_claim_number = payer_claim_number[:50]
    item.acknowledged_at = timezone.now()
    item.save(
        update_fields=[
            "status",
            "status_codes",
            "reason",
            "payer_claim_number",
            "acknowledged_at",
            "updated_at",
        ]
    )
    claim = Claim.objects.get(pk=item.claim_id)
    if claim.status != ClaimStatus.PENDING or claim.submitted_at is None:
        return False
    mark_processing(claim)
    return True


def settle_batch(batch: SubmissionBatch, *, accepted: bool, reason: str = "") -> None:
    """The 999 answer for the batch's transaction set: sent -> accepted | rejected."""
    batch = SubmissionBatch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
    if batch.status != BatchStatus.SENT:
        raise X12Error(
            f"Batch {batch.number} is {batch.get_status_display().lower()}: a 999 answers a "
            "sent batch once."
        )
    batch.status = BatchStatus.ACCEPTED if accepted else BatchStatus.REJECTED
    batch.acknowledged_at = timezone.now()
    batch.rejection_reason = reason
    batch.save(update_fields=["status", "acknowledged_at", "rejection_reason", "updated_at"])
    if not accepted:
        for item in batch.items.filter(status=BatchClaimStatus.INCLUDED):
            withdraw_submission(item, codes="999", reason=f"The file was rejected: {reason}")


# Inbox and the periodic cycle --------------------------------------------------------


@dataclass
class InboxRun:
    processed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    duplicates: int = 0


def receive_file(company: Company, name: str, data: bytes) -> InboundFile:
    """Process one inbound file (999, 277CA, ...) all or nothing, and record it.

    A file already processed (same SHA-256) is not processed again. Invalid X12 or a
    file our handlers refuse is recorded as refused with the reason (segment and
    position, never data) and changes nothing else.
    """
    checksum = hashlib.sha256(data).hexdigest()
    done = InboundFile.objects.filter(
        company=company, sha256=checksum, status=InboundStatus.PROCESSED
    ).first()
    if done is not None:
        raise Conflict(f"{name} was already processed (as {done.name}).", code="duplicate")
    try:
        with transaction.atomic():
            result = inbox.dispatch_file(company, name, data)
            return InboundFile.objects.create(
                company=company,
                name=name[:200],
                sha256=checksum,
                status=InboundStatus.PROCESSED,
                transaction_sets=",".join(sorted(result.sets)),
                summary=result.summary(),
            )
    except ServiceError as error:
        InboundFile.objects.create(
            company=company,
            name=name[:200],
            sha256=checksum,
            status=InboundStatus.REFUSED,
            error=error.message,
        )
        raise


def process_inbox(company: Company, adapter: ClearinghouseAdapter | None = None) -> InboxRun:
    """Fetch and process every waiting response of ``company``."""
    adapter = adapter or get_adapter()
    run = InboxRun()
    for inbound in adapter.fetch(company.pk):
        try:
            receive_file(company, inbound.name, inbound.data)
        except Conflict as error:
            if error.code != "duplicate":
                raise
            run.duplicates += 1
            adapter.done(company.pk, inbound, ok=True)
        except ServiceError:
            run.refused.append(inbound.name)
            adapter.done(company.pk, inbound, ok=False)
        else:
            run.processed.append(inbound.name)
            adapter.done(company.pk, inbound, ok=True)
    return run


@dataclass
class EdiCycle:
    sent: int = 0
    send_errors: int = 0
    processed: int = 0
    refused: int = 0
    duplicates: int = 0


def run_edi_cycle(adapter: ClearinghouseAdapter | None = None) -> EdiCycle:
    """Send every created batch and fetch every company's responses (the beat task)."""
    adapter = adapter or get_adapter()
    cycle = EdiCycle()
    for batch in SubmissionBatch.objects.pending_send().order_by("created_at"):
        try:
            send_batch(batch, adapter=adapter)
        except ServiceError:
            cycle.send_errors += 1
            logger.warning("EDI batch %s not sent", batch.pk)
        else:
            cycle.sent += 1
    companies = Company.objects.filter(is_active=True).exclude(edi_submitter_id="")
    for company in companies:
        run = process_inbox(company, adapter)
        cycle.processed += len(run.processed)
        cycle.refused += len(run.refused)
        cycle.duplicates += run.duplicates
    return cycle
