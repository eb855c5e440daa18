"""/metrics: scraped by an allowed address or the token, refused to anyone else."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from core import metrics
from core.choices import BackupStatus, BackupTrigger
from core.models import Backup

pytestmark = pytest.mark.django_db

UNKNOWN = "203.0.113.9"


def scrape(client, **extra):
    return client.get("/metrics", **extra)


@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8"], METRICS_TOKEN="")
def test_an_unknown_caller_is_refused(client):
    response = scrape(client, REMOTE_ADDR=UNKNOWN)
    assert response.status_code == 404
    assert b"ariesone_" not in response.content


@override_settings(METRICS_ALLOWED_IPS=[], METRICS_TOKEN="s3cret-token-for-prometheus")
def test_a_wrong_token_is_refused(client):
    wrong = scrape(client, REMOTE_ADDR=UNKNOWN, HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 404
    empty = scrape(client, REMOTE_ADDR=UNKNOWN, HTTP_AUTHORIZATION="Bearer ")
    assert empty.status_code == 404


@override_settings(METRICS_ALLOWED_IPS=[], METRICS_TOKEN="")
def test_no_token_configured_means_no_token_works(client):
    assert scrape(client, REMOTE_ADDR=UNKNOWN, HTTP_AUTHORIZATION="Bearer ").status_code == 404


@override_settings(METRICS_ALLOWED_IPS=[], METRICS_TOKEN="s3cret-token-for-prometheus")
def test_the_token_opens_it(client):
    response = scrape(
        client, REMOTE_ADDR=UNKNOWN, HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8"], METRICS_TOKEN="")
def test_an_allowed_network_scrapes_every_family(client, company, api_client_for):
    from accounts.choices import Role
    from tests.factories import member

    user = member(company, Role.BILLING, email="metrics-billing@a.test")
    api = api_client_for(user, company)
    assert api.get("/api/v1/payers/").status_code == 200
    assert api.get("/api/v1/payers/").status_code == 200
    Backup.objects.create(
        started_at=timezone.now() - datetime.timedelta(hours=2),
        finished_at=timezone.now() - datetime.timedelta(hours=1),
        status=BackupStatus.SUCCEEDED,
        vendor="sqlite",
        trigger=BackupTrigger.COMMAND,
    )
    text = scrape(client, REMOTE_ADDR="10.1.2.3").content.decode()
    # Requests by route name and status, never the raw path.
    assert 'ariesone_http_requests_total{method="GET",status="200",view="api:payer-list"}' in text
    assert "ariesone_http_request_duration_seconds_bucket" in text
    assert "/api/v1/payers/" not in text
    assert 'ariesone_db_queries_total{alias="default"}' in text
    assert "ariesone_db_query_duration_seconds_total" in text
    assert 'ariesone_cache_requests_total{kind="access",result="hit"}' in text
    assert 'ariesone_cache_requests_total{kind="access",result="miss"}' in text
    assert "ariesone_outbox_unpublished_events" in text
    assert "ariesone_outbox_oldest_unpublished_age_seconds" in text
    age = next(
        line
        for line in text.splitlines()
        if line.startswith("ariesone_backup_newest_good_age_seconds ")
    )
    assert 3500 < float(age.split()[1]) < 3700 * 2
    # Eager tasks (no broker): no queue gauge rather than a made-up zero.
    assert "ariesone_celery_queue_length" not in text


def test_the_route_pattern_labels_a_view_without_a_name(rf):
    class Match:
        view_name = ""
        route = "api/v1/things/<uuid:pk>/"

    request = rf.get("/api/v1/things/0f5f.../")
    request.resolver_match = Match()
    assert metrics.view_label(request) == "api/v1/things/<uuid:pk>/"
    assert metrics.view_label(rf.get("/nowhere/")) == "<unresolved>"


def test_celery_task_outcomes_are_counted():
    from celery import signals

    class Task:
        name = "core.tasks.example"

    before = metrics.CELERY_TASKS.labels(task="core.tasks.example", outcome="failure")._value.get()
    signals.task_failure.send(sender=Task())
    signals.task_success.send(sender=Task(), result=None)
    after = metrics.CELERY_TASKS.labels(task="core.tasks.example", outcome="failure")._value.get()
    assert after == before + 1
    assert metrics.CELERY_TASKS.labels(task="core.tasks.example", outcome="success")._value.get()


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_an_unreachable_broker_skips_the_queue_gauge():
    assert metrics.celery_queue_depths() is None


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="amqp://guest@127.0.0.1//")
def test_a_non_redis_broker_has_no_queue_gauge():
    assert metrics.celery_queue_depths() is None


def test_redis_queue_depth(settings):
    import os

    import redis

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs Redis (set REDIS_URL)")
    client = redis.Redis.from_url(url)
    queue = "ariesone-test-metrics-queue"
    client.delete(queue)
    client.rpush(queue, "a", "b", "c")
    try:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.CELERY_BROKER_URL = url
        settings.CELERY_METRICS_QUEUES = [queue]
        depths = metrics.celery_queue_depths()
    finally:
        client.delete(queue)
    assert depths is not None
    assert depths[queue] == 3
