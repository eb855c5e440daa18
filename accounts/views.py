"""Browser pages of accounts: choosing the company a staff member acts for, and the
set-password / forgotten-password pages (Django's views, the admin's templates)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.exceptions import ServiceError

from . import services
from .passwords import PasswordResetRequestForm, ResetSetPasswordForm
from .tenancy import SESSION_KEY


@login_required
@require_POST
def switch_company(request):
    """Make another of the user's companies the active one for this session."""
    try:
        membership = services.switch_company(request.user, request.POST.get("company"))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        request.session[SESSION_KEY] = str(membership.company_id)
        messages.success(request, f"You are now working in {membership.company}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "admin:index"
    return redirect(target)


class PasswordResetView(auth_views.PasswordResetView):
    """ "Forgotten your password?": e-mails a set-password link (same page whether or
    not the address has an account)."""

    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password-reset-done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The page a set-password link opens; the password is set by the service."""

    form_class = ResetSetPasswordForm
    success_url = reverse_lazy("accounts:password-reset-complete")
