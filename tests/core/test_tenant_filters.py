"""Relation filters (admin sidebar, API ``?location=``) offer only the company's rows."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from core.admin import TenantAdmin
from core.admin_filters import TenantRelatedFieldListFilter, tenant_list_filter
from core.api.filters import TenantFilterSet
from tests.factories import LocationFactory
from tests.testapp.models import PHIRecord


class PHIRecordFilter(TenantFilterSet):
    class Meta:
        model = PHIRecord
        fields = ["location"]


def test_it_gives_relation_filters_the_tenant_filter_class():
    assert tenant_list_filter(PHIRecord, "location") == ("location", TenantRelatedFieldListFilter)
    assert tenant_list_filter(PHIRecord, "location__kind") == "location__kind"
    assert tenant_list_filter(PHIRecord, "name") == "name"
    custom = ("location", admin.RelatedOnlyFieldListFilter)
    assert tenant_list_filter(PHIRecord, custom) is custom


@pytest.mark.django_db
def test_the_admin_sidebar_lists_only_the_companys_locations(company, other_company, admin_user):
    mine = LocationFactory(company=company, name="Mine")
    LocationFactory(company=other_company, name="Theirs")

    class Admin(TenantAdmin):  # every TenantAdmin scopes its relation filters
        list_filter = ["location"]

    model_admin = Admin(PHIRecord, admin.site)
    request = RequestFactory().get("/")
    request.user = admin_user
    entry = model_admin.get_list_filter(request)[0]
    field = PHIRecord._meta.get_field("location")
    list_filter = entry[1](field, request, {}, PHIRecord, model_admin, "location")
    assert list_filter.lookup_choices == [(mine.pk, "Mine")]


@pytest.mark.django_db
def test_the_api_filter_refuses_another_companys_id(company, other_company, admin_user):
    mine = LocationFactory(company=company)
    theirs = LocationFactory(company=other_company)
    request = RequestFactory().get("/")
    request.user = admin_user
    assert PHIRecordFilter({"location": str(mine.pk)}, request=request).is_valid()
    refused = PHIRecordFilter({"location": str(theirs.pk)}, request=request)
    assert not refused.is_valid()
    assert "location" in refused.errors


@pytest.mark.django_db
def test_the_state_filter_lists_the_companys_states_by_a_skip_scan(
    client, company, other_company, admin_user
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from clinical.models import Patient
    from core.admin_filters import distinct_values
    from tests.clinical.factories import PatientFactory

    for state in ("PA", "OH", "OH", "", "WV", "PA"):
        PatientFactory(company=company, state=state)
    PatientFactory(company=other_company, state="TX")
    ours = Patient.objects.filter(company=company)
    assert distinct_values(ours, "state") == ["", "OH", "PA", "WV"]
    assert distinct_values(ours.filter(state__gt="OH"), "state") == ["PA", "WV"]
    assert distinct_values(ours.none(), "state") == []
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:clinical_patient_changelist"))
    assert response.status_code == 200
    sidebar = response.content.decode()
    assert "?state=WV" in sidebar
    assert "?state=TX" not in sidebar
    if connection.vendor == "postgresql":
        assert any("WITH RECURSIVE" in q["sql"] for q in queries.captured_queries)
        assert not any('SELECT DISTINCT "clinical_patient"."state"' in q["sql"] for q in queries)


@pytest.mark.django_db
def test_a_relation_with_more_rows_than_a_sidebar_lists_shows_only_the_chosen_one(
    client, company, admin_user, monkeypatch
):
    from django.urls import reverse

    from core import admin_filters
    from tests.clinical.factories import PatientFactory, ProviderFactory

    monkeypatch.setattr(admin_filters, "MAX_FILTER_CHOICES", 3)
    prescribers = [ProviderFactory(company=company, last_name=f"Doc{i}") for i in range(5)]
    chosen = prescribers[2]
    PatientFactory(company=company, primary_prescriber=chosen)
    PatientFactory(company=company, primary_prescriber=prescribers[0])
    client.force_login(admin_user)
    url = reverse("admin:clinical_patient_changelist")
    page = client.get(url).content.decode()
    # Nothing chosen: nothing to list (the filter is not shown).
    assert not any(f"primary_prescriber__id__exact={p.pk}" in page for p in prescribers)
    response = client.get(url, {"primary_prescriber__id__exact": str(chosen.pk)})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == list(chosen.patients.all())
    assert "the one chosen on its page" in response.content.decode()
    assert f"primary_prescriber__id__exact={chosen.pk}" in response.content.decode()
    assert f"primary_prescriber__id__exact={prescribers[0].pk}" not in response.content.decode()
    # The prescriber's own page links to that list.
    change = client.get(reverse("admin:clinical_provider_change", args=[chosen.pk]))
    assert f"{url}?primary_prescriber__id__exact={chosen.pk}" in change.content.decode()
    # Under the bound, every one is listed as before.
    monkeypatch.setattr(admin_filters, "MAX_FILTER_CHOICES", 100)
    page = client.get(url).content.decode()
    assert all(f"primary_prescriber__id__exact={p.pk}" in page for p in prescribers)


@pytest.mark.django_db
def test_the_denial_filter_lists_the_companys_reasons_by_a_two_column_skip_scan(
    client, company, other_company, admin_user
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from core.admin_filters import distinct_values
    from hme.models import Claim
    from tests.hme.factories import ClaimFactory

    reasons = [("CO", "16"), ("PR", "1"), ("CO", "16"), ("CO", "108"), ("", "")]
    for group, code in reasons:
        claim = ClaimFactory(company=company)
        Claim.objects.filter(pk=claim.pk).update(denial_group=group, denial_code=code)
    theirs = ClaimFactory(company=other_company)
    Claim.objects.filter(pk=theirs.pk).update(denial_group="OA", denial_code="23")
    ours = Claim.objects.filter(company=company).exclude(denial_code="")
    expected = [("CO", "108"), ("CO", "16"), ("PR", "1")]
    assert distinct_values(ours, "denial_group", "denial_code") == expected
    assert distinct_values(ours.none(), "denial_group", "denial_code") == []
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:hme_claim_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert all(f"?denial={group}-{code}" in page for group, code in expected)
    assert "?denial=OA-23" not in page
    if connection.vendor == "postgresql":
        assert any("CROSS JOIN LATERAL" in q["sql"] for q in queries.captured_queries)
