from django.apps import AppConfig


class HmeConfig(AppConfig):
    name = "hme"
    verbose_name = "HME billing: payers, coverage, claims, payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit  # noqa: F401  (registers the models with auditlog)
        from .readiness import signals as readiness_signals

        readiness_signals.connect()  # refresh the stored billing holds after saves
        from dme import billing_hooks

        from .readiness import order_summaries, panels

        billing_hooks.register_order_summary(order_summaries)  # the orders API's summary
        billing_hooks.register_panel("order", panels.order_panel)  # admin change pages
        billing_hooks.register_panel("delivery", panels.delivery_panel)
