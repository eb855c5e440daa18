"""Webhooks for integrators: subscriptions per company, signed deliveries, retries
with exponential backoff, a dead letter and its replay.

Signature (the scheme of Stripe's ``Stripe-Signature``): every POST carries

    AriesOne-Signature: t=1767225600,v1=5257a869e7ec...d8bd (64 hex digits)

where ``v1`` is the hex HMAC-SHA256, under the subscription's secret, of
``"{t}.{raw body}"``. The receiver recomputes it over the raw bytes it received,
compares in constant time, and refuses a ``t`` older than a few minutes (replays).
docs/events.md has a verification example.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import Conflict, ServiceError

from .choices import DeliveryStatus
from .types import EVENT_TYPES

if TYPE_CHECKING:
    from .models import OutboxEvent, WebhookDelivery, WebhookSubscription

SIGNATURE_HEADER = "AriesOne-Signature"
SECRET_PREFIX = "whsec_"


def check_url(url: str) -> str:
    """An http(s) URL with a host, or a ``ServiceError`` on ``url``."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError(
            "The webhook URL must start with http:// or https:// and name a host.",
            code="invalid_url",
            fields={"url": ["Enter an http:// or https:// URL."]},
        )
    if parts.username or parts.password:
        raise ServiceError(
            "The webhook URL must not carry a user name or password.",
            code="invalid_url",
            fields={"url": ["Remove the credentials from the URL."]},
        )
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None  # a host name: its addresses are checked at each delivery
    if literal is not None and _internal(literal):
        raise ServiceError(
            "The webhook URL must be reachable on the internet, not an internal address.",
            code="invalid_url",
            fields={"url": ["Use the receiver's public host name or address."]},
        )
    return url


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (cloud metadata 169.254.169.254), multicast or
    reserved: refused as a webhook destination (server-side request forgery, OWASP
    SSRF prevention) unless ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` is on."""
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return False
    return not address.is_global or address.is_multicast


def blocked_destination(url: str) -> bool:
    """True when the URL's host resolves to an internal address (checked before each
    POST, so a name changed to point inside after subscribing is refused too)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False  # unresolvable: the POST fails as a connection error
    return any(_internal(ipaddress.ip_address(info[4][0])) for info in infos)


def check_event_types(event_types: Any) -> list[str]:
    """Known event types, families (``patient.*``) or ``*``; at least one."""
    if not isinstance(event_types, list) or not event_types:
        raise ServiceError(
            "Name at least one event type.",
            code="invalid_event_types",
            fields={"event_types": ['Give a list of event types, e.g. ["patient.updated"].']},
        )
    prefixes = {name.split(".", 1)[0] for name in EVENT_TYPES}
    for name in event_types:
        known = (
            name == "*"
            or name in EVENT_TYPES
            or (isinstance(name, str) and name.endswith(".*") and name[:-2] in prefixes)
        )
        if not known:
            raise ServiceError(
                f"Unknown event type {str(name)[:64]!r}.",
                code="invalid_event_types",
                fields={"event_types": [f"Unknown event type {str(name)[:64]!r}."]},
            )
    return sorted(set(event_types))


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create_subscription(
    *, company: Any, url: str, event_types: Any, description: str = ""
) -> "WebhookSubscription":
    """A new active subscription with a fresh secret (the caller shows it once)."""
    from .models import WebhookSubscription

    subscription = WebhookSubscription(
        company=company,
        url=check_url(url),
        event_types=check_event_types(event_types),
        description=description,
        secret=new_secret(),
    )
    with transaction.atomic():
        subscription.save()
    return subscription


def update_subscription(
    subscription: "WebhookSubscription", **changes: Any
) -> "WebhookSubscription":
    if "url" in changes:
        changes["url"] = check_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = check_event_types(changes["event_types"])
    for name, value in changes.items():
        setattr(subscription, name, value)
    with transaction.atomic():
        subscription.save()
    return subscription


def rotate_secret(subscription: "WebhookSubscription") -> "WebhookSubscription":
    """A new secret (shown once); the old one stops signing at once."""
    subscription.secret = new_secret()
    with transaction.atomic():
        subscription.save(update_fields=["secret", "updated_at"])
    return subscription


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``AriesOne-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (and our tests): check the signature and its age."""
    try:
        fields = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: base * 2^(attempts-1), capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def dispatch(events: list["OutboxEvent"]) -> int:
    """Queue a delivery of each event to each active subscription of its company
    that wants its type (inside the relay's transaction); returns how many."""
    from .models import WebhookDelivery, WebhookSubscription

    company_ids = {event.company_id for event in events if event.company_id}
    if not company_ids:
        return 0
    subscriptions: dict[Any, list[WebhookSubscription]] = {}
    for subscription in WebhookSubscription.objects.filter(
        company_id__in=company_ids, is_active=True
    ):
        subscriptions.setdefault(subscription.company_id, []).append(subscription)
    now = timezone.now()
    deliveries = [
        WebhookDelivery(
            company_id=subscription.company_id,
            subscription=subscription,
            event=event,
            next_attempt_at=now,
        )
        for event in events
        for subscription in subscriptions.get(event.company_id, [])
        if subscription.wants(event.event_type)
    ]
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return len(deliveries)


@dataclass
class SendResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def _claim_due(limit: int) -> list["WebhookDelivery"]:
    """Take up to ``limit`` due deliveries: lease them (push ``next_attempt_at``
    past the request timeout) so another relay leaves them alone while we POST."""
    from .models import WebhookDelivery

    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3)
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "created_at")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=lease)
    return due


def _post(url: str, payload: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST once: (status code, error or "")."""
    import requests

    try:
        response = requests.post(
            url,
            data=payload,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        # The class only: a requests message may repeat the URL's query string.
        return None, type(exc).__name__
    if not 200 <= response.status_code < 300:
        return response.status_code, f"HTTP {response.status_code}"
    return response.status_code, ""


def attempt(delivery: "WebhookDelivery") -> bool:
    """POST the delivery once and record it; True when the receiver took it (2xx).

    A failure schedules the next try after :func:`backoff`, or dead-letters the
    delivery once ``WEBHOOK_MAX_ATTEMPTS`` tries have failed. Redirects are not
    followed (a 3xx is a failure): the subscription names the final URL.
    """
    from .models import WebhookAttempt, WebhookDelivery

    delivery = WebhookDelivery.objects.select_related("subscription", "event").get(pk=delivery.pk)
    subscription, event = delivery.subscription, delivery.event
    payload = json.dumps(event.envelope(), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "AriesOne-Webhooks/1",
        "AriesOne-Event-Id": str(event.event_id),
        "AriesOne-Event-Type": event.event_type,
        "AriesOne-Delivery-Id": str(delivery.pk),
        SIGNATURE_HEADER: sign(subscription.secret, payload, int(time.time())),
    }
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    if blocked_destination(subscription.url):
        error = "Refused: the host resolves to an internal address"
    else:
        status_code, error = _post(subscription.url, payload, headers)
    duration = int((time.monotonic() - started) * 1000)
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration,
        )
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if not error:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
        elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.DEAD
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
    return not error


def send_due(limit: int = 100) -> SendResult:
    """Attempt every due delivery (up to ``limit``)."""
    result = SendResult()
    for delivery in _claim_due(limit):
        if attempt(delivery):
            result.delivered += 1
        else:
            result.failed += 1
            delivery.refresh_from_db(fields=["status"])
            if delivery.status == DeliveryStatus.DEAD:
                result.dead += 1
    return result


def replay_delivery(delivery: "WebhookDelivery") -> "WebhookDelivery":
    """Send a dead-lettered (or delivered) delivery again, now, with a fresh round of
    retries: the one function the admin action and the API's replay call."""
    from core.locks import lock_row

    with transaction.atomic():
        locked = lock_row(delivery)
        if locked.status == DeliveryStatus.PENDING:
            raise Conflict(
                "This delivery is still being retried; wait for it to finish or fail.",
                code="delivery_pending",
            )
        locked.status = DeliveryStatus.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    attempt(locked)
    locked.refresh_from_db()
    return locked
