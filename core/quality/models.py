"""Stored data-quality runs and their findings (defined here, exported by core.models)."""

import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from .registry import Severity


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    WARNINGS = "warnings", "Passed with warnings"
    FAILED = "failed", "Failed"


class DataQualityRun(models.Model):
    """One run of the data-quality checks (hourly task or ``manage.py run_data_quality``)."""

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField("started", auto_now_add=True)
    finished_at = models.DateTimeField("finished", null=True, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    checks_run = models.PositiveIntegerField(default=0)
    failed_errors = models.PositiveIntegerField("failed error checks", default=0)
    failed_warnings = models.PositiveIntegerField("failed warning checks", default=0)
    triggered_by = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        app_label = "core"
        ordering = ["-started_at", "-id"]
        verbose_name = "data-quality run"
        indexes = [models.Index(fields=["started_at"], name="dqrun_started_idx")]

    def __str__(self) -> str:
        return f"Data quality {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def duration(self) -> datetime.timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class DataQualityFinding(models.Model):
    """The result of one check in one run: how many rows fail, and a few of their ids."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(DataQualityRun, on_delete=models.CASCADE, related_name="findings")
    check_name = models.CharField("check", max_length=100)
    description = models.CharField(max_length=300)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    passed = models.BooleanField()
    count = models.BigIntegerField(default=0)
    # Record ids only, never values: the admin links them to the records.
    sample_ids = models.JSONField(default=list, blank=True)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    detail = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # Incremental checks (core.quality.checks.invalid_values): when the full pass this
    # finding builds on ran; blank for the checks that always read every row.
    full_pass_at = models.DateTimeField("full pass", null=True, blank=True)

    class Meta:
        app_label = "core"
        ordering = ["passed", "-severity", "check_name"]
        verbose_name = "data-quality finding"
        indexes = [
            # "How did this check do over time?"
            models.Index(fields=["check_name", "run"], name="dqfinding_check_idx"),
        ]

    def __str__(self) -> str:
        state = "ok" if self.passed else f"{self.count} failing"
        return f"{self.check_name}: {state}"
