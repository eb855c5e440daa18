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
