"""The patient search every admin shares, with PHI kept out of URLs.

A changelist's search box is a GET form: its term lands in the address bar, the
browser's history, the proxies' and the server's access logs. Names and numbers
(P-000123) may go there; a date of birth, phone number, e-mail address or MBI is PHI
and may not (45 CFR 164.514(b)(2)(i): dates, phone numbers, e-mail addresses and
health-plan numbers are identifiers; docs/architecture.md, PHI): such a term in ``?q=`` is
refused. Dates of birth, phones and e-mails are typed into "Find a patient", a POSTed
form: one match opens the patient, several are listed on the POSTed page; the term
stays in the request body.

- ``PatientLinkedSearchMixin``: a patient-linked table (appointments, orders, rentals,
  ...) searched with the patient search, its patient column and choices labelled with
  the name, and a PHI term in ``?q=`` refused;
- ``PatientFindMixin``: the patient admin's "Find a patient" page;
- ``refuse_phi_search``: the refusal, for admins that search patients their own way.
"""

import re
from typing import TYPE_CHECKING, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.validators import validate_mbi

from .models import Patient
from .models.linked_search import LinkedPatientSearch
from .models.patients import is_phi_search_term

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SEARCH_PARAM = "q"
FIND_URL_NAME = "clinical_patient_find"
# More matches than this: the term is too broad to list; staff narrow it.
FIND_MAX_MATCHES = 50
PATIENT_SEARCH_HELP = (
    "Last name or first name (prefix), 'Doe, Jane', 'Jane Doe' or patient number "
    "(P-000123). A date of birth, phone or e-mail: use Find a patient (it keeps them "
    "out of the address bar)."
)
PHI_TERM_REFUSED = (
    "Dates of birth, phone numbers, e-mail addresses and MBIs are not searched from the "
    "address bar, which browsers and servers write down. Look a patient up by date of "
    "birth, phone or e-mail with "
)


def looks_like_mbi(text):
    try:
        validate_mbi(text)
    except ValidationError:
        return False
    return True


def is_url_unsafe_term(text):
    """Whether a search term is PHI that must never travel in a URL."""
    text = " ".join((text or "").split())
    return bool(text) and (is_phi_search_term(text) or looks_like_mbi(text))


# A name as typed: letters, spaces, apostrophes, hyphens, a comma ("Doe, Jane").
NAME_TERM = re.compile(r"^[^\W\d_]+(?:[ '.-]+[^\W\d_]+)*$")


def tolerant_search(queryset, term):
    """The one patient search (``PatientQuerySet.search``); when a name finds nobody on
    PostgreSQL, the names that look like it (pg_trgm similarity, ``%``: "Jonson" finds
    Johnson), every word matching the first or the last name. Only the plaintext name
    columns are compared so; dates of birth, phones and e-mails are encrypted and found
    through their blind index only, exactly (docs/decisions/0001-blind-index.md)."""
    found = queryset.search(term)
    text = " ".join((term or "").replace(",", " ").split())
    if connection.vendor != "postgresql" or not text or not NAME_TERM.match(text):
        return found
    if found.exists():
        return found
    similar = Q()
    for word in text.split(" "):
        similar &= Q(last_name__trigram_similar=word) | Q(first_name__trigram_similar=word)
    return queryset.filter(similar)


def search_patients(request, term):
    """The user's company's patients the one patient search finds."""
    patients = Patient.objects.for_user(request.user)
    return tolerant_search(patients, term).select_related("home_location")


def find_url():
    return reverse(f"admin:{FIND_URL_NAME}")


def refuse_phi_search(request):
    """A redirect to the same list without its PHI search term (and a message pointing
    to the find form), or None when ``?q=`` is not PHI. The term is never echoed."""
    if request.method != "GET" or not is_url_unsafe_term(request.GET.get(SEARCH_PARAM, "")):
        return None
    messages.warning(
        request,
        format_html('{}<a href="{}">Find a patient</a>.', PHI_TERM_REFUSED, find_url()),
    )
    query = request.GET.copy()
    del query[SEARCH_PARAM]
    remaining = query.urlencode()
    return HttpResponseRedirect(request.path + (f"?{remaining}" if remaining else ""))


class PHISearchGuardMixin:
    """A changelist that refuses a PHI term in its URL instead of searching it."""

    def changelist_view(self, request, extra_context=None):
        return refuse_phi_search(request) or super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # Reached without the changelist (the autocomplete): a PHI term finds nothing.
        if is_url_unsafe_term(search_term):
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


