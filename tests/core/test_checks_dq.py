"""The data-quality building blocks (portable SQL, streamed passes, generated tenant
checks), core's own checks, and the whole registry on the demo data."""

import datetime
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from clinical.models import Patient
from core.models import AccessLog
from core.quality import Severity, get_checks
from core.quality import registry as registry_module
from core.quality.checks import (
    MODIFIER_ITEM,
    AddDays,
    JSONArrayLength,
    invalid_values,
    json_array_pattern,
    register_tenant_checks,
    relation_mismatch,
    tenant_relations,
)
from core.quality.runner import run_checks
from core.validators import validate_npi
from hme.models import Claim
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.hme.factories import ClaimFactory, PayerFactory, claim_line


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("[]", True),
        ('["RR"]', True),
        ('["RR", "KH", "KX", "59"]', True),
        ('["RR","KH"]', True),
        ('["RR", "KH", "KX", "59", "LT"]', False),
        ('["rr"]', False),
        ('["RRR"]', False),
        ('"RR"', False),
        ('["RR", 1]', False),
    ],
)
def test_json_array_pattern_matches_lists_of_items(text, matches):
    pattern = json_array_pattern(MODIFIER_ITEM, max_items=4)
    assert bool(re.search(pattern, text)) is matches


def test_json_array_pattern_counts_items():
    one_to_three = json_array_pattern("[0-9]", min_items=1, max_items=3)
    assert [bool(re.search(one_to_three, t)) for t in ("[]", "[1]", "[1, 2, 3]", "[1,2,3,4]")] == [
        False,
        True,
        True,
        False,
    ]
    assert re.search(json_array_pattern("[0-9]", min_items=2), "[1, 2, 3, 4, 5]")
    assert not re.search(json_array_pattern("[0-9]", min_items=2), "[1]")


@pytest.mark.django_db
def test_add_days_and_json_array_length_run_in_sql(company):
    payer = PayerFactory(company=company, timely_filing_days=31)
    ClaimFactory(
        company=company,
        coverage__payer=payer,
        diagnosis_codes=["G4733", "J449"],
        lines=[claim_line(date_of_service=datetime.date(2024, 2, 1))],
    )
    row = Claim.objects.annotate(
        deadline=AddDays(F("lines__date_of_service"), F("payer__timely_filing_days")),
        codes=JSONArrayLength("diagnosis_codes"),
    ).get()
    # 2024 is a leap year: February has 29 days.
    assert str(row.deadline)[:10] == "2024-03-03"
    assert row.codes == 2
    assert (
        Claim.objects.filter(
            payer__isnull=False,
        )
        .alias(deadline=AddDays(F("lines__date_of_service"), F("payer__timely_filing_days")))
        .filter(deadline__lt=datetime.date(2024, 3, 4))
        .count()
        == 1
    )


@pytest.mark.django_db
def test_invalid_values_streams_and_keeps_ten_samples(company):
    providers = ProviderFactory.create_batch(13, company=company)
    bad = sorted(providers, key=lambda p: p.pk)[:12]
    for number, provider in enumerate(bad):
        type(provider).objects.filter(pk=provider.pk).update(npi=f"00000000{number:02d}")
    outcome = invalid_values(type(providers[0]).objects.all(), "npi", validate_npi, what="NPIs")
    assert outcome.count == 12
    assert len(outcome.sample_ids) == 10
    assert set(outcome.sample_ids) <= {p.pk for p in bad}
    assert outcome.detail == "12 of 13 NPIs invalid."
    assert "0000" not in outcome.detail


@pytest.mark.django_db
def test_relation_mismatch_ignores_rows_where_either_side_is_empty(company):
    claim = ClaimFactory(company=company)
    assert list(relation_mismatch(Claim, "coverage__patient", "patient")) == []
    Claim.objects.filter(pk=claim.pk).update(patient=PatientFactory(company=company))
    assert list(relation_mismatch(Claim, "coverage__patient", "patient")) == [claim]


def test_tenant_relations_cover_foreign_keys_between_tenant_models_only():
    pairs = {(m._meta.label, f.name) for m, f in tenant_relations("clinical")}
    assert ("clinical.Patient", "primary_prescriber") in pairs
    assert ("clinical.DigitalTwin", "patient") in pairs  # one-to-one too
    assert ("clinical.Patient", "home_location") in pairs  # accounts.Location is a tenant
    assert not {name for _, name in pairs} & {"company", "created_by", "updated_by", "user"}
    assert list(tenant_relations("accounts")) == []  # Membership -> Company is not a tenant


def test_registering_an_apps_tenant_checks_twice_is_refused():
    before = dict(registry_module._registry)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_tenant_checks("clinical")
    finally:
        registry_module._registry.clear()
        registry_module._registry.update(before)


def test_every_check_says_what_and_why_and_names_its_model():
    checks = get_checks()
    assert len(checks) > 100
    for check in checks:
        assert check.description.endswith((".", ")")), check.name
        assert len(check.description) <= 300, check.name
        assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", check.name), check.name
        if not check.name.startswith("core.") and not check.name.endswith("_freshness"):
            assert check.model is not None, check.name


@pytest.mark.django_db
def test_access_log_freshness(company, personas):
    assert run_checks(["core.access_log_freshness"]).findings.get().passed
    from django.contrib.contenttypes.models import ContentType

    AccessLog.objects.create(
        company=company,
        content_type=ContentType.objects.get_for_model(Patient),
        object_id="1",
        via="api",
        action="view",
    )
    assert run_checks(["core.access_log_freshness"]).findings.get().passed
    AccessLog.objects.update(timestamp=timezone.now() - timedelta(hours=97))
    finding = run_checks(["core.access_log_freshness"]).findings.get()
    assert (finding.passed, finding.count) == (False, 1)


@pytest.mark.django_db
def test_every_check_runs_on_an_empty_database():
    run = run_checks()
    crashed = [f.check_name for f in run.findings.all() if "crashed" in f.detail]
    assert crashed == []
    failing = {f.check_name for f in run.findings.filter(passed=False)}
    assert failing == {"core.backup_freshness"}  # no backup yet: the one honest warning


@pytest.mark.django_db
def test_the_demo_data_passes_every_error_check(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    run = run_checks()
    findings = list(run.findings.all())
    assert [f.check_name for f in findings if "crashed" in f.detail] == []
    failing_errors = [
        (f.check_name, f.count, f.detail)
        for f in findings
        if not f.passed and f.severity == Severity.ERROR
    ]
    assert failing_errors == []
    assert run.failed_errors == 0
    # Details carry figures, never a patient's name.
    names = set(Patient.objects.values_list("last_name", flat=True))
    assert names
    assert not [f.detail for f in findings if any(name in f.detail for name in names)]
