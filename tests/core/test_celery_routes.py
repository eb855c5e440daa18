"""Celery queues per kind of work (config/celery.py; docs/scaling.md)."""

from config.celery import QUEUES, ROUTES, app


def project_tasks():
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.split(".")[0] in ("core", "hme", "documents"))


def test_every_route_names_a_registered_task_and_a_declared_queue():
    tasks = project_tasks()
    assert set(ROUTES) <= set(tasks)
    assert set(ROUTES.values()) <= set(QUEUES)
    assert {queue.name for queue in app.conf.task_queues} == set(QUEUES)


def test_each_kind_goes_to_its_queue():
    def queue(name):
        return app.amqp.router.route({}, name)["queue"].name

    assert queue("hme.tasks.bill_rental_months") == "billing"
    assert queue("hme.tasks.exchange_edi") == "edi"
    assert queue("documents.tasks.recognise_intake") == "documents"
    assert queue("core.tasks.relay_events") == "notifications"
    assert queue("core.tasks.backup_database") == "default"
    assert {queue(name) for name in project_tasks()} == set(QUEUES)


def test_tasks_are_acknowledged_late_and_redelivered_when_a_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
