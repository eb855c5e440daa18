from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("documents", views.DocumentViewSet, basename="document")
router.register("fax-intakes", views.FaxIntakeViewSet, basename="faxintake")
router.register("signing-requests", views.SigningRequestViewSet, basename="signingrequest")
router.register("legal-holds", views.LegalHoldViewSet, basename="legalhold")
router.register("audit-packets", views.AuditPacketViewSet, basename="auditpacket")
