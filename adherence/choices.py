"""Statuses and kinds of the adherence app."""

from django.db import models


class UsageSource(models.TextChoices):
    """Whose cloud export a night came from (the column names differ; the rows do not)."""

    AIRVIEW = "airview", "ResMed AirView"
    CARE_ORCHESTRATOR = "care_orchestrator", "Philips Care Orchestrator"
    OTHER = "other", "Other export"


class AdherenceState(models.TextChoices):
    """Where a PAP rental stands against the Medicare adherence rule (LCD L33718)."""

    NO_DATA = "no_data", "No usage imported"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "Falling short (days remain)"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met (can no longer be met)"
