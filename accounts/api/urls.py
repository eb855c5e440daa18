from django.urls import path
from rest_framework.routers import SimpleRouter

from . import auth, views

# Registered into the one /api/v1/ router by config/urls.py.
router = SimpleRouter()
router.register("companies", views.CompanyViewSet, basename="company")
router.register("locations", views.LocationViewSet, basename="location")
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("auth/token/", auth.TokenObtainView.as_view(), name="token_obtain_pair"),
    path("auth/token/refresh/", auth.TokenRefreshThrottledView.as_view(), name="token_refresh"),
    path("auth/logout/", auth.LogoutView.as_view(), name="logout"),
    path("auth/sessions/", auth.SessionListView.as_view(), name="sessions"),
    path(
        "auth/sessions/<str:session_id>/", auth.SessionDetailView.as_view(), name="session-detail"
    ),
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
