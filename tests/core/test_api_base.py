"""The generic API tests, run on the patient-like test model and on locations."""

from accounts.choices import LocationKind
from tests.api_base import TenantAPITests
from tests.factories import LocationFactory, PHIRecordFactory


class TestPHIRecordAPI(TenantAPITests):
    basename = "phirecord"
    url_namespace = "testapi"
    factory = PHIRecordFactory

    def create_data(self, company):
        return {"name": "Ada Lovelace", "dob": "1950-01-02", "mbi": "1EG4TE5MK73"}

    def update_data(self, obj):
        return {"notes": "Changed mask size."}


class TestLocationAPI(TenantAPITests):
    basename = "location"
    factory = LocationFactory

    def create_data(self, company):
        return {
            "name": "North Clinic",
            "kind": LocationKind.CLINIC,
            "address_line1": "1 North St",
            "city": "Dublin",
            "state": "OH",
            "postal_code": "43017",
        }

    def update_data(self, obj):
        return {"phone": "(614) 555-0199"}
