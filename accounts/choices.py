from django.db import models


class Role(models.TextChoices):
    """A staff member's role in a company; each is a Django group of permissions."""

    ADMINISTRATOR = "administrator", "Administrator"
    INTAKE = "intake", "Intake"
    CLINICIAN = "clinician", "Clinician"
    WAREHOUSE = "warehouse", "Warehouse"
    BILLING = "billing", "Billing"
    AUDITOR = "auditor", "Auditor"


class LocationKind(models.TextChoices):
    OFFICE = "office", "Office"
    WAREHOUSE = "warehouse", "Warehouse"
    CLINIC = "clinic", "Clinic"
    # A driver's van carries stock too (dme transfers, issue 20).
    VAN = "van", "Vehicle (driver's van)"
