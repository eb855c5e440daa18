"""Billing admin, the shared list pieces: the one patient search of the billing lists and
the claims worklist's filters (age since submission, denial reason)."""

from django.contrib import admin

from clinical.models import Patient
from clinical.models.linked_search import LinkedPatientSearch
from core.admin_filters import distinct_values

from ..choices import describe_carc
from ..models import Claim
from ..models.claims import AGE_BUCKETS

PATIENT_SEARCH_HELP = (
    "Patient last name or first name (prefix), 'Doe, Jane', patient number (P-000123) "
    "or date of birth."
)


def search_by_patient(request, queryset, term, field="patient"):
    """Rows of the patients the one patient search finds (names, number, DOB); a name
    search's page and count are planned (``clinical.models.linked_search``)."""
    patients = Patient.objects.for_user(request.user).search(term)
    return queryset.filter(LinkedPatientSearch(field, patients))


class AgeBucketFilter(admin.SimpleListFilter):
    """Days since the (latest) submission: the aging buckets of a claims worklist."""

    title = "age since submission"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [(key, f"{key} days") for key in AGE_BUCKETS]

    def queryset(self, request, queryset):
        bounds = AGE_BUCKETS.get(self.value())
        if bounds is None:
            return queryset
        return queryset.aged(*bounds)


class DenialCodeFilter(admin.SimpleListFilter):
    """The denial reasons (group-code) found on the company's claims."""

    title = "denial reason"
    parameter_name = "denial"

    def lookups(self, request, model_admin):
        # One index probe per reason (claim_denial_idx), not an entry per denied claim.
        pairs = distinct_values(
            Claim.objects.for_user(request.user).exclude(denial_code=""),
            "denial_group",
            "denial_code",
        )
        return [(f"{group}-{code}", describe_carc(group, code)[:60]) for group, code in pairs]

    def queryset(self, request, queryset):
        value = self.value() or ""
        group, _, code = value.partition("-")
        if not (group and code):
            return queryset
        return queryset.filter(denial_group=group, denial_code=code)
