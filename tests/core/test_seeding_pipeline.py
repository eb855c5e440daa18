"""core.seeding.CopyPipeline: a scale run's writes made by a second thread on the same
connection and transaction, in order, before any other query, a batch behind the
reads of the next one; a failed write raised in the main thread (PostgreSQL only:
elsewhere rows go in with bulk_create)."""

import datetime
import io
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction

from clinical.models import MedicalRecord, Patient
from core.seeding import Batch, ScalePlan, copy_pipeline, each_batch, insert, row

pytestmark = pytest.mark.django_db


def context(pipeline):
    return SimpleNamespace(
        bulk=None, copies=pipeline, count=lambda label, n: None, stderr=io.StringIO()
    )


def patient(company, number):
    return row(
        Patient,
        company=company,
        number=f"P-{number:06d}",
        first_name="Ann",
        last_name="Lee",
        dob=datetime.date(1950, 1, 2),
    )


def numbers(company):
    return sorted(Patient.objects.filter(company=company).values_list("number", flat=True))


def test_writes_are_made_in_order_before_any_other_query(postgres_only, company):
    with copy_pipeline() as pipeline:
        assert pipeline is not None
        ctx = context(pipeline)
        first = patient(company, 990101)
        insert(ctx, Patient, [first], "patients")
        record = row(
            MedicalRecord,
            company=company,
            patient=first,
            record_type="visit_note",
            visit_date=datetime.date(2026, 11, 30),
        )
        insert(ctx, MedicalRecord, [record], "records")
        assert pipeline.staged  # not written yet
        # A query releases and waits for them: it sees both, the record's patient first.
        assert MedicalRecord.objects.get(pk=record.pk).patient_id == first.pk
        assert not pipeline.staged
    assert numbers(company) == ["P-990101"]


def test_reads_of_the_next_batch_leave_the_staged_writes_for_later(postgres_only, company):
    with copy_pipeline() as pipeline:
        insert(context(pipeline), Patient, [patient(company, 990201)], "patients")
        with pipeline.reading():
            assert numbers(company) == []
        assert numbers(company) == ["P-990201"]


def test_each_batch_releases_a_batch_once_the_next_is_read(postgres_only, company):
    seen = []

    def batches():
        for number in (990301, 990302, 990303):
            seen.append(numbers(company))  # what the writer had made when read
            yield Batch(patients=[number])

    plan = ScalePlan(target=3, count=3)
    with copy_pipeline() as pipeline:
        ctx = context(pipeline)
        for batch in each_batch(ctx, "test", plan, batches()):
            insert(ctx, Patient, [patient(company, batch.patients[0])], "patients")
    # Batch 1 was still staged when batch 2 was read; written when batch 3 was.
    assert seen == [[], [], ["P-990301"]]
    assert numbers(company) == ["P-990301", "P-990302", "P-990303"]


def load_with_a_duplicate(company):
    with transaction.atomic(), copy_pipeline() as pipeline:
        ctx = context(pipeline)
        insert(ctx, Patient, [patient(company, 990401)], "patients")
        # The same number again: the company's unique patient number.
        insert(ctx, Patient, [patient(company, 990401)], "patients")
        insert(ctx, Patient, [patient(company, 990402)], "patients")
        Patient.objects.count()
    return pipeline


def test_a_failed_write_is_raised_in_the_main_thread_and_the_rest_skipped(postgres_only, company):
    with pytest.raises(IntegrityError, match="duplicate key"):
        load_with_a_duplicate(company)
    assert numbers(company) == []


def test_a_failure_in_the_block_skips_the_writes_left(postgres_only, company):
    pipelines = []

    def fail_while_writing():
        with transaction.atomic(), copy_pipeline() as pipeline:
            pipelines.append(pipeline)
            insert(context(pipeline), Patient, [patient(company, 990501)], "patients")
            raise RuntimeError("the app's own failure")

    with pytest.raises(RuntimeError, match="own failure"):
        fail_while_writing()
    assert pipelines[0].cancelled
    assert not pipelines[0].thread.is_alive()
    assert numbers(company) == []
