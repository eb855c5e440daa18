"""Every billing ModelAdmin through the generic admin tests (changelist, change and add
pages per role, another company's record a 404, constant changelist queries)."""

from hme.models import Authorization, Claim, Coverage, Payer, Payment
from tests.admin_base import TenantAdminTests

from .factories import (
    AuthorizationFactory,
    ClaimFactory,
    CoverageFactory,
    PayerFactory,
    PaymentFactory,
)


class TestPayerAdmin(TenantAdminTests):
    model = Payer
    factory = PayerFactory


class TestCoverageAdmin(TenantAdminTests):
    model = Coverage
    factory = CoverageFactory


class TestAuthorizationAdmin(TenantAdminTests):
    model = Authorization
    factory = AuthorizationFactory


class TestClaimAdmin(TenantAdminTests):
    model = Claim
    factory = ClaimFactory


class TestPaymentAdmin(TenantAdminTests):
    model = Payment
    factory = PaymentFactory
