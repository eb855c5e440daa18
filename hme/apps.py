from django.apps import AppConfig


class HmeConfig(AppConfig):
    name = "hme"
    verbose_name = "HME billing: payers, coverage, claims, payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            audit,  # noqa: F401  (registers the models with auditlog)
            reference,  # noqa: F401  (the cached fees and payers, their invalidation)
        )
        from .readiness import signals as readiness_signals

        readiness_signals.connect()  # refresh the stored billing holds after saves
        from dme import billing_hooks

        from .readiness import panels
        from .readiness.holds import stored_order_summaries

        # The orders API's summary: the stored holds (one query a page).
        billing_hooks.register_order_summary(stored_order_summaries)
        billing_hooks.register_panel("order", panels.order_panel)  # admin change pages
        billing_hooks.register_panel("delivery", panels.delivery_panel)
        from . import queues

        queues.register()  # the dashboards' holds and clearinghouse cards (core.queues)
