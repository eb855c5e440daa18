"""The admin's view of staff accounts for sign-in security (lockout, MFA, sessions)."""

from accounts.models import User


class SignInSecurity(User):
    """A staff account seen for its sign-in security: locked out or not, second factor
    enrolled, live sessions. A proxy: no table of its own."""

    class Meta:
        proxy = True
        app_label = "accounts"
        verbose_name = "sign-in security"
        verbose_name_plural = "sign-in security"
