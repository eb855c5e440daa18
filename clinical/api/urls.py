from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("providers", views.ProviderViewSet, basename="provider")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("medical-records", views.MedicalRecordViewSet, basename="medicalrecord")
router.register("diagnoses", views.DiagnosisViewSet, basename="diagnosis")
router.register("biometric-alerts", views.BiometricAlertViewSet, basename="biometricalert")
router.register("ai-models", views.AIModelViewSet, basename="aimodel")
router.register("predictions", views.PredictionLogViewSet, basename="predictionlog")
router.register("health-insights", views.HealthInsightViewSet, basename="healthinsight")
router.register("digital-twins", views.DigitalTwinViewSet, basename="digitaltwin")