def label_patient_choices(formfield):
    """Staff pick a patient by name: label a patient choice field with the name
    (``str(patient)`` is the number only, since it reaches logs and the audit trail)."""
    queryset = getattr(formfield, "queryset", None)
    if queryset is not None and queryset.model is Patient:
        formfield.label_from_instance = lambda patient: patient.display_name
    return formfield


class PatientLinkedSearchMixin(PHISearchGuardMixin):
    """Search a patient-linked table with the patient search (names, P-number):
    ``patient IN (matching patients)``, its page and count planned for a name search
    (``clinical.models.linked_search``); show and pick its patient by name."""

    patient_field = "patient"
    # get_search_results does the searching; a search field makes the box appear.
    search_fields: ClassVar[list[str] | tuple[str, ...]] = ["=patient__number"]
    search_help_text: ClassVar["StrOrPromise | None"] = PATIENT_SEARCH_HELP

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip() or is_url_unsafe_term(search_term):
            return (queryset.none() if search_term.strip() else queryset), False
        patients = search_patients(request, search_term)
        return queryset.filter(LinkedPatientSearch(self.patient_field, patients)), False

    def get_list_display(self, request):
        return [
            "patient_name" if name == self.patient_field else name
            for name in super().get_list_display(request)
        ]

    @admin.display(description="patient", ordering="patient__last_name")
    def patient_name(self, obj):
        patient = getattr(obj, self.patient_field)
        return patient.display_name if patient is not None else "-"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return label_patient_choices(super().formfield_for_foreignkey(db_field, request, **kwargs))


class PatientFindForm(forms.Form):
    term = forms.CharField(
        label="Date of birth, phone, e-mail, name or patient number",
        max_length=100,
        help_text="1950-01-02 or 01/02/1950; (555) 010-0199; jane@example.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

    def clean_term(self):
        term = " ".join(self.cleaned_data["term"].split())
        if not term:
            raise ValidationError("Type what to look for.", code="required")
        return term


class PatientFindMixin:
    """The patient admin's "Find a patient" page (``admin:clinical_patient_find``)."""

    find_template = "admin/clinical/patient/find.html"

    def get_urls(self):
        find = path("find/", self.admin_site.admin_view(self.find_view), name=FIND_URL_NAME)
        return [find, *super().get_urls()]

    def find_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = PatientFindForm(request.POST if request.method == "POST" else None)
        matches = None
        if request.method == "POST" and form.is_valid():
            found = list(
                search_patients(request, form.cleaned_data["term"])[: FIND_MAX_MATCHES + 1]
            )
            if len(found) == 1:
                return HttpResponseRedirect(
                    reverse("admin:clinical_patient_change", args=[found[0].pk])
                )
            if not found:
                form.add_error("term", "No patient of your company matches.")
            elif len(found) > FIND_MAX_MATCHES:
                form.add_error(
                    "term", f"More than {FIND_MAX_MATCHES} patients match: narrow the search."
                )
            else:
                matches = found
        context = {
            **self.admin_site.each_context(request),
            "title": "Find a patient",
            "opts": self.model._meta,
            "form": form,
            "matches": matches,
        }
        return TemplateResponse(request, self.find_template, context)


# How a picker labels a row of a model, by "app_label.model_name": what tells rows
# apart (a coverage's payer, priority, member id's last four and dates). Apps above
# register theirs from their admin module (hme.admin.coverage).
AUTOCOMPLETE_LABELS = {"clinical.patient": lambda patient: patient.display_name}


class PatientAutocompleteJsonView(AutocompleteJsonView):
    """The admin's autocomplete with patients labelled by name for staff, and every
    model of ``AUTOCOMPLETE_LABELS`` labelled its way."""

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        label = AUTOCOMPLETE_LABELS.get(obj._meta.label_lower)
        if label is not None:
            result["text"] = label(obj)
        return result


def autocomplete_view(request):
    return PatientAutocompleteJsonView.as_view(admin_site=admin.site)(request)


# Every patient field's autocomplete (orders, claims, rentals, ...) goes through the
# site's one autocomplete URL; AdminSite.get_urls reads this attribute when the URLs
# are built, after every admin module has been imported.
admin.site.autocomplete_view = autocomplete_view  # type: ignore[method-assign]
