"""The accounts ModelAdmins that hold company-owned rows through the generic admin tests.

Users and memberships have their own tests (tests/accounts/test_admin.py,
test_account_takeover.py): the personas themselves are memberships of the company, so
"only the company's rows" is not one row there.
"""

from accounts.models import Location
from tests.admin_base import TenantAdminTests
from tests.factories import LocationFactory


class TestLocationAdmin(TenantAdminTests):
    model = Location
    factory = LocationFactory
