"""Browser pages of the second sign-in step: enrolment (TOTP app + recovery codes) and
the code prompt. Both act only on the signed-in user's own devices."""

import django_otp
import segno
from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from . import mfa


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _next_url(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return reverse("admin:index")
    return target


def _context(request, **extra):
    return {**admin.site.each_context(request), "next": _next_url(request), **extra}


@login_required
def enrol(request):
    """Add an authenticator app: scan the code, type the first code; then the recovery
    codes are shown, once."""
    if mfa.has_device(request.user):
        return redirect("accounts:mfa-verify" if not request.user.is_verified() else "admin:index")
    device = mfa.pending_totp_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = mfa.confirm_enrolment(
            request.user, device, form.cleaned_data["code"].strip(), request=request
        )
        if result is None:
            form.add_error("code", "That code is not right. Check the app's clock and try again.")
        else:
            confirmed, codes = result
            django_otp.login(request, confirmed)
            request.session[mfa.SESSION_STATE] = mfa.VERIFY
            return render(
                request,
                "accounts/mfa_recovery_codes.html",
                _context(request, title="Your recovery codes", codes=codes),
            )
    # segno writes plain SVG (no script): safe inline under the CSP.
    qr_svg = mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4))  # noqa: S308
    return render(
        request,
        "accounts/mfa_enrol.html",
        _context(
            request,
            title="Set up two-step sign-in",
            form=form,
            qr_svg=qr_svg,
            secret=_base32(device),
            required=mfa.mfa_required(request.user),
        ),
    )


def _base32(device):
    from base64 import b32encode

    return b32encode(device.bin_key).decode().rstrip("=")


@login_required
def verify(request):
    """The second step of signing in: a code from the app, or one recovery code."""
    if not mfa.has_device(request.user):
        # Reset by an Administrator since sign-in: enrol again (or go on, if optional).
        request.session[mfa.SESSION_STATE] = mfa.sign_in_state(request.user)
        if request.session[mfa.SESSION_STATE] == mfa.ENROL:
            return redirect("accounts:mfa-enrol")
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.verify_code(request.user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", "That code is not right (or the recovery code was used).")
        else:
            django_otp.login(request, device)
            return redirect(_next_url(request))
    return render(
        request, "accounts/mfa_verify.html", _context(request, title="Two-step sign-in", form=form)
    )
