"""The read-replica router (core.db_router; docs/scaling.md).

The routing tests run on any database: they check where the router sends reads and
writes. ``test_a_read_after_a_write_in_one_request_sees_the_write`` runs against the
real streaming replica ``.ci/run`` makes on 127.0.0.1:5433 (PostgreSQL pass), and is
skipped when none answers there.
"""

import time

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.db import router as django_router
from django.db.utils import load_backend
from django.test import RequestFactory

from accounts.models import Company
from core import db_router
from core.db_router import ReplicaRouter, pin_key, replica_reads, replica_safe
from core.models import AccessLog
from tests.factories import CompanyFactory, UserFactory

router = ReplicaRouter()


@pytest.fixture
def with_replica(monkeypatch):
    """A ``replica`` alias in the connection settings (never connected to here)."""
    monkeypatch.setitem(connections.settings, "replica", dict(connection.settings_dict))
    cache.clear()
    yield
    forget_replica()
    cache.clear()


def forget_replica():
    """Drop the ``replica`` connection object, if one was made: the next test gets a
    new one from its own settings."""
    try:
        connections["replica"].close()
        del connections["replica"]
    except Exception:  # noqa: S110 - none was made
        pass


def test_reads_stay_on_the_primary_outside_a_replica_block(with_replica):
    assert router.db_for_read(Company) == "default"


def test_reads_go_to_the_replica_inside_a_block(with_replica, db):
    user = UserFactory()
    with replica_reads(user) as on_replica:
        assert on_replica
        assert router.db_for_read(Company) == "replica"
    assert router.db_for_read(Company) == "default"


def test_a_write_pins_the_rest_of_the_block_and_the_user(with_replica, db, settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 5
    user = UserFactory()
    with replica_reads(user):
        assert router.db_for_write(Company) == "default"
        assert router.db_for_read(Company) == "default"
    assert cache.get(pin_key(user.pk)) == 1
    # The user's next request reads the primary too (cookie-free: the cache marker).
    with replica_reads(user) as on_replica:
        assert not on_replica
        assert router.db_for_read(Company) == "default"
    # Another user is not pinned.
    with replica_reads(UserFactory()) as on_replica:
        assert on_replica


def test_a_write_outside_a_request_or_block_pins_nothing(with_replica, db):
    UserFactory()  # a command's or a test's set-up writes
    assert not db_router._pinned.get()
    with replica_reads(UserFactory()) as on_replica:
        assert on_replica


def test_the_access_log_does_not_pin(with_replica, db):
    user = UserFactory()
    with replica_reads(user):
        assert router.db_for_write(AccessLog) == "default"
        assert router.db_for_read(Company) == "replica"
    assert cache.get(pin_key(user.pk)) is None


def test_no_replica_no_switch(db):
    assert "replica" not in connections.settings
    with replica_reads(UserFactory()) as on_replica:
        assert not on_replica
        assert router.db_for_read(Company) == "default"


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate("default", "clinical")
    assert not router.allow_migrate("replica", "clinical")


def test_replica_safe_views_read_the_replica_for_get_only(with_replica, db):
    seen = []

    @replica_safe
    def view(request):
        seen.append(router.db_for_read(Company))
        return "ok"

    factory = RequestFactory()
    for method in ("get", "post"):
        request = getattr(factory, method)("/report/")
        request.user = UserFactory()
        view(request)
    assert seen == ["replica", "default"]


# Against a real streaming replica (.ci/run, PostgreSQL pass) -----------------------------


def replica_settings():
    if connection.vendor != "postgresql":
        pytest.skip("the replica test needs PostgreSQL")
    replica = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": "5433"}
    try:
        probe = psycopg.connect(
            host="127.0.0.1", port=5433, user=replica["USER"], dbname="postgres", connect_timeout=2
        )
    except psycopg.OperationalError:
        pytest.skip("no streaming replica on 127.0.0.1:5433 (.ci/run makes one)")
    with probe:
        if not probe.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            pytest.skip("127.0.0.1:5433 is not a replica")
    return replica


def wait_for(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_read_after_a_write_in_one_request_sees_the_write(monkeypatch):
    replica = replica_settings()
    # A connection object made here, not an alias in the settings: the test case
    # neither flushes it (a replica is read-only) nor forbids it.
    forget_replica()
    connections["replica"] = load_backend(replica["ENGINE"]).DatabaseWrapper(replica, "replica")
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(django_router, "routers", [ReplicaRouter()])
    cache.clear()
    try:
        first = CompanyFactory(name="Replicated Before")
        user = UserFactory()
        # The replica has streamed the committed rows.
        assert wait_for(lambda: Company.objects.using("replica").filter(pk=first.pk).exists()), (
            "the replica did not catch up"
        )
        with replica_reads(user) as on_replica:
            # Reads go to the replica: it answers from recovery.
            assert on_replica
            assert django_router.db_for_read(Company) == "replica"
            assert Company.objects.filter(pk=first.pk).exists()
            with connections["replica"].cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery()")
                assert cursor.fetchone()[0] is True
            # A write, then a read in the same request: the read sees it (primary).
            Company.objects.filter(pk=first.pk).update(name="Renamed In Request")
            assert Company.objects.get(pk=first.pk).name == "Renamed In Request"
            assert db_router._pinned.get()
        assert cache.get(pin_key(user.pk)) == 1
    finally:
        forget_replica()
        cache.clear()
