"""Documents that billing needs: the PWK attachments of a claim and the readiness
reasons that ask for a document kind.

PWK (X12 837P 005010X222A1, loop 2300 PWK): PWK01 report type code, PWK02 report
transmission code (FX by fax, BM by mail: the ones sent apart from the claim), PWK05
"AC" and PWK06 the attachment control number written on the fax or mail cover sheet.

Readiness reasons (registered into ``hme.readiness`` by ``DocumentsConfig.ready``
when that registry exists):
- a signed standard written order on file for the order, 42 CFR 410.38(d);
- the prior-authorization decision on file for items on the Required Prior
  Authorization List, 42 CFR 414.234(d) (the provisional affirmation letter);
- a signed ABN on file when a line carries GA, Medicare Claims Processing Manual
  ch. 30, 40.3 and 50 (GA: "waiver of liability statement issued as required").
"""

import uuid
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from ..choices import AttachmentTransmission, DocumentKind
from ..models import Document

# PWK01 report type codes (005010X222A1 PWK01 code list) for each document kind.
REPORT_TYPE_CODES: dict[str, str] = {
    DocumentKind.STANDARD_WRITTEN_ORDER: "DB",  # durable medical equipment prescription
    DocumentKind.PRESCRIPTION: "B2",  # prescription
    DocumentKind.PRIOR_AUTH_DECISION: "OZ",  # support data for claim
    DocumentKind.PROOF_OF_DELIVERY: "OZ",
    DocumentKind.INSURANCE_CARD: "OZ",
    DocumentKind.MEDICAL_RECORD: "M1",  # medical record attachment
    DocumentKind.ABN: "OZ",
    DocumentKind.FACE_TO_FACE: "PY",  # physician's report
    DocumentKind.OTHER: "OZ",
}


class Attachment(NamedTuple):
    report_type: str
    transmission: str
    control_number: str


def attachments_for_claim(claim: Any) -> list[Attachment]:
    """``(report type code, transmission code FX/BM, attachment control number)`` of
    each document of ``claim`` sent to the payer by fax or mail, in the order sent.
    One query; for the 837P builder's PWK segments."""
    rows = (
        Document.objects.filter(
            claim_id=claim.pk,
            attachment_transmission__in=AttachmentTransmission.values,
        )
        .order_by("attachment_sent_at", "id")
        .values_list("kind", "attachment_transmission", "attachment_control_number")
    )
    return [
        Attachment(REPORT_TYPE_CODES.get(kind, "OZ"), transmission, control)
        for kind, transmission, control in rows
    ]


# Readiness -----------------------------------------------------------------------

SWO_SOURCE = "42 CFR 410.38(d) (standard written order on file before the claim)"
PA_SOURCE = "42 CFR 414.234(d) (prior-authorization decision before delivery)"
ABN_SOURCE = "Medicare Claims Processing Manual ch. 30, 40.3 and 50 (GA: ABN on file)"


def _documents_by_order(batch: Any) -> dict[str, Any]:
    """Once per batch: ``{"orders": {order id: {kinds}}, "patients": {patient id:
    {kinds}}}`` of the SWO, prior-auth and ABN documents of the batch's patients."""
    cached = batch.extra.get("documents")
    if cached is not None:
        return dict(cached)
    patient_ids = {line.order.patient_id for line in batch.lines}
    orders: dict[uuid.UUID, set[str]] = {}
    patients: dict[uuid.UUID, set[str]] = {}
    rows = Document.objects.filter(
        patient_id__in=patient_ids,
        kind__in=[
            DocumentKind.STANDARD_WRITTEN_ORDER,
            DocumentKind.PRIOR_AUTH_DECISION,
            DocumentKind.ABN,
        ],
    ).values_list("patient_id", "order_id", "kind")
    for patient_id, order_id, kind in rows:
        patients.setdefault(patient_id, set()).add(kind)
        if order_id:
            orders.setdefault(order_id, set()).add(kind)
    cached = {"orders": orders, "patients": patients}
    batch.extra["documents"] = cached
    return cached


def _mode() -> str:
    """``DOCUMENTS_BILLING_CHECKS``: off, warn or hold."""
    from django.conf import settings

    return str(settings.DOCUMENTS_BILLING_CHECKS)


def _reason(code: str, message: str, order_id: Any, source: str) -> Any:
    """A warning (shown, still bills) or, in ``hold`` mode, an error (held)."""
    from hme.readiness.base import Fix, error, warning

    make = error if _mode() == "hold" else warning
    return make(code, message, Fix("dme.order", order_id, ""), source)


def signed_written_order_on_file(batch: Any) -> Iterator[tuple[Any, Any]]:
    """The order's signed standard written order is among its documents."""
    if _mode() == "off":
        return
    found = _documents_by_order(batch)
    for line in batch.lines:
        if DocumentKind.STANDARD_WRITTEN_ORDER not in found["orders"].get(line.order_id, ()):
            yield (
                line.pk,
                _reason(
                    "document_swo",
                    f"Order {line.order.number} has no signed written order on file "
                    "(upload it or send it to the prescriber for e-signature).",
                    line.order_id,
                    SWO_SOURCE,
                ),
            )


def prior_auth_decision_on_file(batch: Any) -> Iterator[tuple[Any, Any]]:
    """Items needing prior authorization have the decision letter on file (for the
    order, or for the patient)."""
    from hme.rules import requires_prior_auth

    if _mode() == "off":
        return
    found = _documents_by_order(batch)
    for line in batch.lines:
        if not requires_prior_auth(line.equipment.hcpcs_code):
            continue
        kinds = found["orders"].get(line.order_id, set()) | found["patients"].get(
            line.order.patient_id, set()
        )
        if DocumentKind.PRIOR_AUTH_DECISION not in kinds:
            yield (
                line.pk,
                _reason(
                    "document_prior_auth",
                    f"{line.equipment.hcpcs_code} on order {line.order.number} needs the "
                    "prior-authorization decision on file.",
                    line.order_id,
                    PA_SOURCE,
                ),
            )


def abn_on_file(batch: Any) -> Iterator[tuple[Any, Any]]:
    """A line billed with GA has the patient's signed ABN on file for the order."""
    if _mode() == "off":
        return
    found = _documents_by_order(batch)
    for line in batch.lines:
        if "GA" not in (line.modifiers or []):
            continue
        if DocumentKind.ABN not in found["orders"].get(line.order_id, ()):
            yield (
                line.pk,
                _reason(
                    "document_abn",
                    f"{line.equipment.hcpcs_code} on order {line.order.number} carries GA "
                    "but no signed ABN is on file for the order.",
                    line.order_id,
                    ABN_SOURCE,
                ),
            )


READINESS_CHECKS = [signed_written_order_on_file, prior_auth_decision_on_file, abn_on_file]


def register_readiness_checks(register: Any) -> list[Any]:
    """Register this app's checks with ``register`` (``hme.readiness.register_check``)."""
    checks: Iterable[Any] = READINESS_CHECKS
    return [register(check) for check in checks]
