"""The one cache lock of the periodic jobs and the one row lock of the services
(core.locks)."""

import pytest
from django.core.cache import cache
from django.db import transaction

from accounts.models import Location
from core.locks import cache_lock, lock_holder, lock_key, lock_row
from tests.factories import LocationFactory


def test_a_second_holder_is_refused_until_the_first_releases():
    with cache_lock("job", 60, holder="backup") as first:
        assert first
        assert lock_holder("job") == "backup"
        with cache_lock("job", 60) as second:
            assert not second
        assert lock_holder("job") == "backup"  # the refused one released nothing
    with cache_lock("job", 60) as again:
        assert again


def test_it_never_releases_a_lock_taken_by_another_run():
    with cache_lock("job", 60) as acquired:
        assert acquired
        cache.set(lock_key("job"), "other:token", 60)  # ours expired; another run took it
    assert cache.get(lock_key("job")) == "other:token"


def test_the_rental_billing_task_skips_while_another_run_holds_the_lock():
    from hme.tasks import bill_rental_months

    with cache_lock("hme.bill_rental_months", 60):
        assert bill_rental_months.delay().get() == {"status": "skipped"}


@pytest.mark.django_db
def test_a_row_lock_rereads_the_row_with_its_related_rows(company):
    location = LocationFactory(company=company, name="Old name")
    Location.objects.filter(pk=location.pk).update(name="New name")
    with transaction.atomic():
        locked = lock_row(location, "company")
    assert locked.name == "New name"
    assert "company" in locked._state.fields_cache


@pytest.mark.django_db(transaction=True)
def test_a_row_lock_outside_a_transaction_is_refused(company):
    # transaction=True: no test-wide transaction, so the lock would end at once.
    location = LocationFactory(company=company)
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        lock_row(location)
