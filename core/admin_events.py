"""The event outbox and the webhooks in the admin (docs/events.md).

- Outbox events: operators only (every company's rows), read-only, to see the
  backlog, the publish attempts and the last broker error.
- Webhook subscriptions: a company's administrators add and edit them; the signing
  secret is shown once, in the message after saving a new one (or after "rotate").
- Webhook deliveries: read-only with their attempts; the status filter shows the
  dead letter, and "Replay" sends the selected ones again (the same service as the
  API's ``POST /webhook-deliveries/{id}/replay/``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from .admin import ReadOnlyAdminMixin, TenantAdmin, run_service
from .admin_operators import OperatorOnlyMixin
from .admin_types import ModelAdminBase, TabularInlineBase
from .events import webhooks
from .events.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from .exceptions import ServiceError


@admin.register(OutboxEvent)
class OutboxEventAdmin(OperatorOnlyMixin, ReadOnlyAdminMixin, ModelAdminBase):
    list_display = [
        "id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "sequence",
        "occurred_at",
        "published_at",
        "attempts",
    ]
    list_filter = ["event_type", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["=event_id", "=aggregate_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


class SubscriptionForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    event_types = forms.JSONField(
        help_text='A list: ["patient.updated", "claim.*"] or ["*"] for every event.'
    )

    class Meta:
        model = WebhookSubscription
        fields = ["url", "event_types", "description", "is_active"]

    def clean_url(self) -> str:
        try:
            return webhooks.check_url(self.cleaned_data["url"])
        except ServiceError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_event_types(self) -> list[str]:
        try:
            return webhooks.check_event_types(self.cleaned_data["event_types"])
        except ServiceError as error:
            raise forms.ValidationError(str(error)) from None


def _show_secret(request: HttpRequest, subscription: WebhookSubscription) -> None:
    messages.warning(
        request,
        f"Signing secret for {subscription.url}: {subscription.secret} "
        "(shown only now: copy it to the receiving system).",
    )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(TenantAdmin):
    form = SubscriptionForm
    list_display = ["url", "description", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url"]
    actions = ["rotate_secrets"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if change:
            webhooks.update_subscription(obj, **data)
            return
        self.assign_company(request, obj)
        created = webhooks.create_subscription(
            company=obj.company,
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
        )
        if not data["is_active"]:
            webhooks.update_subscription(created, is_active=False)
        obj.pk, obj._state.adding = created.pk, False
        _show_secret(request, created)

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secrets(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            _show_secret(request, webhooks.rotate_secret(subscription))


class AttemptInline(TabularInlineBase):
    model = WebhookAttempt
    fields = ["attempted_at", "status_code", "error", "duration_ms"]
    readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = [
        "event_type",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
    ]
    list_filter = ["status", "subscription"]
    list_select_related = ["event", "subscription"]
    inlines = [AttemptInline]
    actions = ["replay"]

    @admin.display(description="event", ordering="event__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return f"{obj.event.event_type} #{obj.event.sequence}"

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.change_webhookdelivery")

    @admin.action(description="Replay (send again now)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        run_service(self, request, queryset, webhooks.replay_delivery, "replayed")
