"""Core's trail records beside the access log: company-scoped audit entries, the
access-log chain heads and emergency-access grants.

Imported from ``core.models`` so that Django registers them with the core app.
"""

from typing import Any

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntryManager(LogEntryManager):
    """django-auditlog's manager, filling the company of every entry it writes."""

    def log_create(self, instance: models.Model, force_log: bool = False, **kwargs: Any) -> Any:
        from .audit import company_id_for

        kwargs.setdefault("company_id", company_id_for(instance))
        return super().log_create(instance, force_log, **kwargs)

    def log_m2m_changes(
        self,
        changed_queryset: models.QuerySet[Any],
        instance: models.Model,
        operation: str,
        field_name: str,
        **kwargs: Any,
    ) -> Any:
        from .audit import company_id_for

        kwargs.setdefault("company_id", company_id_for(instance))
        return super().log_m2m_changes(changed_queryset, instance, operation, field_name, **kwargs)


class AuditEntry(AbstractLogEntry):
    """One django-auditlog history entry (``AUDITLOG_LOGENTRY_MODEL``), with the company
    it belongs to, so each company's staff see only their own trail.

    The company comes from the record (its ``company_id``; a Company is its own), or,
    for global accounts (users), from the company the actor was acting for. None means
    a global record changed outside any company: operators only.
    """

    # AbstractLogEntry is untyped, so the plugin cannot infer the field's types here.
    company: "models.ForeignKey[Any, Any]" = models.ForeignKey(
        "accounts.Company",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-timestamp", "-id"]
        indexes = [
            # A company's trail, newest first, date-bounded (the admin list).
            models.Index(fields=["company", "timestamp"], name="auditentry_company_time_idx"),
            # Operators' list across companies.
            models.Index(fields=["timestamp", "id"], name="auditentry_time_idx"),
            # The admin's filters and exact searches within a company, newest first
            # (docs/scaling.md, "Data at scale").
            models.Index(
                fields=["company", "actor", "timestamp"], name="auditentry_company_actor_idx"
            ),
            models.Index(
                fields=["company", "action", "timestamp"], name="auditentry_company_action_idx"
            ),
            models.Index(
                fields=["company", "content_type", "timestamp"], name="auditentry_company_type_idx"
            ),
            models.Index(
                fields=["company", "object_pk", "timestamp"], name="auditentry_company_object_idx"
            ),
        ]


class AccessLogChain(models.Model):
    """The head of one company's access-log hash chain: the last sequence number and
    hash. Writers lock it (``SELECT ... FOR UPDATE``) so concurrent requests extend one
    chain, never fork it; the verifier compares its end with it (a deleted last row).

    ``pruned_seq``/``pruned_hash``: the last row retention dropped with a monthly
    partition (core.partitions, 45 CFR 164.316(b)(2)(i)); the verifier starts after it.
    """

    # The company's id, or "" for rows about no company.
    key = models.CharField(max_length=64, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    # Database defaults too: the writers' raw INSERT of a new head names only its key
    # and last row (core.access._lock_heads).
    pruned_seq = models.BigIntegerField("dropped through sequence", default=0, db_default=0)
    pruned_hash = models.CharField(
        "hash of the last row dropped", max_length=64, blank=True, default="", db_default=""
    )

    def __str__(self) -> str:
        return f"{self.key or 'global'}: {self.last_seq}"


class EmergencyAccess(models.Model):
    """A "break the glass" grant (45 CFR 164.312(a)(2)(ii), emergency access procedure):
    a user narrowed to some locations may see one patient's location-bound records
    (appointments, orders, deliveries, rentals, claims) at every location of the
    company until ``expires_at``, for a stated reason.

    Written by ``core.emergency.grant_emergency_access`` only. ``patient_id`` is kept as
    a plain id, like the access log's ``object_id``: the trail outlives its subject and
    core keeps no foreign key into a domain app.
    """

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient_id = models.UUIDField("patient id")
    reason = models.CharField(max_length=500)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "emergency access"
        verbose_name_plural = "emergency accesses"
        ordering = ["-granted_at", "-id"]
        indexes = [
            # The scoping's look-up: this user's grants still in force.
            models.Index(fields=["user", "company", "expires_at"], name="emergency_user_idx"),
            # The auditor's list of one company.
            models.Index(fields=["company", "granted_at"], name="emergency_company_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("granted_at")),
                name="emergency_expires_after_granted",
                violation_error_message="An emergency access must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access {self.pk} ({self.granted_at:%Y-%m-%d %H:%M})"

    @property
    def in_force(self) -> bool:
        return self.expires_at > timezone.now()
