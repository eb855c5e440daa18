"""Patients: who they are, how to reach them, and the one search staff use to find them."""

import datetime
import re
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet
from core.notifications.choices import Channel
from core.phi import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedTextField,
    normalize_date,
    normalize_email,
    normalize_phone,
)

from ..choices import PatientStatus, Sex
from .name_search import NAME_ORDER, NameBranch, NameSearch, has_name_search, plan_name_page
from .providers import US_STATE

PATIENT_NUMBER_PREFIX = "P-"
PATIENT_NUMBER_DIGITS = 6
SSN_LAST4 = RegexValidator(r"^\d{4}$", "Give exactly the last four digits of the SSN.")

_NUMBER_RE = re.compile(r"^P-?(\d{1,12})$", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE_RE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_PHONE_RE = re.compile(r"^[\d\s().+-]+$")


def format_patient_number(value):
    """``123`` -> ``P-000123``."""
    return f"{PATIENT_NUMBER_PREFIX}{value:0{PATIENT_NUMBER_DIGITS}d}"


def parse_patient_number(text):
    """``P-000123``, ``p-123`` or ``P123`` -> ``P-000123``; anything else None."""
    match = _NUMBER_RE.match(text.strip())
    return format_patient_number(int(match.group(1))) if match else None


def parse_search_date(text):
    """``1950-01-02``, ``01/02/1950`` or ``1/2/1950`` (US order) -> a date, else None."""
    text = text.strip()
    if match := _ISO_DATE_RE.match(text):
        year, month, day = match.groups()
    elif match := _US_DATE_RE.match(text):
        month, day, year = match.groups()
    else:
        return None
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        return None


def looks_like_phone(text):
    """Digits with phone punctuation only, and at least seven digits."""
    text = text.strip()
    return bool(_PHONE_RE.match(text)) and len(re.sub(r"\D", "", text)) >= 7


def is_phi_search_term(text):
    """Whether a search term is a date of birth, phone number or e-mail (kept out of URLs)."""
    return parse_search_date(text) is not None or looks_like_phone(text) or "@" in text


class PatientQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(status=PatientStatus.ACTIVE)

    def by_prescriber(self, provider):
        return self.filter(primary_prescriber=provider)

    def possible_duplicates(self):
        """The patients sharing their company, last name (any case) and date of birth
        (its blind index) with another: the dashboard's "possible duplicate patients"
        and the data-quality check of that name. Each row's twin is looked up through
        ``patient_duplicates_idx``."""
        twins = (
            Patient._base_manager.filter(company=OuterRef("company"), dob_bidx=OuterRef("dob_bidx"))
            .annotate(last=Lower("last_name"))
            .filter(last=Lower(OuterRef("last_name")))
            .exclude(pk=OuterRef("pk"))
        )
        return self.filter(Exists(twins), dob_bidx__isnull=False)

    def search(self, text):
        """The one patient search (admin, autocomplete, API).

        - ``P-000123`` (or ``p-123``): that patient number exactly;
        - a date (``1950-01-02``, ``01/02/1950``): date of birth, through the blind index;
        - a phone number (digits and ``()-. +``): phone, through the blind index;
        - an e-mail address: e-mail, through the blind index;
        - otherwise names, by prefix: ``smi`` (last or first name), ``Doe, Ja`` (last,
          first), ``Jane Doe`` (first last, or last first).

        Prefixes run on the indexed name columns (see the migrations); nothing scans,
        and a page of a name search reads about a page of rows (``name_search``).
        """
        text = " ".join((text or "").split())
        if not text:
            return self
        if number := parse_patient_number(text):
            return self.filter(number=number)
        if (date := parse_search_date(text)) is not None:
            return self.filter_blind("dob", date)
        if looks_like_phone(text):
            return self.filter_blind("phone", text)
        if "@" in text:
            return self.filter_blind("email", text)
        if "," in text:
            last, _, first = (part.strip() for part in text.partition(","))
            return self.filter(NameSearch((NameBranch(last=last, first=first or None),)))
        words = text.split(" ")
        branches = [NameBranch(last=text), NameBranch(first=text)]
        if len(words) > 1:
            branches.append(NameBranch(first=" ".join(words[:-1]), last=words[-1]))
            branches.append(NameBranch(last=words[0], first=" ".join(words[1:])))
        return self.filter(NameSearch(tuple(branches)))

    def __getitem__(self, k):
        # A page of a name search gets a plan that reads about a page of rows whatever
        # the table's size (clinical.models.name_search); everything else as Django does.
        if isinstance(k, slice) and k.stop is not None and self._result_cache is None:
            source = self
            if not self.query.order_by and not self.query.default_ordering:
                # Unordered (a bounded count): any rows will do, so the first ones in
                # the name order, planned. Left to the planner,
                # the bounded count of `smi` walked the name index at 1M patients and
                # read 279,008 entries to count 1,001 (201 ms).
                source = self.order_by(*NAME_ORDER) if has_name_search(self) else self
            planned = plan_name_page(source, k.stop)
            if planned is not None:
                return planned[k]
        return super().__getitem__(k)

    def exists(self):
        # "Is there a match?" is a page of one row: left to its estimates, the planner
        # walked the name index for it and read 83,656 rows to find the first Smith at
        # 100,000 patients (24 ms; the search's own page took 1).
        if self._result_cache is None and has_name_search(self):
            planned = plan_name_page(self.order_by(*NAME_ORDER), 1)
            if planned is not None:
                return planned.exists()
        return super().exists()


class PatientNumberCounter(CompanyNumberCounter):
    """The last patient number (P-000123) given out in a company."""


class Patient(TenantModel):
    """A person the company supplies equipment to or cares for.

    Names are plaintext so staff can search and sort; every other identifier is
    encrypted, and the three that staff look people up by (date of birth, phone,
    e-mail) have a blind index. The patient number (``P-000123``) is drawn per company
    on creation. Every view of a patient is written to the access log. Patients are
    not narrowed by location: whoever takes a call must find any patient of the company.
    """

    number = models.CharField(
        "patient number", max_length=16, editable=False, help_text="Generated, as P-000123."
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    dob = EncryptedDateField("date of birth")
    dob_bidx = BlindIndexField(source="dob", normalizer=normalize_date)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = EncryptedCharField(max_length=30, blank=True)
    phone_bidx = BlindIndexField(source="phone", normalizer=normalize_phone)
    email = EncryptedEmailField("e-mail", max_length=254, blank=True)
    email_bidx = BlindIndexField(source="email", normalizer=normalize_email)
    address_line1 = EncryptedCharField("address", max_length=200, blank=True)
    address_line2 = EncryptedCharField("address line 2", max_length=200, blank=True)
    city = EncryptedCharField(max_length=100, blank=True)
    # The state alone is not an identifier (HIPAA Safe Harbor keeps states) and decides
    # the DME MAC jurisdiction, so it stays plaintext and filterable.
    state = models.CharField(max_length=2, blank=True, validators=[US_STATE])
    postal_code = EncryptedCharField("ZIP code", max_length=10, blank=True)
    emergency_contact_name = EncryptedCharField(max_length=200, blank=True)
    emergency_contact_phone = EncryptedCharField(max_length=30, blank=True)
    emergency_contact_relationship = EncryptedCharField(max_length=50, blank=True)
    ssn_last4 = EncryptedCharField("SSN (last 4)", max_length=4, blank=True, validators=[SSN_LAST4])
    home_location = models.ForeignKey(
        "accounts.Location",
        verbose_name="home location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    primary_prescriber = models.ForeignKey(
        "clinical.Provider",
        verbose_name="primary prescriber",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patients",
    )
    status = models.CharField(
        max_length=16, choices=PatientStatus.choices, default=PatientStatus.ACTIVE
    )
    notes = EncryptedTextField(blank=True)
    # Notifications (core.notifications): the channel tried first, and the opt-out.
    notification_channel = models.CharField(
        "notify by",
        max_length=8,
        choices=Channel.choices,
        default=Channel.EMAIL,
        blank=True,
        help_text="Appointment, delivery and resupply messages go here first "
        "(the other channel when this one has no contact on file).",
    )
    notifications_opt_out = models.BooleanField(
        "no notifications",
        default=False,
        help_text="The patient asked not to get e-mails or text messages from us.",
    )

    objects: ClassVar = PatientQuerySet.as_manager()

    access_logged = True

    class Meta:
        ordering = ["last_name", "first_name", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="patient_company_number_uniq",
                violation_error_message="This company already has a patient with this number.",
            ),
        ]
        indexes = [
            # The changelist's sort and the exact-name lookups; prefix search uses the
            # upper-case pattern indexes added on PostgreSQL (migration 0002).
            models.Index(fields=["company", "last_name", "first_name"], name="patient_name_idx"),
            # List filters: status and home location within a company.
            models.Index(fields=["company", "status"], name="patient_status_idx"),
            # The admin's state filter lists the company's distinct states: an index-only
            # scan instead of reading every patient row (8 ms against 49 ms at 100,000).
            models.Index(fields=["company", "state"], name="patient_state_idx"),
            # The intake dashboard's possible duplicates (same last name, any case, and
            # date of birth): an index-only scan in group order instead of a sequential
            # scan and a hash aggregate spilling to disk (649 ms -> 130 ms at 100,000).
            models.Index(
                F("company"),
                Lower("last_name"),
                F("dob_bidx"),
                include=["last_name", "id"],
                condition=Q(dob_bidx__isnull=False),
                name="patient_duplicates_idx",
            ),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="patient_updated_idx"),
        ]

    def __str__(self):
        # str() reaches log lines, admin messages, the audit trail's object_repr and
        # exception texts: the number only. Staff screens use display_name.
        return self.number or "new patient"

    @property
    def display_name(self):
        """``Doe, Jane (P-000123)``: for staff screens (autocomplete, list columns)."""
        return f"{self.last_name}, {self.first_name} ({self.number or 'new'})"

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    def clean(self):
        super().clean()
        self.state = self.state.upper()
        if self.dob and self.dob > timezone.localdate():
            raise ValidationError({"dob": "The date of birth is in the future."})
        if (
            self.company_id
            and self.primary_prescriber_id
            and self.primary_prescriber.company_id != self.company_id
        ):
            raise ValidationError({"primary_prescriber": "This provider is not in your company."})

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.state = self.state.upper()
        with transaction.atomic():
            if not self.number:
                self.number = format_patient_number(
                    PatientNumberCounter.next_number(self.company_id)
                )
            super().save(*args, **kwargs)
