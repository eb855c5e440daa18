"""What every app's models stand on: ids, timestamps, authorship, tenancy, PHI lookups.

Also the records core keeps itself: the PHI access log, stored Idempotency-Key
responses and the history of database backups.
"""

import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.db.models.lookups import Exact
from django.utils import timezone

from .choices import (
    AccessAction,
    AccessVia,
    BackupStatus,
    BackupTrigger,
    ComplianceKind,
    ComplianceSeverity,
    HipaaCategory,
    IdempotencyState,
)
from .context import get_actor
from .phi import EncryptedTextField, blind_index_fields
from .tenancy import get_active_membership

_M = TypeVar("_M", bound=models.Model)


def compiled_sql(queryset: models.QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """The queryset's SQL and parameters as its own database would run them, to be
    placed inside a hand-written query (the name search's page plan, the admin's skip
    scans). Raises ``EmptyResultSet`` when no row can match (``.none()``)."""
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)


class BaseQuerySet(models.QuerySet[_M]):
    """QuerySet methods every model gets."""

    def filter_blind(self, field: str, value: Any) -> Self:
        """Exact match on an encrypted field through its blind index.

        ``Patient.objects.filter_blind("dob", "1950-01-02")``.
        """
        index = blind_index_fields(self.model).get(field)
        if index is None:
            raise FieldError(f"{self.model.__name__}.{field} has no blind index.")
        digest = index.compute(value)
        if digest is None:
            return self.none()
        return self.filter(**{index.name: digest})


