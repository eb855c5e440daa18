"""The patient's access report: who looked at a patient's records, when, how and why.

HIPAA's accounting of disclosures (45 CFR 164.528) and the right of access to the
audit trail: every access-log row of the patient and of their patient-linked
records (orders, claims, appointments, ...), as CSV or PDF. The queries are bounded
by the number of patient-linked models, never by the number of records or rows
(one id query per model, one for the log).

Exporting it is itself a PHI export: an EXPORT row in the access log and a PHI_EXPORT
compliance event.
"""

import csv
import datetime
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from .access import record_access
from .choices import AccessAction, ComplianceKind
from .compliance import record_event
from .exceptions import ServiceError

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import TenantModel

FORMATS = {"csv": "text/csv", "pdf": "application/pdf"}
COLUMNS = ["When (UTC)", "Who", "Action", "How", "Record", "Record id", "Purpose", "Data shown"]
# A report past this many rows is refused with a readable error: narrow it by date.
MAX_ROWS = 50_000


def patient_linked_models(
    patient_model: type[models.Model],
) -> Iterator[tuple[type[models.Model], str]]:
    """``(model, path to the patient's id)`` for every access-logged model linked to a
    patient: its ``patient_field``, else a ``patient`` foreign key."""
    for model in apps.get_models():
        if model is patient_model or not getattr(model, "access_logged", False):
            continue
        path = getattr(model, "patient_field", None)
        if path is None and any(
            field.name == "patient" and field.related_model is patient_model
            for field in model._meta.concrete_fields
        ):
            path = "patient_id"
        if path:
            yield model, path


def report_rows(patient: "TenantModel") -> list[list[str]]:
    """The patient's access-log rows, newest first, with their record's type."""
    from .models import AccessLog

    patient_model = type(patient)
    linked = list(patient_linked_models(patient_model))
    content_types = ContentType.objects.get_for_models(patient_model, *(m for m, _ in linked))
    condition = Q(content_type=content_types[patient_model], object_id=str(patient.pk))
    for model, path in linked:
        ids = [
            str(pk)
            for pk in model._default_manager.filter(**{path: patient.pk}).values_list(
                "pk", flat=True
            )
        ]
        if ids:
            condition |= Q(content_type=content_types[model], object_id__in=ids)
    names = {ct.pk: model._meta.verbose_name for model, ct in content_types.items()}
    rows = list(
        AccessLog.objects.filter(condition, company_id=patient.company_id).order_by(
            "-timestamp", "-id"
        )[: MAX_ROWS + 1]
    )
    if len(rows) > MAX_ROWS:
        raise ServiceError(
            f"This patient's access report has more than {MAX_ROWS} rows: ask an operator "
            "for an export.",
            code="too_large",
        )
    return [
        [
            row.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            row.user_email or "system",
            row.get_action_display(),
            row.get_via_display(),
            str(names.get(row.content_type_id, row.content_type_id)),
            row.object_id,
            row.purpose,
            ", ".join(row.fields or []),
        ]
        for row in rows
    ]


def export_access_report(
    request: "HttpRequest", patient: "TenantModel", fmt: str, *, via: str
) -> tuple[bytes, str, str]:
    """The report of ``patient`` (found through ``for_user``) as ``(bytes, content type,
    file name)``; logs the export. ``fmt`` is ``csv`` or ``pdf``."""
    if fmt not in FORMATS:
        raise ServiceError(
            "The access report comes as csv or pdf.", fields={"format": ["Choose csv or pdf."]}
        )
    rows = report_rows(patient)
    generated = timezone.now()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        content = buffer.getvalue().encode()
    else:
        content = _pdf(patient, rows, generated)
    with transaction.atomic():
        record_access(
            request, [patient], via=via, action=AccessAction.EXPORT, purpose="access report"
        )
        record_event(
            ComplianceKind.PHI_EXPORT,
            company=patient.company_id,
            request=request,
            target=patient,
            detail={"report": "access", "format": fmt, "rows": len(rows)},
        )
    # Named by the patient's id, never their name (file names end up in logs).
    name = f"access-report-{patient.pk}-{generated:%Y%m%d}.{fmt}"
    return content, FORMATS[fmt], name


def _pdf(patient: "TenantModel", rows: list[list[str]], generated: datetime.datetime) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "core/access_report.html",
        {"patient": patient, "rows": rows, "columns": COLUMNS, "generated": generated},
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
