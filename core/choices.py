from django.db import models


class AccessVia(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    PAGE = "page", "Staff page"


class AccessAction(models.TextChoices):
    VIEW = "view", "View"
    LIST = "list", "List"
    EXPORT = "export", "Export"
    # A "break the glass" grant (core.emergency), logged against the patient.
    EMERGENCY = "emergency", "Emergency access"


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class BackupStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # The file was deleted by retention; the row stays as history.
    PRUNED = "pruned", "Pruned"


class BackupTrigger(models.TextChoices):
    COMMAND = "command", "Command (manage.py backup)"
    TASK = "task", "Scheduled task"


class HipaaCategory(models.TextChoices):
    """The HIPAA Security Rule's technical safeguards (45 CFR 164.312 (a)-(e))."""

    ACCESS_CONTROL = "access_control", "Access control (164.312(a))"
    AUDIT = "audit", "Audit controls (164.312(b))"
    INTEGRITY = "integrity", "Integrity (164.312(c))"
    AUTHENTICATION = "authentication", "Person or entity authentication (164.312(d))"
    TRANSMISSION = "transmission", "Transmission security (164.312(e))"


class ComplianceSeverity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class ComplianceKind(models.TextChoices):
    """What happened. Each kind has one HIPAA category and a default severity
    (``core.compliance.KINDS``)."""

    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    LOCKOUT = "lockout", "Account or address locked out"
    LOCKOUT_CLEARED = "lockout_cleared", "Lockout cleared"
    MFA_ENROLLED = "mfa_enrolled", "MFA enrolled"
    MFA_RESET = "mfa_reset", "MFA reset"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    SESSION_REVOKED = "session_revoked", "Session or token revoked"
    MEMBERSHIP_CHANGED = "membership_changed", "Membership added, changed or removed"
    ROLE_CHANGED = "role_changed", "Role changed"
    EMERGENCY_ACCESS = "emergency_access", "Emergency access to a patient"
    CROSS_TENANT_PROBE = "cross_tenant_probe", "Repeated requests for other companies' records"
    PHI_EXPORT = "phi_export", "PHI exported"
    PURGE = "purge", "Records purged"
    KEY_ROTATION = "key_rotation", "Encryption keys rotated"
    BACKUP_FAILED = "backup_failed", "Backup failed"
    BACKUP_VERIFIED = "backup_verified", "Backup verified"
    ACCESS_LOG_TAMPERED = "access_log_tampered", "Access log failed verification"
