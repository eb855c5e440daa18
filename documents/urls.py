"""Document downloads, audit packets (staff) and the prescriber's signing page."""

from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("<uuid:pk>/download/", views.download, name="download"),
    path("claims/<uuid:pk>/audit-packet/", views.audit_packet, name="audit-packet"),
    # The token is the only credential of the signing page (no login).
    path("sign/<str:token>/", views.sign, name="sign"),
]
