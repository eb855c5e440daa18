"""The ICD-10-CM code table and ``manage.py load_icd10`` (simple-icd-10-cm)."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinical.models import ICD10Code

RELEASE = "2026-04-01"


def load(*codes, release=RELEASE):
    out = StringIO()
    call_command(
        "load_icd10", only=list(codes), release_date=release, stdout=out, stderr=StringIO()
    )
    return out.getvalue().strip().splitlines()[-1]


@pytest.mark.django_db
def test_it_loads_codes_with_billable_and_descriptions():
    summary = load("G47.33", "G47", "S72.001A")
    assert summary.startswith("ICD-10-CM release 2026-04-01: 3 codes read, 3 added")
    rows = {row.code: row for row in ICD10Code.objects.all()}
    assert rows["G4733"].billable is True
    assert rows["G4733"].description.startswith("Obstructive sleep apnea")
    assert rows["G47"].billable is False  # a category with subcategories
    assert rows["S72001A"].billable is True  # a 7th-character code
    # The first load: in force before this release (start unknown).
    assert rows["G4733"].effective_from is None
    assert str(rows["G4733"]) == "G47.33"


@pytest.mark.django_db
def test_it_is_idempotent_and_dates_new_codes():
    load("G47.33")
    assert load("G47.33").endswith("0 added, 0 updated, 0 ended, 1 unchanged.")
    load("I10", release="2026-10-01")
    assert ICD10Code.objects.get(code="I10").effective_from == datetime.date(2026, 10, 1)
    assert ICD10Code.objects.count() == 2


@pytest.mark.django_db
def test_effective_on():
    ICD10Code.objects.create(
        code="U071",
        description="COVID-19",
        billable=True,
        effective_from=datetime.date(2020, 4, 1),
        effective_to=datetime.date(2030, 9, 30),
    )
    assert ICD10Code.objects.effective_on(datetime.date(2020, 3, 31)).count() == 0
    assert ICD10Code.objects.effective_on(datetime.date(2026, 1, 1)).count() == 1


@pytest.mark.django_db
def test_a_bad_release_date_is_one_readable_line():
    with pytest.raises(CommandError, match="Give the date as 2026-04-01"):
        load("G47.33", release="April")


@pytest.mark.django_db
def test_unknown_codes_load_nothing():
    with pytest.raises(CommandError, match="listed no code"):
        load("ZZZ.99")
