"""The integrators' webhook endpoints: subscriptions (the secret shown once) and
their deliveries, with the dead letter's replay (docs/events.md)."""

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.filters import TenantFilterSet
from core.api.permissions import ActionPermission
from core.api.serializers import TenantModelSerializer
from core.api.views import TenantModelViewSet, TenantReadOnlyViewSet
from core.events import webhooks
from core.events.choices import DeliveryStatus
from core.events.models import WebhookDelivery, WebhookSubscription
from core.exceptions import ServiceError


def _field_error(error: ServiceError, name: str) -> serializers.ValidationError:
    return serializers.ValidationError((error.fields or {}).get(name) or [str(error)])


class WebhookSubscriptionSerializer(TenantModelSerializer):
    """A subscription. ``secret`` appears once: in the response that created it (or
    that rotated it); afterwards it is never shown again."""

    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        allow_empty=False,
        help_text='Event types ("claim.paid"), families ("claim.*") or "*".',
    )
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret: only in the creation (and rotation) response.",
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "is_active",
            "secret",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            return webhooks.check_url(value)
        except ServiceError as error:
            raise _field_error(error, "url") from None

    def validate_event_types(self, value: list[str]) -> list[str]:
        try:
            return webhooks.check_event_types(value)
        except ServiceError as error:
            raise _field_error(error, "event_types") from None

    def create(self, validated_data: dict[str, Any]) -> WebhookSubscription:
        subscription = webhooks.create_subscription(
            company=validated_data["company"],
            url=validated_data["url"],
            event_types=validated_data["event_types"],
            description=validated_data.get("description", ""),
        )
        if "is_active" in validated_data:
            webhooks.update_subscription(subscription, is_active=validated_data["is_active"])
        subscription.show_secret = True  # type: ignore[attr-defined]
        return subscription

    def update(
        self, instance: WebhookSubscription, validated_data: dict[str, Any]
    ) -> WebhookSubscription:
        return webhooks.update_subscription(instance, **validated_data)

    def to_representation(self, instance: WebhookSubscription) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not getattr(instance, "show_secret", False):
            data.pop("secret", None)
        return data


class WebhookSubscriptionViewSet(TenantModelViewSet):
    """Where your company's events are POSTed, signed with the subscription's secret
    (``AriesOne-Signature``). Another company's subscription is a 404."""

    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    filterset_fields = ["is_active"]
    permission_classes = [ActionPermission]
    action_permissions = {"rotate_secret": ["core.change_webhooksubscription"]}

    @extend_schema(request=None, responses=WebhookSubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret, shown in this response only; the old one stops now."""
        subscription = webhooks.rotate_secret(self.get_object())
        subscription.show_secret = True  # type: ignore[attr-defined]
        return Response(self.get_serializer(subscription).data)


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class WebhookDeliveryFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "subscription"]


class WebhookDeliveryViewSet(TenantReadOnlyViewSet):
    """Every event owed to your subscriptions: pending (retried with exponential
    backoff), delivered, or dead (every retry failed; ``replay`` sends it again)."""

    queryset = WebhookDelivery.objects.select_related("event")
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    permission_classes = [ActionPermission]
    action_permissions = {"replay": ["core.change_webhookdelivery"]}

    @extend_schema(request=None, responses=WebhookDeliverySerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Send a dead-lettered or delivered event again now, with a fresh round of
        retries (409 while it is still being retried)."""
        delivery = webhooks.replay_delivery(self.get_object())
        return Response(self.get_serializer(self.get_queryset().get(pk=delivery.pk)).data)
