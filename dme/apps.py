from django.apps import AppConfig


class DmeConfig(AppConfig):
    name = "dme"
    verbose_name = "DME: equipment, stock, orders, deliveries, rentals"
    default_auto_field = "django.db.models.BigAutoField"
