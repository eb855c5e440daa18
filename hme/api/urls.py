from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("payers", views.PayerViewSet, basename="payer")
router.register("coverages", views.CoverageViewSet, basename="coverage")
router.register("authorizations", views.AuthorizationViewSet, basename="authorization")
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("edi-batches", views.SubmissionBatchViewSet, basename="edi-batch")

# Ready to bill: the readiness of a dme order, served here (dme cannot import hme).
urlpatterns = [
    path(
        "orders/<uuid:pk>/readiness/",
        views.OrderReadinessViewSet.as_view({"get": "retrieve"}),
        name="order-readiness",
    ),
]
router.register("remittances", views.RemittanceViewSet, basename="remittance")
router.register(
    "unmatched-remittances", views.UnmatchedRemittanceViewSet, basename="unmatched-remittance"
)
router.register("patient-payments", views.PatientPaymentViewSet, basename="patient-payment")
