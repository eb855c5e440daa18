"""Audit history for every clinical model; core.audit masks each encrypted column."""

from core import audit

from .models import (
    AIModel,
    Appointment,
    BiometricAlert,
    Diagnosis,
    DigitalTwin,
    HealthInsight,
    MedicalRecord,
    Patient,
    PatientNumberCounter,
    PredictionLog,
    Provider,
)

for model in (
    Patient,
    Provider,
    Appointment,
    MedicalRecord,
    Diagnosis,
    BiometricAlert,
    AIModel,
    PredictionLog,
    HealthInsight,
    DigitalTwin,
    # Only its creation is ever logged: numbers are drawn with UPDATE ... + 1.
    PatientNumberCounter,
):
    audit.register(model)
