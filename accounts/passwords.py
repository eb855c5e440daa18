"""Password e-mails and forms: set-password invitations, resets, the admin's pages.

Passwords change only by the person themself, through a reset e-mail, or by an
operator (``accounts.services``). Whatever the path (these forms, the API, the admin's
own "change password" page, ``manage.py changepassword``), ``User.save`` reports the
change to :func:`record_password_change`, so none escapes the compliance log.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.choices import ComplianceKind
from core.compliance import record_event
from core.context import get_actor

SUBJECT_TEMPLATE = "accounts/password_reset_subject.txt"
EMAIL_TEMPLATE = "accounts/password_reset_email.txt"
# Set by accounts.services before a save, read once by record_password_change.
if TYPE_CHECKING:
    from .models import User

RESET_FLAG = "_password_reset"


def record_password_change(user):
    """One compliance event for a password just saved (45 CFR 164.308(a)(5)(ii)(D))."""
    reset = user.__dict__.pop(RESET_FLAG, False)
    actor = get_actor() or user
    if reset:
        by = "reset"
    elif actor.pk == user.pk:
        by = "self"
    else:
        by = "operator"
    record_event(
        ComplianceKind.PASSWORD_RESET if reset else ComplianceKind.PASSWORD_CHANGED,
        actor=actor,
        target=user,
        detail={"by": by},
    )


def reset_link(user, request=None):
    """The absolute URL of ``user``'s set-password page (valid for PASSWORD_RESET_TIMEOUT)."""
    path = reverse(
        "accounts:password-reset-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, also for accounts that never had a password (invited
    members whose first e-mail expired); the same answer whether or not the address
    is known, so the page does not reveal who has an account."""

    def get_users(self, email):
        from .models import User

        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def save(self, request=None, **kwargs):
        for user in self.get_users(self.cleaned_data["email"]):
            send_set_password_email(user, request=request)


def send_set_password_email(user: "User", request: HttpRequest | None = None) -> None:
    context = {
        "user": user,
        "email": user.email,
        "link": reset_link(user, request),
        "site_name": "AriesOne",
    }
    PasswordResetForm().send_mail(
        SUBJECT_TEMPLATE, EMAIL_TEMPLATE, context, settings.DEFAULT_FROM_EMAIL, user.email
    )


class ResetSetPasswordForm(SetPasswordForm):
    """The page a reset link opens: sets the password through the service."""

    def save(self, commit=True):
        from . import services

        services.set_password(
            self.user, self.cleaned_data["new_password1"], actor=self.user, reset=True
        )
        return self.user


class OperatorPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's ``user/<id>/password/`` page (operators, or the user themself)."""

    def save(self, commit=True):
        from . import services

        if not self.cleaned_data["set_usable_password"]:
            services.disable_password(self.user, actor=get_actor())
            return self.user
        services.set_password(self.user, self.cleaned_data["password1"], actor=get_actor())
        return self.user
