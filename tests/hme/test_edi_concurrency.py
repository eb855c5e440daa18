"""Races on PostgreSQL: batches built at the same moment never share a control number."""

import pytest

from hme.models import SubmissionBatch
from hme.services import submission
from tests.concurrency import race
from tests.hme.edi_helpers import edi_claim
from tests.hme.factories import PayerFactory

THREADS = 6


@pytest.fixture(autouse=True)
def _edi_dirs(settings, tmp_path):
    settings.EDI_STORE_DIR = tmp_path / "store"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_draw_distinct_control_numbers(postgres_only, company):
    payer = PayerFactory(company=company)
    claims = [edi_claim(company, payer) for _ in range(THREADS)]
    results = race([lambda c=c: submission.create_batch(company, [c]) for c in claims])
    assert all(not isinstance(r, Exception) for r in results), results
    rows = list(
        SubmissionBatch.objects.values_list(
            "interchange_control_number", "group_control_number", "number"
        )
    )
    assert len(rows) == THREADS
    assert sorted(r[0] for r in rows) == list(range(1, THREADS + 1))
    assert len({r[1] for r in rows}) == THREADS
    assert len({r[2] for r in rows}) == THREADS
    # And a rebuild racing new batches still draws a fresh number.
    first = SubmissionBatch.objects.order_by("interchange_control_number").first()
    more = [edi_claim(company, payer) for _ in range(2)]
    results = race(
        [lambda: submission.rebuild_batch(first)]
        + [lambda c=c: submission.create_batch(company, [c]) for c in more]
    )
    assert all(not isinstance(r, Exception) for r in results), results
    numbers = list(SubmissionBatch.objects.values_list("interchange_control_number", flat=True))
    assert len(numbers) == len(set(numbers)) == THREADS + 2
    assert max(numbers) == THREADS + 3  # the rebuild's old number is never reused
