from django.db import models


class AccessVia(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    PAGE = "page", "Staff page"


class AccessAction(models.TextChoices):
    VIEW = "view", "View"
    LIST = "list", "List"
    EXPORT = "export", "Export"


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
