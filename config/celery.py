"""The one Celery app. Settings come from Django's, under the CELERY_ prefix.

Queues per kind of work (docs/scaling.md, "Workers"): a slow 837P exchange or an OCR
batch never holds up billing or the event relay. Every task is acknowledged late
(``CELERY_TASK_ACKS_LATE``: a worker that dies mid-task leaves it to be run again), so
every task is safe to run twice (the table in docs/scaling.md says why, task by task).
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

QUEUES = ("billing", "edi", "documents", "notifications", "default")

# Task name -> queue; a task not named here runs on "default".
ROUTES = {
    "hme.tasks.bill_rental_months": "billing",
    "hme.tasks.refresh_coverage_status": "billing",
    "hme.tasks.expire_authorizations": "billing",
    "hme.tasks.refresh_billing_holds": "billing",
    "hme.tasks.patient_statements": "billing",
    "hme.tasks.exchange_edi": "edi",
    "documents.tasks.process_fax_inbox": "documents",
    "documents.tasks.recognise_intake": "documents",
    "core.tasks.relay_events": "notifications",
}

app = Celery("ariesone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.conf.task_default_queue = "default"
app.conf.task_routes = {name: {"queue": queue} for name, queue in ROUTES.items()}
app.conf.task_acks_late = True
# A task whose worker is lost (killed, out of memory) is redelivered, not dropped.
app.conf.task_reject_on_worker_lost = True
app.autodiscover_tasks()
