"""The generic API tests (CRUD, roles, tenancy, query counts, access log) for every
billing endpoint."""

import datetime

from django.utils import timezone

from hme.models import Claim
from tests.api_base import TenantAPITests
from tests.clinical.factories import DiagnosisFactory, PatientFactory
from tests.factories import LocationFactory
from tests.hme.factories import (
    AuthorizationFactory,
    ClaimFactory,
    CoverageFactory,
    PayerFactory,
    PaymentFactory,
)


class TestPayerAPI(TenantAPITests):
    basename = "payer"
    factory = PayerFactory

    def create_data(self, company):
        return {
            "name": "Aetna",
            "payer_id": "60054",
            "kind": "commercial",
            "timely_filing_days": 180,
            "state": "ct",
        }

    def update_data(self, obj):
        return {"phone": "(800) 555-0142"}


class TestCoverageAPI(TenantAPITests):
    basename = "coverage"
    factory = CoverageFactory

    def create_data(self, company):
        return {
            "patient": str(PatientFactory(company=company).pk),
            "payer": str(PayerFactory(company=company).pk),
            "member_id": "1EG4-TE5-MK73",
            "priority": "primary",
            "effective_date": "2025-01-01",
        }

    def update_data(self, obj):
        return {"group_number": "GRP-7781"}


class TestAuthorizationAPI(TenantAPITests):
    basename = "authorization"
    factory = AuthorizationFactory

    def create_data(self, company):
        return {
            "coverage": str(CoverageFactory(company=company).pk),
            "hcpcs_codes": ["k0823"],
            "notes": "Faxed the face-to-face note.",
        }

    def update_data(self, obj):
        return {"notes": "Payer called back."}


class TestClaimAPI(TenantAPITests):
    basename = "claim"
    factory = ClaimFactory
    deletable = False

    def create_data(self, company):
        coverage = CoverageFactory(company=company)
        DiagnosisFactory(company=company, patient=coverage.patient, code="G4733")
        return {
            "patient": str(coverage.patient.pk),
            "coverage": str(coverage.pk),
            "billing_location": str(LocationFactory(company=company).pk),
            "diagnosis_codes": ["G47.33"],
            "lines": [
                {
                    "date_of_service": (
                        timezone.localdate() - datetime.timedelta(days=3)
                    ).isoformat(),
                    "hcpcs": "e0601",
                    "modifiers": ["nu"],
                    "units": 1,
                    "charge": "850.00",
                    "diagnosis_pointers": [1],
                }
            ],
        }

    def update_data(self, obj):
        return {"diagnosis_codes": ["G4733"]}

    def test_it_creates(self, company, writer, api_client_for):
        # Claims are billed (from-delivery, from-rental, the rental run), never typed.
        response = api_client_for(writer).post(
            self.list_url(), self.create_data(company), format="json"
        )
        assert response.status_code == 405, response.content
        assert response.json()["error"]["code"] == "method_not_allowed"
        assert not Claim.objects.exists()


class TestPaymentAPI(TenantAPITests):
    basename = "payment"
    factory = PaymentFactory
    deletable = False

    def create_data(self, company):
        return {
            "payer": str(PayerFactory(company=company).pk),
            "method": "check",
            "number": "CHK-000981",
            "paid_date": timezone.localdate().isoformat(),
            "amount": "1250.00",
        }

    def update_data(self, obj):
        return {"note": "Lockbox batch 12"}
