from django.urls import path

from . import views
from .security import views as security_views

app_name = "accounts"

urlpatterns = [
    path("switch-company/", views.switch_company, name="switch-company"),
    path("mfa/enrol/", security_views.enrol, name="mfa-enrol"),
    path("mfa/verify/", security_views.verify, name="mfa-verify"),
]
