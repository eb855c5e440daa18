"""Every status and kind of the clinical app."""

from django.db import models


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DECEASED = "deceased", "Deceased"


class Sex(models.TextChoices):
    """Administrative sex as claims carry it (X12 837 DMG03: F, M, U)."""

    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


class Credential(models.TextChoices):
    MD = "MD", "MD"
    DO = "DO", "DO"
    NP = "NP", "Nurse practitioner (NP)"
    PA = "PA", "Physician assistant (PA)"
    CNS = "CNS", "Clinical nurse specialist (CNS)"
    RRT = "RRT", "Registered respiratory therapist (RRT)"
    DPM = "DPM", "Podiatrist (DPM)"
    OTHER = "other", "Other"


class Specialty(models.TextChoices):
    PULMONOLOGY = "pulmonology", "Pulmonology"
    SLEEP_MEDICINE = "sleep_medicine", "Sleep medicine"
    FAMILY_MEDICINE = "family_medicine", "Family medicine"
    INTERNAL_MEDICINE = "internal_medicine", "Internal medicine"
    CARDIOLOGY = "cardiology", "Cardiology"
    NEUROLOGY = "neurology", "Neurology"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology"
    PHYSICAL_MEDICINE = "physical_medicine", "Physical medicine and rehabilitation"
    ORTHOPEDICS = "orthopedics", "Orthopedic surgery"
    PODIATRY = "podiatry", "Podiatry"
    RESPIRATORY_THERAPY = "respiratory_therapy", "Respiratory therapy"
    OTHER = "other", "Other"


class AppointmentKind(models.TextChoices):
    FITTING = "fitting", "Fitting"
    SETUP = "setup", "Equipment setup"
    FOLLOW_UP = "follow_up", "Follow-up"
    RESPIRATORY_THERAPY = "respiratory_therapy", "Respiratory therapy visit"
    TELEHEALTH = "telehealth", "Telehealth"


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


class RecordType(models.TextChoices):
    VISIT_NOTE = "visit_note", "Visit note"
    PRESCRIPTION = "prescription", "Prescription"
    SLEEP_STUDY = "sleep_study", "Sleep study"
    OXIMETRY = "oximetry", "Oximetry test"
    CMN = "cmn", "Certificate of medical necessity (CMN)"
    LAB_RESULT = "lab_result", "Lab result"
    IMAGING = "imaging", "Imaging"


class Metric(models.TextChoices):
    """What a biometric alert measured. ``METRIC_UNITS`` gives each one's unit."""

    SPO2 = "spo2", "SpO2"
    HEART_RATE = "heart_rate", "Heart rate"
    RESPIRATORY_RATE = "respiratory_rate", "Respiratory rate"
    CPAP_USAGE_HOURS = "cpap_usage_hours", "CPAP usage"
    AHI = "ahi", "AHI (apnea-hypopnea index)"
    MASK_LEAK = "mask_leak", "Mask leak"
    BLOOD_GLUCOSE = "blood_glucose", "Blood glucose"
    WEIGHT = "weight", "Weight"


METRIC_UNITS = {
    Metric.SPO2: "%",
    Metric.HEART_RATE: "bpm",
    Metric.RESPIRATORY_RATE: "breaths/min",
    Metric.CPAP_USAGE_HOURS: "h/night",
    Metric.AHI: "events/h",
    Metric.MASK_LEAK: "L/min",
    Metric.BLOOD_GLUCOSE: "mg/dL",
    Metric.WEIGHT: "lb",
}


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AIModelKind(models.TextChoices):
    ADHERENCE = "adherence", "Therapy adherence"
    RISK = "risk", "Risk prediction"
    FORECAST = "forecast", "Symptom forecast"
    ANOMALY = "anomaly", "Anomaly detection"
    RESUPPLY = "resupply", "Resupply need"
    OTHER = "other", "Other"


class InsightType(models.TextChoices):
    ADHERENCE_RISK = "adherence_risk", "Adherence risk"
    DETERIORATION_RISK = "deterioration_risk", "Deterioration risk"
    RESUPPLY_NEED = "resupply_need", "Resupply need"
    EQUIPMENT_ISSUE = "equipment_issue", "Equipment issue"
    CARE_GAP = "care_gap", "Care gap"
    OTHER = "other", "Other"
