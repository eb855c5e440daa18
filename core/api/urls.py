from rest_framework.routers import SimpleRouter

from . import webhooks

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register(
    "webhook-subscriptions", webhooks.WebhookSubscriptionViewSet, basename="webhooksubscription"
)
router.register("webhook-deliveries", webhooks.WebhookDeliveryViewSet, basename="webhookdelivery")
