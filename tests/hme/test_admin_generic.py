"""Every billing ModelAdmin through the generic admin tests (changelist, change and add
pages per role, another company's record a 404, constant changelist queries)."""

from hme.models import (
    Authorization,
    Claim,
    Coverage,
    FeeScheduleEntry,
    Payer,
    Payment,
    SupplierCharge,
)
from tests.admin_base import TenantAdminTests

from .factories import (
    AuthorizationFactory,
    ClaimFactory,
    CoverageFactory,
    FeeScheduleEntryFactory,
    PayerFactory,
    PaymentFactory,
    SupplierChargeFactory,
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
    # Claims are billed from deliveries and rentals, never added by hand.
    add_roles = ()


class TestFeeScheduleEntryAdmin(TenantAdminTests):
    model = FeeScheduleEntry
    factory = FeeScheduleEntryFactory


class TestSupplierChargeAdmin(TenantAdminTests):
    model = SupplierCharge
    factory = SupplierChargeFactory


class TestPaymentAdmin(TenantAdminTests):
    model = Payment
    factory = PaymentFactory
