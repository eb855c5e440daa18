from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    # Every retry failed: kept for an operator to replay (admin action or API).
    DEAD = "dead", "Dead letter"
