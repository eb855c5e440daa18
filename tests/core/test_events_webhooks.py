"""Webhooks: subscriptions through the API and the admin (scoped, secret shown once),
signed deliveries to a real HTTP receiver on 127.0.0.1, retries, dead letter, replay."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from accounts.choices import Role
from core.events import emit, webhooks
from core.events.choices import DeliveryStatus
from core.events.relay import relay_batch
from core.exceptions import ServiceError
from core.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.admin_base import TenantAdminTests
from tests.clinical.factories import PatientFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server on 127.0.0.1 (a thread) that records what it gets and answers
    with ``status``."""

    def __init__(self):
        self.status = 200
        self.received = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                owner.received.append((dict(self.headers), self.rfile.read(length)))
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/aries"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def subscribe(company, url, types=("patient.*",)):
    return webhooks.create_subscription(company=company, url=url, event_types=list(types))


def patient_event(company):
    patient = PatientFactory(company=company)
    return emit("patient.updated", patient, {"fields": ["city"]}, company=company)


# The API ------------------------------------------------------------------------------


def test_it_creates_a_subscription_and_shows_the_secret_once(admin_user, api_client_for, receiver):
    client = api_client_for(admin_user)
    url = reverse("api:webhooksubscription-list")
    response = client.post(
        url, {"url": receiver.url, "event_types": ["claim.*", "patient.created"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret == secret
    assert subscription.event_types == ["claim.*", "patient.created"]
    detail = client.get(reverse("api:webhooksubscription-detail", args=[subscription.pk]))
    assert detail.status_code == 200
    assert "secret" not in detail.json()
    assert "secret" not in client.get(url).json()["results"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.test/in", "event_types": ["*"]}, "url"),
        ({"url": "file:///etc/passwd", "event_types": ["*"]}, "url"),
        ({"url": "https://example.test/in", "event_types": ["patient.exploded"]}, "event_types"),
        ({"url": "https://example.test/in", "event_types": []}, "event_types"),
    ],
)
def test_it_refuses_bad_subscriptions(admin_user, api_client_for, body, field):
    response = api_client_for(admin_user).post(
        reverse("api:webhooksubscription-list"), body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


def test_another_companys_subscription_and_deliveries_are_404(
    company, outsider, api_client_for, receiver
):
    subscription = subscribe(company, receiver.url)
    relay_batch(housekeeping=False) if patient_event(company) else None
    delivery = WebhookDelivery.objects.get()
    client = api_client_for(outsider)
    for name, pk in [
        ("webhooksubscription-detail", subscription.pk),
        ("webhookdelivery-detail", delivery.pk),
    ]:
        assert client.get(reverse(f"api:{name}", args=[pk])).status_code == 404
    assert client.post(reverse("api:webhookdelivery-replay", args=[delivery.pk])).status_code == 404
    assert (
        client.patch(
            reverse("api:webhooksubscription-detail", args=[subscription.pk]),
            {"is_active": False},
            format="json",
        ).status_code
        == 404
    )
    assert client.get(reverse("api:webhooksubscription-list")).json()["results"] == []
    assert client.get(reverse("api:webhookdelivery-list")).json()["results"] == []


def test_rotating_shows_a_new_secret(company, admin_user, api_client_for, receiver):
    subscription = subscribe(company, receiver.url)
    response = api_client_for(admin_user).post(
        reverse("api:webhooksubscription-rotate-secret", args=[subscription.pk])
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert response.json()["secret"] == subscription.secret


def test_the_delivery_list_query_count_is_flat(
    company, admin_user, api_client_for, receiver, django_assert_max_num_queries
):
    subscribe(company, receiver.url)
    client = api_client_for(admin_user)
    for _ in range(2):
        patient_event(company)
    relay_batch(housekeeping=False)
    with django_assert_max_num_queries(12) as few:
        assert len(client.get(reverse("api:webhookdelivery-list")).json()["results"]) == 2
    for _ in range(10):
        patient_event(company)
    relay_batch(housekeeping=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(reverse("api:webhookdelivery-list")).json()["results"]) == 12


# Delivery ----------------------------------------------------------------------------


def test_the_receiver_verifies_the_signature(company, receiver):
    subscription = subscribe(company, receiver.url)
    event = patient_event(company)
    other = webhooks.create_subscription(company=company, url=receiver.url, event_types=["claim.*"])
    result = relay_batch(housekeeping=False)
    assert (result.dispatched, result.delivered) == (1, 1)
    headers, body = receiver.received[0]
    assert webhooks.verify(subscription.secret, body, headers["AriesOne-Signature"])
    assert not webhooks.verify(other.secret, body, headers["AriesOne-Signature"])
    assert not webhooks.verify(subscription.secret, body + b" ", headers["AriesOne-Signature"])
    assert json.loads(body)["id"] == str(event.event_id)
    assert headers["AriesOne-Event-Id"] == str(event.event_id)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert WebhookAttempt.objects.get().status_code == 200
    # Nothing else is due: the next round sends nothing.
    assert relay_batch(housekeeping=False).delivered == 0
    assert len(receiver.received) == 1


def test_an_old_signature_is_refused():
    body = b"{}"
    header = webhooks.sign("whsec_x", body, 1_000_000_000)
    assert not webhooks.verify("whsec_x", body, header)
    assert not webhooks.verify("whsec_x", body, "garbage")


def test_backoff_doubles_up_to_its_cap(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS = 30, 3600
    waits = [webhooks.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_failing_receiver_ends_in_dead_letter_then_replays(
    company, admin_user, api_client_for, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    subscribe(company, receiver.url)
    patient_event(company)
    receiver.status = 500
    relay_batch(housekeeping=False)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    # Not due before its backoff has passed.
    assert relay_batch(housekeeping=False).delivery_failures == 0
    for expected_wait in (60, 120):
        delivery.refresh_from_db()
        previous = WebhookAttempt.objects.filter(delivery=delivery).latest("id").attempted_at
        assert delivery.next_attempt_at - previous == timedelta(seconds=expected_wait)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=previous)
        relay_batch(housekeeping=False)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3
    assert len(receiver.received) == 3
    client = api_client_for(admin_user)
    dead = client.get(reverse("api:webhookdelivery-list"), {"status": "dead"}).json()
    assert [row["id"] for row in dead["results"]] == [str(delivery.pk)]
    receiver.status = 204
    response = client.post(reverse("api:webhookdelivery-replay", args=[delivery.pk]))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == DeliveryStatus.DELIVERED
    assert len(receiver.received) == 4
    # The same event (same id) each time.
    ids = {json.loads(body)["id"] for _, body in receiver.received}
    assert ids == {str(OutboxEvent.objects.get().event_id)}


def test_replaying_a_pending_delivery_is_a_conflict(company, admin_user, api_client_for):
    subscribe(company, "http://127.0.0.1:9/never")
    patient_event(company)
    from core.events.relay import dispatch_webhooks

    dispatch_webhooks(10)
    delivery = WebhookDelivery.objects.get()
    response = api_client_for(admin_user).post(
        reverse("api:webhookdelivery-replay", args=[delivery.pk])
    )
    assert response.status_code == 409


def test_an_unreachable_receiver_is_a_failed_attempt(company, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    subscribe(company, "http://127.0.0.1:9/closed-port")
    patient_event(company)
    result = relay_batch(housekeeping=False)
    assert result.delivery_failures == 1
    assert WebhookAttempt.objects.get().error == "ConnectionError"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
    ],
)
def test_an_internal_address_is_refused_as_a_subscription(company, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ServiceError) as refused:
        subscribe(company, url)
    assert refused.value.code == "invalid_url"
    assert not WebhookSubscription.objects.exists()


def test_a_name_that_resolves_inside_is_refused_before_the_post(company, settings, receiver):
    subscribe(company, receiver.url.replace("127.0.0.1", "localhost"))
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    patient_event(company)
    result = relay_batch(housekeeping=False)
    assert result.delivery_failures == 1
    assert receiver.received == []
    assert "internal address" in WebhookAttempt.objects.get().error


def test_inactive_subscriptions_get_nothing(company, receiver):
    subscription = subscribe(company, receiver.url)
    webhooks.update_subscription(subscription, is_active=False)
    patient_event(company)
    assert relay_batch(housekeeping=False).dispatched == 0


# The admin ---------------------------------------------------------------------------


class TestWebhookSubscriptionAdmin(TenantAdminTests):
    model = WebhookSubscription

    def make(self, company, **fields):
        return webhooks.create_subscription(
            company=company, url="https://hooks.example.test/in", event_types=["*"]
        )


def make_delivery(company):
    subscription = webhooks.create_subscription(
        company=company, url="https://hooks.example.test/in", event_types=["*"]
    )
    event = patient_event(company)
    return WebhookDelivery.objects.create(
        company=company, subscription=subscription, event=event, status=DeliveryStatus.DEAD
    )


class TestWebhookDeliveryAdmin(TenantAdminTests):
    model = WebhookDelivery
    change_roles = ()
    add_roles = ()

    def make(self, company, **fields):
        return make_delivery(company)


def test_the_admin_adds_a_subscription_and_shows_its_secret(client, admin_user, receiver):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:core_webhooksubscription_add"),
        {
            "url": receiver.url,
            "event_types": '["patient.*"]',
            "description": "EHR",
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    shown = [str(message) for message in response.context["messages"]]
    assert any(subscription.secret in message for message in shown)
    refused = client.post(
        reverse("admin:core_webhooksubscription_add"),
        {"url": "gopher://x.test/", "event_types": '["*"]'},
    )
    assert refused.status_code == 200
    assert "url" in refused.context["adminform"].form.errors


def test_the_admin_replays_dead_letters(client, company, admin_user, receiver):
    delivery = make_delivery(company)
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(url=receiver.url)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:core_webhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.received) == 1


def test_only_replayers_see_the_replay_action(client, company, personas):
    make_delivery(company)
    client.force_login(personas[Role.AUDITOR])
    response = client.get(reverse("admin:core_webhookdelivery_changelist"))
    assert response.status_code == 200
    # Its only action is the replay: no action form at all.
    assert response.context["action_form"] is None


def test_the_outbox_admin_is_for_operators(client, admin_user, company, django_user_model):
    patient_event(company)
    url = reverse("admin:core_outboxevent_changelist")
    client.force_login(admin_user)
    assert client.get(url).status_code == 403
    operator = django_user_model.objects.create_superuser(email="op@ops.test", password="x")
    client.force_login(operator)
    response = client.get(url, {"published_at__isnull": "True"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1
