"""seed_demo: usage for the demo's PAP rentals, evaluated; --scale adds a training set."""

import pytest
from django.core.management import call_command

from adherence import rules, services
from adherence.choices import AdherenceState
from adherence.models import AdherenceStatus, UsageImport, UsageNight


@pytest.mark.django_db
def test_it_seeds_usage_once():
    call_command("seed_demo", allow_production=True)
    counts = (UsageNight.objects.count(), UsageImport.objects.count())
    states = set(AdherenceStatus.objects.values_list("state", flat=True))
    assert counts[0] > 0
    assert AdherenceState.MET in states
    assert states & {AdherenceState.AT_RISK, AdherenceState.NOT_MET}
    call_command("seed_demo", allow_production=True)
    assert (UsageNight.objects.count(), UsageImport.objects.count()) == counts


@pytest.mark.django_db
def test_the_scaled_demo_evaluates_every_new_pap_rental():
    call_command("seed_demo", allow_production=True, scale=40)
    statuses = list(AdherenceStatus.objects.select_related("rental"))
    assert len(statuses) > 2
    for status in statuses:
        again = rules.evaluate(
            status.rental.start_date, services.nights_of(status.rental), status.evaluated_at.date()
        )
        assert again.state == status.state
    assert (
        AdherenceStatus.objects.filter(
            rental__in=services.pap_rentals(statuses[0].company).exclude(status="returned")
        ).count()
        >= len(statuses) - 2
    )
