"""No filter, search or ordering on an encrypted column, anywhere.

An encrypted value is randomised ciphertext: filtering on it silently matches nothing,
ordering by it is noise, and the value would travel in the URL (docs/architecture.md, PHI).
Exact lookups go through the blind index. These tests walk every ModelAdmin and every
API view, so a new one that names an encrypted field fails here.
"""

import pytest
from django.contrib import admin
from django.contrib.admin import ListFilter
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clinical.models import Patient
from core.phi import encrypted_field_names, names_encrypted_field
from tests.clinical.factories import PatientFactory


def admin_lookups(model_admin):
    """Every field path a ModelAdmin filters, searches, dates or orders by."""
    for entry in model_admin.list_filter:
        if isinstance(entry, tuple | list):
            yield "list_filter", entry[0]
        elif isinstance(entry, str):
            yield "list_filter", entry
        elif isinstance(entry, type) and issubclass(entry, ListFilter):
            # A SimpleListFilter filters in its own queryset(); its parameter is a name.
            yield "list_filter", getattr(entry, "parameter_name", "") or ""
    for entry in model_admin.search_fields or ():
        yield "search_fields", entry
    if model_admin.date_hierarchy:
        yield "date_hierarchy", model_admin.date_hierarchy
    for entry in model_admin.ordering or ():
        if isinstance(entry, str):
            yield "ordering", entry


def test_no_model_admin_filters_searches_or_orders_by_an_encrypted_field():
    offenders = [
        f"{model._meta.label} {kind}: {path}"
        for model, model_admin in admin.site._registry.items()
        for kind, path in admin_lookups(model_admin)
        if path and names_encrypted_field(model, path)
    ]
    assert offenders == []


def api_views(patterns=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from api_views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None:
                yield view_class


def api_lookups(view_class):
    """(model, kind, path) for every filter, search and ordering field of an API view."""
    queryset = getattr(view_class, "queryset", None)
    model = getattr(queryset, "model", None)
    filterset_class = getattr(view_class, "filterset_class", None)
    if filterset_class is not None:
        filter_model = filterset_class._meta.model
        for name, declared in filterset_class.base_filters.items():
            yield filter_model, "filterset", declared.field_name or name
    if model is None:
        return
    for name in getattr(view_class, "filterset_fields", None) or ():
        yield model, "filterset_fields", name
    for name in getattr(view_class, "search_fields", None) or ():
        yield model, "search_fields", name
    ordering_fields = getattr(view_class, "ordering_fields", None) or ()
    if ordering_fields == "__all__":
        ordering_fields = [field.name for field in model._meta.concrete_fields]
    for name in ordering_fields:
        yield model, "ordering_fields", name
    ordering = getattr(view_class, "ordering", None) or ()
    for name in [ordering] if isinstance(ordering, str) else ordering:
        yield model, "ordering", name


def test_no_api_view_filters_searches_or_orders_by_an_encrypted_field():
    views = list(api_views())
    assert len(views) > 20, "the walk reaches the API's viewsets"
    offenders = sorted(
        {
            f"{view_class.__name__} {kind}: {path}"
            for view_class in views
            for model, kind, path in api_lookups(view_class)
            if model is not None and path and names_encrypted_field(model, path)
        }
    )
    assert offenders == []


def test_the_walk_recognises_encrypted_paths():
    # The walker must see through relations and lookups, or the tests above pass blindly.
    assert "dob" in encrypted_field_names(Patient)
    assert names_encrypted_field(Patient, "dob__gte")
    assert names_encrypted_field(Patient, "-phone")
    assert names_encrypted_field(Patient, "^email")
    from dme.models import Order

    assert names_encrypted_field(Order, "patient__dob__year")
    assert not names_encrypted_field(Order, "patient__last_name")
    assert not names_encrypted_field(Patient, "dob_bidx")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["dob__gte", "dob", "phone__startswith", "notes__icontains"])
def test_the_admin_refuses_a_lookup_on_an_encrypted_field(client, admin_user, company, query):
    PatientFactory(company=company)
    client.force_login(admin_user)
    response = client.get(reverse("admin:clinical_patient_changelist"), {query: "1950-01-02"})
    # Django answers a refused lookup (DisallowedModelAdminLookup) with 400.
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_admin_refuses_an_encrypted_lookup_through_a_relation(client, admin_user, company):
    client.force_login(admin_user)
    response = client.get(
        reverse("admin:clinical_appointment_changelist"), {"patient__dob__lt": "1950-01-02"}
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_admin_still_allows_plain_lookups(client, admin_user, company):
    patient = PatientFactory(company=company)
    client.force_login(admin_user)
    response = client.get(reverse("admin:clinical_patient_changelist"), {"status": patient.status})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [patient]
