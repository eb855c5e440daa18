"""The sample records of a data-quality finding on the run's admin page: linked to
their admin pages, or listed as plain ids when their record type is gone (a stale
content type once raised AttributeError: a 500 on the run's page)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from core.models import DataQualityFinding, DataQualityRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(is_superuser=True, is_staff=True, email="operator@aries.test")


def finding_of(content_type):
    run = DataQualityRun.objects.create(triggered_by="test")
    return DataQualityFinding.objects.create(
        run=run,
        check_name="stale type",
        severity="error",
        passed=False,
        count=3,
        sample_ids=["11111111-aaaa", "22222222-bbbb"],
        content_type=content_type,
    )


def test_it_lists_the_ids_of_a_record_type_whose_model_is_gone(client, operator):
    gone = ContentType.objects.create(app_label="retired", model="vanished")
    finding = finding_of(gone)
    client.force_login(operator)
    response = client.get(reverse("admin:core_dataqualityrun_change", args=[finding.run.pk]))
    assert response.status_code == 200
    assert "11111111-aaaa, 22222222-bbbb" in response.content.decode()


def test_it_links_the_records_of_a_known_type(client, operator):
    finding = finding_of(ContentType.objects.get_for_model(DataQualityRun))
    client.force_login(operator)
    response = client.get(reverse("admin:core_dataqualityrun_change", args=[finding.run.pk]))
    assert response.status_code == 200
    assert 'href="/admin/core/dataqualityrun/11111111-aaaa/change/"' in response.content.decode()
