from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .security import views as security_views

app_name = "accounts"

urlpatterns = [
    path("switch-company/", views.switch_company, name="switch-company"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("mfa/enrol/", security_views.enrol, name="mfa-enrol"),
    path("mfa/verify/", security_views.verify, name="mfa-verify"),
]