class BaseModel(models.Model):
    """UUID key, timestamps and who created and last changed the row.

    ``created_by``/``updated_by`` come from the acting user (``core.context``): the
    request's user for admin, pages and API, the operator for commands, None for jobs.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="created by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="updated by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = BaseQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        actor = get_actor()
        if actor is not None:
            if self._state.adding and self.created_by_id is None:
                self.created_by = actor
            self.updated_by = actor
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "updated_by", "updated_at"}
        super().save(*args, **kwargs)


def planning_condition(queryset: models.QuerySet[Any], method: str) -> Any:
    """The one top-level condition of the queryset's ``WHERE`` that plans a slice or a
    bounded count of its rows itself (it has ``method``: clinical's
    ``LinkedPatientSearch``), or None."""
    where = queryset.query.where
    if where.negated or where.connector != "AND":
        return None
    found = [
        child.lhs
        for child in where.children
        if isinstance(child, Exact) and child.rhs is True and hasattr(child.lhs, method)
    ]
    return found[0] if len(found) == 1 else None


class TenantQuerySet(BaseQuerySet[_M]):
    """Rows of one company. ``for_user`` is the one place that scopes by tenant."""

    def __getitem__(self, k: Any) -> Any:
        # A page of a list searched by patient name reads about a page of rows
        # (clinical.models.linked_search); everything else as Django does.
        if isinstance(k, slice) and k.stop is not None and self._result_cache is None:
            planner = planning_condition(self, "plan_slice")
            if planner is not None:
                planned = planner.plan_slice(self, k.stop)
                if planned is not None:
                    return planned[k]
        return super().__getitem__(k)

    def for_company(self, company: Any) -> Self:
        return self.filter(company=company)

    def for_user(self, user: Any) -> Self:
        """What ``user`` may see: their active company's rows (all, for operators).

        Location-bound models (``location_field`` set) are narrowed further to the
        membership's locations when the membership names any.
        """
        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        membership = get_active_membership(user)
        if membership is None:
            return self.none()
        queryset = self.filter(company_id=membership.company_id)
        location_field = getattr(self.model, "location_field", None)
        location_ids = membership.location_ids
        if location_field and location_ids:
            scope = models.Q(**{f"{location_field}__in": location_ids})
            # Emergency access (core.emergency): a grant in force shows the patient's
            # records at every location.
            patient_field = getattr(self.model, "patient_field", None)
            if patient_field:
                from .emergency import granted_patient_ids

                granted = granted_patient_ids(user, membership.company_id)
                if granted:
                    scope |= models.Q(**{f"{patient_field}__in": granted})
            queryset = queryset.filter(scope)
        return queryset


class TenantModel(BaseModel):
    """A record that belongs to one company (the tenant)."""

    company = models.ForeignKey(
        "accounts.Company",
        verbose_name="company",
        on_delete=models.PROTECT,
        related_name="+",
    )

    # Set to the name of a Location foreign key to scope rows by membership locations.
    location_field: str | None = None
    # Set on location-bound, patient-linked models to the path of their patient's id:
    # an emergency-access grant for that patient lifts the location narrowing.
    patient_field: str | None = None
    # True for patient-linked models: every view through admin and API is logged.
    access_logged: bool = False
    # Row-level security (core.rls): the name of a user foreign key whose rows are also
    # visible to that user whatever the company (accounts.Membership), or None.
    rls_user_field: str | None = None

    # django-stubs makes BaseModel.objects a ClassVar, and the class as_manager() builds
    # cannot be named in a ClassVar annotation here (typeddjango/django-stubs#1713).
    objects = TenantQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        abstract = True

    def clean_fields(self, exclude: Any = None) -> None:
        """Django's, except that a reference to a cached row of the company (a catalogue
        item, a payer: ``core.reference``) is checked in the cache, not by one query
        per field (an order's lines, a coverage's payer)."""
        excluded = set(exclude or ())
        if self.company_id:
            from .reference import known_references

            excluded |= known_references(self, excluded)
        super().clean_fields(exclude=excluded)


class CompanyNumberCounter(models.Model):
    """The last human-readable number (patient P-…, order O-…, claim C-…) given out in
    a company. Each kind of number has its own concrete table.

    Drawn with ``UPDATE ... SET last_number = last_number + 1`` inside the transaction
    that creates the record: the row stays locked until that transaction ends, so two
    concurrent creations never draw the same number, and a rolled-back creation gives
    its number back.
    """

    company = models.OneToOneField(
        "accounts.Company", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    last_number = models.PositiveBigIntegerField(default=0)

    if TYPE_CHECKING:
        # Each concrete counter gets Django's default manager; the stubs give abstract
        # models none (typeddjango/django-stubs#2514).
        objects: ClassVar[models.Manager[Self]]

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.company_id}: {self.last_number}"

    @classmethod
    def next_number(cls, company_id: Any) -> int:
        """Draw the next number; call inside a transaction."""
        if not cls.objects.filter(pk=company_id).update(last_number=F("last_number") + 1):
            try:
                with transaction.atomic():
                    cls.objects.create(pk=company_id, last_number=1)
            except IntegrityError:
                # Another transaction created the row first: increment it (we now wait
                # on its lock, which is the point).
                cls.objects.filter(pk=company_id).update(last_number=F("last_number") + 1)
        number: int = cls.objects.filter(pk=company_id).values_list("last_number", flat=True).get()
        return number


class AccessLog(models.Model):
    """One look at a patient-linked record: who, which record, when, from where, how.

    HIPAA asks for it (45 CFR 164.312(b)). Rows are written by ``record_access`` and
    never changed; the admin shows them read-only to Auditors.
    """

    id = models.BigAutoField(primary_key=True)
    # Set by record_access before hashing (the hash covers it).
    timestamp = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    # Kept as text too, so the trail survives the user's deletion.
    user_email = models.CharField(max_length=254, blank=True)
    company = models.ForeignKey(
        "accounts.Company", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    via = models.CharField(max_length=8, choices=AccessVia.choices)
    action = models.CharField(max_length=16, choices=AccessAction.choices)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    # The data elements shown (field names, never values) and the purpose, when given.
    fields = models.JSONField(default=list, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    # Tamper evidence (core.access): the row's place in its company's chain and the
    # HMAC-SHA256 of its canonical fields and the previous row's hash.
    seq = models.BigIntegerField("sequence", null=True, blank=True)
    hash = models.CharField("chain hash", max_length=64, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            # One company's chain in order: written by record_access, walked by
            # verify_access_log.
            models.Index(fields=["company", "seq"], name="accesslog_chain_idx"),
            # The auditor's list of one company, newest first.
            models.Index(fields=["company", "timestamp"], name="accesslog_company_time_idx"),
            # The auditor's list: newest first, cursor-paginated, date-bounded filters.
            models.Index(fields=["timestamp", "id"], name="accesslog_time_idx"),
            # "Who looked at this patient?"
            models.Index(fields=["content_type", "object_id"], name="accesslog_object_idx"),
            # "What did this user look at?"
            models.Index(fields=["user", "timestamp"], name="accesslog_user_idx"),
            # The admin at tens of millions of rows (docs/scaling.md, "Data at scale"):
            # one index per filter and search it offers, each within the company and
            # newest first, so a page reads its 50 rows and stops.
            models.Index(
                fields=["company", "user", "timestamp"], name="accesslog_company_user_idx"
            ),
            models.Index(fields=["company", "via", "timestamp"], name="accesslog_company_via_idx"),
            models.Index(
                fields=["company", "action", "timestamp"], name="accesslog_company_action_idx"
            ),
            models.Index(
                fields=["company", "content_type", "timestamp"], name="accesslog_company_type_idx"
            ),
            models.Index(
                fields=["company", "object_id", "timestamp"], name="accesslog_company_object_idx"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.user_email or 'system'} {self.action} {self.content_type_id}:{self.object_id}"
        )


class IdempotencyKey(models.Model):
    """The stored first response to a request made with an ``Idempotency-Key`` header."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The body may hold PHI (a patient, a claim): encrypted like any PHI column.
    response_body = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class Backup(models.Model):
    """One run of the database backup (``manage.py backup`` or the daily task).

    Written by ``core.backups``: a row is created as *running* before the dump starts and
    finished as *succeeded* or *failed*; retention later marks it *pruned* when its file
    is deleted, and keeps the row as history. The primary key is the backup id sealed in
    the file's header and written in its manifest. Operators' records: not tenant-scoped,
    and never any PHI (the error is a one-line message about files, keys and tables).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    started_at = models.DateTimeField("started")
    finished_at = models.DateTimeField("finished", null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=BackupStatus.choices, default=BackupStatus.RUNNING
    )
    vendor = models.CharField("database", max_length=16)
    file_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField("size (bytes)", null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    duration = models.DurationField(null=True, blank=True)
    row_count = models.BigIntegerField("rows", null=True, blank=True)
    table_count = models.PositiveIntegerField("tables", null=True, blank=True)
    key_fingerprint = models.CharField(max_length=16, blank=True)
    app_version = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    trigger = models.CharField(max_length=16, choices=BackupTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="requested by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # "user@host" of the shell that ran the command, or the worker's host for the task.
    run_by = models.CharField("run by", max_length=200, blank=True)
    verified_at = models.DateTimeField("last verified", null=True, blank=True)
    pruned_at = models.DateTimeField("pruned", null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The admin list (newest first) and "the newest successful backup".
            models.Index(fields=["status", "started_at"], name="backup_status_started_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True)
                | models.Q(finished_at__gte=models.F("started_at")),
                name="backup_finished_after_started",
                violation_error_message="A backup cannot finish before it started.",
            ),
            models.CheckConstraint(
                condition=models.Q(size_bytes__isnull=True) | models.Q(size_bytes__gte=0),
                name="backup_size_not_negative",
                violation_error_message="A backup's size cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name or f"{self.vendor} backup {self.started_at:%Y-%m-%d %H:%M}"


# Data-quality runs live in core.quality; importing them here registers them with core.
# The company-scoped audit trail, the access-log chain heads, emergency-access grants.
from .audit_models import AccessLogChain, AuditEntry, EmergencyAccess  # noqa: E402
from .quality.models import DataQualityFinding, DataQualityRun  # noqa: E402

__all__ = [
    "AccessLog",
    "AccessLogChain",
    "AuditEntry",
    "Backup",
    "BaseModel",
    "BaseQuerySet",
    "CompanyNumberCounter",
    "DataQualityFinding",
    "DataQualityRun",
    "EmergencyAccess",
    "IdempotencyKey",
    "TenantModel",
    "TenantQuerySet",
]


class ComplianceEvent(models.Model):
    """A security or compliance event (seed 002's compliance log): lockouts, MFA, role and
    membership changes, emergency access, key rotations, backups, exports of PHI, purges.

    Written only by ``core.compliance.record_event``; never changed. Kept 6 years
    (45 CFR 164.316(b)(2)(i)). ``detail`` holds ids, codes and counts, never PHI.
    """

    id = models.BigAutoField(primary_key=True)
    timestamp = models.DateTimeField(default=timezone.now)
    company = models.ForeignKey(
        "accounts.Company", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=ComplianceKind.choices)
    category = models.CharField("HIPAA category", max_length=16, choices=HipaaCategory.choices)
    severity = models.CharField(max_length=8, choices=ComplianceSeverity.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text too, so the trail survives the user's deletion.
    actor_email = models.CharField(max_length=254, blank=True)
    target_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            # The auditor's list of one company, newest first.
            models.Index(fields=["company", "timestamp"], name="compliance_company_time_idx"),
            # Retention purges and operators' date-bounded lists.
            models.Index(fields=["timestamp", "id"], name="compliance_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.timestamp:%Y-%m-%d %H:%M})"


# The event outbox and webhooks (core.events): importing them registers them with core.
from .events.models import (  # noqa: E402
    AggregateSequence,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

__all__ += [
    "AggregateSequence",
    "OutboxEvent",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]

# Notifications (core.notifications): one row per e-mail or SMS sent.
from .notifications.models import Notification  # noqa: E402

__all__ += ["Notification"]
