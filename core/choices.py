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
