"""The clinical context on the patient's admin page as panels of ``core.admin_panels``:
recent and upcoming appointments, medical records, open biometric alerts. Read-only:
each row opens on its own page, where the services apply; the diagnoses stay an
editable inline (``clinical/admin_inlines.py``).

Each panel is one query of its latest rows (``for_user``: the company, and the
membership's locations for appointments), with a link to the full list filtered on the
patient. Registered by ``clinical.admin`` (the patient's admin), beside the panels the
higher floors register for the same page.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from core.admin_panels import Column, Panel, change_link, filtered_list, register_panel

from .models import Appointment, BiometricAlert, MedicalRecord

PATIENT = "clinical.patient"
# The patient page shows appointments from this far back, and every upcoming one; the
# "All appointments" link lists the rest.
RECENT_APPOINTMENTS = datetime.timedelta(days=180)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def recent_appointments(request: Any, patient: Any) -> Any:
    """The patient's appointments of the last six months and every upcoming one,
    latest first (the upcoming on top)."""
    since = timezone.now() - RECENT_APPOINTMENTS
    return (
        Appointment.objects.for_user(request.user)
        .filter(patient=patient, starts_at__gte=since)
        .select_related("provider", "location")
        .defer("notes")
        .order_by("-starts_at", "-id")
    )


def register() -> None:
    register_panel(
        Panel(
            model=PATIENT,
            key="appointments",
            title="Appointments (last 6 months and upcoming)",
            order=80,
            rows=recent_appointments,
            columns=[
                Column("Starts at", lambda a: a.starts_at),
                Column("Ends at", lambda a: a.ends_at),
                Column("Kind", lambda a: a.get_kind_display()),
                Column("Provider", lambda a: str(a.provider)),
                Column("Location", lambda a: str(a.location)),
                Column("Status", lambda a: a.get_status_display()),
                Column("Virtual", lambda a: _yes_no(a.is_virtual)),
            ],
            link=change_link("clinical_appointment"),
            full_list=filtered_list("clinical_appointment"),
            full_label="All appointments",
            permission="clinical.view_appointment",
            empty="No appointments in the last 6 months, none upcoming.",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="medical_records",
            title="Medical records",
            order=81,
            rows=lambda request, patient: (
                MedicalRecord.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("provider")
                # The narrative and results (encrypted) are read on the record's page.
                .defer("symptoms", "treatment", "medications", "results")
                .order_by("-visit_date", "-created_at")
            ),
            columns=[
                Column("Visit date", lambda r: r.visit_date),
                Column("Type", lambda r: r.get_record_type_display()),
                Column("Provider", lambda r: str(r.provider) if r.provider_id else None),
                Column("Diagnosis codes", lambda r: r.diagnosis_codes_display),
            ],
            link=change_link("clinical_medicalrecord"),
            full_list=filtered_list("clinical_medicalrecord"),
            permission="clinical.view_medicalrecord",
        )
    )
    register_panel(
        Panel(
            model=PATIENT,
            key="open_alerts",
            title="Open biometric alerts",
            order=82,
            rows=lambda request, patient: (
                BiometricAlert.objects.for_user(request.user)
                .filter(patient=patient)
                .unresolved()
                .defer("resolution_note")
                .order_by("-observed_at", "-created_at")
            ),
            columns=[
                Column("Observed at", lambda a: a.observed_at),
                Column("Metric", lambda a: a.get_metric_display()),
                Column("Value", lambda a: f"{a.value} {a.unit}".strip()),
                Column("Threshold", lambda a: a.threshold),
                Column("Severity", lambda a: a.get_severity_display()),
                Column("Status", lambda a: a.get_status_display()),
            ],
            link=change_link("clinical_biometricalert"),
            full_list=filtered_list("clinical_biometricalert"),
            full_label="All alerts",
            permission="clinical.view_biometricalert",
            empty="No open alerts.",
        )
    )
