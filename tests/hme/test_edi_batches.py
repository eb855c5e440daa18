"""837P batches: the service (create, refuse, rebuild, send), the sealed file, the admin,
the API and the periodic task."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from core.exceptions import InvalidTransition, ServiceError
from core.models import AccessLog
from hme import tasks
from hme.choices import ClaimStatus
from hme.edi.adapters import AdapterError, DirectoryDropAdapter
from hme.models import Claim, SubmissionBatch
from hme.models.edi import BatchClaim, BatchStatus
from hme.services import submission
from tests.admin_base import TenantAdminTests
from tests.hme.edi_helpers import assert_dme_segments, assert_valid_837p, edi_claim
from tests.hme.factories import ClaimFactory, PayerFactory


@pytest.fixture(autouse=True)
def _edi_dirs(settings, tmp_path):
    settings.EDI_STORE_DIR = tmp_path / "store"
    settings.EDI_OUTBOX_DIR = tmp_path / "out"
    settings.EDI_INBOX_DIR = tmp_path / "in"


def make_batch(company, claims=1, **kwargs):
    payer = PayerFactory(company=company)
    made = [edi_claim(company, payer) for _ in range(claims)]
    return submission.create_batch(company, made, **kwargs)


def file_text(batch):
    return b"".join(submission.batch_file(batch)).decode()


@pytest.mark.django_db
def test_a_batch_holds_one_payers_claims_with_control_numbers_and_checksum(company):
    import hashlib

    batch = make_batch(company, claims=3)
    assert batch.status == BatchStatus.CREATED
    assert batch.number == "B-000001"
    assert batch.claim_count == 3
    assert batch.interchange_control_number == 1
    text = file_text(batch)
    assert_valid_837p(text)
    assert_dme_segments(text)
    assert hashlib.sha256(text.encode()).hexdigest() == batch.file_sha256
    assert batch.file_size == len(text)
    assert text.count("CLM*") == 3
    # The claims are untouched until the batch is sent.
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.PENDING}
    assert not Claim.objects.filter(submitted_at__isnull=False).exists()


@pytest.mark.django_db
def test_the_stored_file_is_encrypted_at_rest(company, settings):
    batch = make_batch(company)
    member_id = Claim.objects.get().coverage.member_id
    (stored,) = list((settings.EDI_STORE_DIR / str(company.pk)).iterdir())
    raw = stored.read_bytes()
    assert raw.startswith(b"ARIESBK\x00")
    assert member_id.encode() not in raw
    assert b"CLM*" not in raw
    assert member_id in file_text(batch)


@pytest.mark.django_db
def test_control_numbers_never_repeat_across_batches_and_rebuilds(company):
    first = make_batch(company)
    second = make_batch(company)
    rebuilt = submission.rebuild_batch(first)
    numbers = [second.interchange_control_number, rebuilt.interchange_control_number]
    assert numbers == [2, 3]
    assert rebuilt.build_count == 2
    assert "IEA*1*000000003~" in file_text(rebuilt)
    assert "GS*HC*SUBMIT01*CLEARHOUSE*" in file_text(rebuilt)


@pytest.mark.django_db
def test_refusals_name_every_reason_and_create_nothing(company):
    payer = PayerFactory(company=company)
    sent = edi_claim(company, payer)
    submission.send_batch(submission.create_batch(company, [sent]), adapter=DirectoryDropAdapter())
    voided = edi_claim(company, payer)
    from hme import services

    services.void_claim(voided, "Duplicate")
    other_payer = edi_claim(company)
    in_batch = edi_claim(company, payer)
    submission.create_batch(company, [in_batch])
    before = SubmissionBatch.objects.count()
    with pytest.raises(ServiceError) as caught:
        submission.create_batch(company, [sent, voided, in_batch])
    message = caught.value.message
    assert caught.value.code == "not_batchable"
    assert f"Claim {sent.number} was already submitted" in message
    assert f"Claim {voided.number} is void" in message
    assert f"Claim {in_batch.number} is already in batch B-000002" in message
    with pytest.raises(ServiceError, match="one payer's claims"):
        submission.create_batch(company, [in_batch, other_payer])
    assert SubmissionBatch.objects.count() == before


@pytest.mark.django_db
def test_another_companys_claim_is_refused(company, other_company):
    theirs = edi_claim(other_company)
    with pytest.raises(ServiceError, match="not one of this company's"):
        submission.create_batch(company, [theirs])


@pytest.mark.django_db
def test_a_company_without_edi_settings_is_told_what_to_set(company):
    claim = ClaimFactory(company=company)
    with pytest.raises(ServiceError, match="EDI submitter ID") as caught:
        submission.create_batch(company, [claim])
    assert caught.value.code == "edi_setup"
    assert not SubmissionBatch.objects.exists()


@pytest.mark.django_db
def test_sending_submits_the_claims_and_drops_the_file(company, settings):
    batch = make_batch(company, claims=2)
    batch = submission.send_batch(batch, adapter=DirectoryDropAdapter())
    assert batch.status == BatchStatus.SENT
    dropped = settings.EDI_OUTBOX_DIR / str(company.pk) / batch.file_name
    assert dropped.read_text() == file_text(batch)
    for claim in Claim.objects.all():
        assert claim.status == ClaimStatus.PENDING  # processing comes with the 277CA
        assert claim.submitted_at is not None
        assert claim.submission_count == 1
    with pytest.raises(InvalidTransition, match="sent once"):
        submission.send_batch(batch, adapter=DirectoryDropAdapter())
    with pytest.raises(InvalidTransition, match="only a batch not yet sent"):
        submission.rebuild_batch(batch)


@pytest.mark.django_db
def test_a_clearinghouse_failure_changes_nothing_and_is_kept(company):
    class Down(DirectoryDropAdapter):
        def send(self, company_id, filename, chunks):
            raise AdapterError("The clearinghouse is unreachable.")

    batch = make_batch(company)
    with pytest.raises(AdapterError):
        submission.send_batch(batch, adapter=Down())
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CREATED
    assert batch.send_error == "The clearinghouse is unreachable."
    assert not Claim.objects.filter(submitted_at__isnull=False).exists()


@pytest.mark.django_db
def test_the_task_sends_pending_batches_under_a_lock(company, settings):
    from django.core.cache import cache

    from core.locks import lock_key

    batch = make_batch(company)
    cache.add(lock_key("hme.exchange_edi"), "other:run", 60)
    assert tasks.exchange_edi() == {"status": "skipped"}
    cache.delete(lock_key("hme.exchange_edi"))
    result = tasks.exchange_edi()
    assert result["status"] == "done"
    assert result["sent"] == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SENT


# Admin --------------------------------------------------------------------------------


class TestSubmissionBatchAdmin(TenantAdminTests):
    model = SubmissionBatch
    add_roles = ()

    def make(self, company, **fields):
        return make_batch(company)


@pytest.mark.django_db
def test_admin_action_creates_a_batch_or_lists_the_reasons(client, personas, company):
    payer = PayerFactory(company=company)
    claims = [edi_claim(company, payer) for _ in range(2)]
    client.force_login(personas[Role.BILLING])
    url = reverse("admin:hme_claim_changelist")
    response = client.post(
        url,
        {"action": "create_837p_batch", "_selected_action": [c.pk for c in claims]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Created B-000001 (2 claim(s))" in response.content.decode()
    response = client.post(
        url, {"action": "create_837p_batch", "_selected_action": [claims[0].pk]}, follow=True
    )
    assert f"Claim {claims[0].number} is already in batch B-000001" in response.content.decode()
    assert SubmissionBatch.objects.count() == 1


@pytest.mark.django_db
def test_admin_download_is_logged_and_scoped(client, personas, company, outsider):
    batch = make_batch(company)
    url = reverse("admin:hme_submissionbatch_download", args=[batch.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(personas[Role.BILLING])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == file_text(batch)
    assert response["Content-Disposition"] == f'attachment; filename="{batch.file_name}"'
    log = AccessLog.objects.get(action="export")
    assert log.via == "admin"


@pytest.mark.django_db
def test_admin_send_and_rebuild_actions(client, personas, company):
    batch = make_batch(company)
    client.force_login(personas[Role.BILLING])
    url = reverse("admin:hme_submissionbatch_changelist")
    client.post(url, {"action": "rebuild", "_selected_action": [batch.pk]}, follow=True)
    batch.refresh_from_db()
    assert batch.build_count == 2
    response = client.post(url, {"action": "send_now", "_selected_action": [batch.pk]}, follow=True)
    assert "1 batch(es) sent" in response.content.decode()
    response = client.post(url, {"action": "rebuild", "_selected_action": [batch.pk]}, follow=True)
    assert "only a batch not yet sent can be rebuilt" in response.content.decode()


# API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_creates_lists_retrieves_and_downloads(api_client_for, personas, company):
    payer = PayerFactory(company=company)
    claims = [edi_claim(company, payer) for _ in range(2)]
    api = api_client_for(personas[Role.BILLING])
    response = api.post(
        reverse("api:edi-batch-list"), {"claims": [str(c.pk) for c in claims]}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "B-000001"
    assert sorted(i["claim_number"] for i in body["items"]) == sorted(c.number for c in claims)
    again = api.post(reverse("api:edi-batch-list"), {"claims": [str(claims[0].pk)]}, format="json")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "not_batchable"
    listed = api.get(reverse("api:edi-batch-list")).json()
    assert [b["number"] for b in listed["results"]] == ["B-000001"]
    detail = reverse("api:edi-batch-detail", args=[body["id"]])
    assert api.get(detail).json()["file_sha256"] == body["file_sha256"]
    download = api.get(reverse("api:edi-batch-download", args=[body["id"]]))
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode()
    assert_valid_837p(text)
    assert AccessLog.objects.filter(action="export", via="api").count() == 2  # two claims


@pytest.mark.django_db
def test_api_send_and_rebuild(api_client_for, personas, company):
    batch = make_batch(company)
    api = api_client_for(personas[Role.BILLING])
    rebuilt = api.post(reverse("api:edi-batch-rebuild", args=[batch.pk]))
    assert rebuilt.status_code == 200
    assert rebuilt.json()["build_count"] == 2
    sent = api.post(reverse("api:edi-batch-send", args=[batch.pk]))
    assert sent.status_code == 200
    assert sent.json()["status"] == "sent"
    assert api.post(reverse("api:edi-batch-send", args=[batch.pk])).status_code == 409


@pytest.mark.django_db
def test_api_hides_other_companies_batches(api_client_for, company, outsider):
    batch = make_batch(company)
    api = api_client_for(outsider)
    for name in ("detail", "download"):
        assert api.get(reverse(f"api:edi-batch-{name}", args=[batch.pk])).status_code == 404
    for name in ("rebuild", "send"):
        assert api.post(reverse(f"api:edi-batch-{name}", args=[batch.pk])).status_code == 404
    assert api.get(reverse("api:edi-batch-list")).json()["results"] == []
    created = api.post(
        reverse("api:edi-batch-list"),
        {"claims": [str(c.pk) for c in Claim.objects.all()]},
        format="json",
    )
    assert created.status_code == 400  # company A's claims "do not exist" for B


@pytest.mark.django_db
def test_api_read_only_role_cannot_create_and_list_queries_are_bounded(
    api_client_for, personas, company, django_assert_max_num_queries
):
    for _ in range(3):
        make_batch(company)
    auditor = api_client_for(personas[Role.AUDITOR])
    claim = edi_claim(company)
    response = auditor.post(
        reverse("api:edi-batch-list"), {"claims": [str(claim.pk)]}, format="json"
    )
    assert response.status_code == 403
    api = api_client_for(personas[Role.BILLING])
    with django_assert_max_num_queries(12):
        response = api.get(reverse("api:edi-batch-list"))
    assert len(response.json()["results"]) == 3
    assert BatchClaim.objects.count() == 3
