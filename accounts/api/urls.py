from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("companies", views.CompanyViewSet, basename="company")
router.register("locations", views.LocationViewSet, basename="location")
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token_obtain_pair"),
    path("auth/token/refresh/", views.TokenRefreshThrottledView.as_view(), name="token_refresh"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.MyPasswordView.as_view(), name="me-password"),
    path(
        "auth/password-reset/",
        views.PasswordResetRequestView.as_view(),
        name="password-reset",
    ),
    path(
        "auth/password-reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
]
