"""Two administrators stepping down at the same moment leave one (PostgreSQL)."""

import pytest

from accounts import services
from accounts.choices import Role
from accounts.models import Membership
from core.exceptions import Conflict
from tests.concurrency import race
from tests.factories import member


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["demote", "remove"])
def test_two_concurrent_demotions_never_leave_zero_administrators(postgres_only, company, change):
    first = member(company, Role.ADMINISTRATOR, email="first@a.test")
    second = member(company, Role.ADMINISTRATOR, email="second@a.test")

    def step_down(user):
        membership = user.memberships.get()
        if change == "demote":
            return services.change_role(membership, Role.AUDITOR, actor=user)
        return services.remove_member(membership, actor=user)

    results = race([lambda: step_down(first), lambda: step_down(second)])

    outcomes = sorted(type(result).__name__ for result in results)
    assert outcomes == ["Conflict", "Membership"], results
    assert any(isinstance(result, Conflict) for result in results)
    assert Membership.objects.active().administrators().filter(company=company).count() == 1
