"""Test settings: the real settings plus a small PHI-bearing test app.

The services still come from the environment (DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL), so CI runs the same suite on SQLite and on PostgreSQL + Redis.
"""

import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: F403
from config.settings import CACHES, INSTALLED_APPS, REST_FRAMEWORK

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
ROOT_URLCONF = "tests.testapp.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "ariesone-test"
# Tests must never depend on wall-clock rate limits (the throttle tests set their own).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": "10000/minute",
    "user": "10000/minute",
    "auth": "10000/minute",
}
# Tasks run in-process in tests, whatever the broker; the worker test
# (tests/core/test_celery_worker.py) sends to the real broker on purpose.
CELERY_TASK_ALWAYS_EAGER = True
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_address"] = "10000/minute"
# The suite signs personas in with force_login: MFA enrolment is not required unless a
# test turns it on (tests/accounts/test_mfa.py: override_settings(MFA_ENFORCE=True)).
MFA_ENFORCE = False
# The webhook tests' receiver listens on 127.0.0.1 (production refuses internal addresses;
# tests/core/test_events_webhooks.py turns the rule back on to test it).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
# Notifications (core.notifications): text messages kept in memory, retries without waiting.
SMS_BACKEND = "core.notifications.backends.LocMemSMSBackend"
NOTIFICATION_RETRY_BASE_SECONDS = 0
