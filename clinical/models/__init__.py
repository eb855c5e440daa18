"""Patients, prescribers and what is known about them clinically.

Split by topic; import models from here (``from clinical.models import Patient``).
"""

from .appointments import Appointment
from .icd10 import ICD10Code
from .insights import AIModel, DigitalTwin, HealthInsight, PredictionLog
from .patients import Patient, PatientNumberCounter
from .providers import Provider
from .records import BiometricAlert, Diagnosis, MedicalRecord

__all__ = [
    "AIModel",
    "Appointment",
    "BiometricAlert",
    "Diagnosis",
    "DigitalTwin",
    "HealthInsight",
    "ICD10Code",
    "MedicalRecord",
    "Patient",
    "PatientNumberCounter",
    "PredictionLog",
    "Provider",
]
