"""Admin of sign-in security: unlock an account, reset its MFA, end its sessions.

Operators see every account; a company's Administrator sees their company's staff
(``User.objects.for_user``), and another company's user is a 404. Every action calls
the one service of ``accounts.security`` / ``accounts.sessions`` and is written to the
compliance log there.
"""

from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db.models import Exists, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from .choices import Role
from .security.lockout import cool_off_start, locked_addresses, unlock_account, unlock_address
from .security.mfa import reset_mfa
from .security.models import SignInSecurity
from .sessions import end_all_sessions, end_session, sessions_of
from .tenancy import get_active_membership


def _may_manage(request):
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    membership = get_active_membership(user)
    return membership is not None and membership.role == Role.ADMINISTRATOR


def _company_id(request):
    membership = get_active_membership(request.user)
    return membership.company_id if membership else None


@admin.register(SignInSecurity)
class SignInSecurityAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "locked_out", "mfa_enrolled"]
    search_fields = ["^email", "^last_name"]
    actions = ["unlock_selected", "reset_mfa_selected", "end_sessions_selected"]
    list_per_page = 50

    def has_module_permission(self, request):
        return _may_manage(request)

    def has_view_permission(self, request, obj=None):
        return _may_manage(request)

    def has_change_permission(self, request, obj=None):
        return _may_manage(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        failures = (
            AccessAttempt.objects.filter(
                username=OuterRef("email"), attempt_time__gte=cool_off_start()
            )
            .values("username")
            .annotate(n=Sum("failures_since_start"))
            .values("n")
        )
        return (
            SignInSecurity.objects.for_user(request.user)
            .annotate(
                recent_failures=Coalesce(Subquery(failures, output_field=IntegerField()), 0),
                has_mfa=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            )
            .order_by("email")
        )

    @admin.display(description="name")
    def full_name(self, obj):
        return obj.get_full_name()

    @admin.display(description="locked out", boolean=True)
    def locked_out(self, obj):
        from django.conf import settings

        return obj.recent_failures >= settings.LOCKOUT_FAILURES

    @admin.display(description="MFA", boolean=True)
    def mfa_enrolled(self, obj):
        return obj.has_mfa

    # Actions on the selected rows (already scoped by get_queryset).
    @admin.action(description="Unlock the selected accounts")
    def unlock_selected(self, request, queryset):
        for user in queryset:
            unlock_account(user, actor=request.user, request=request, company=_company_id(request))
        self.message_user(request, f"Unlocked {len(queryset)} account(s).", messages.SUCCESS)

    @admin.action(description="Reset two-step sign-in (MFA) of the selected accounts")
    def reset_mfa_selected(self, request, queryset):
        for user in queryset:
            reset_mfa(user, actor=request.user, request=request, company=_company_id(request))
        self.message_user(
            request,
            f"Reset MFA of {len(queryset)} account(s): they set it up again at next sign-in.",
            messages.SUCCESS,
        )

    @admin.action(description="End every session and token of the selected accounts")
    def end_sessions_selected(self, request, queryset):
        ended = sum(
            end_all_sessions(
                user,
                actor=request.user,
                request=request,
                company=_company_id(request),
                keep_session_key=request.session.session_key,
            )
            for user in queryset
        )
        self.message_user(request, f"Ended {ended} session(s) and token(s).", messages.SUCCESS)

    # One account's page: its state, sessions and the same three buttons.
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:pk>/unlock/", wrap(require_POST(self.unlock_view)), name=self._name("unlock")
            ),
            path(
                "<uuid:pk>/reset-mfa/",
                wrap(require_POST(self.reset_mfa_view)),
                name=self._name("reset-mfa"),
            ),
            path(
                "<uuid:pk>/end-session/",
                wrap(require_POST(self.end_session_view)),
                name=self._name("end-session"),
            ),
            path("addresses/", wrap(self.addresses_view), name=self._name("addresses")),
            *super().get_urls(),
        ]

    def _name(self, action):
        return f"accounts_signinsecurity_{action}"

    def _scoped(self, request, pk):
        if not _may_manage(request):
            raise Http404
        user = self.get_queryset(request).filter(pk=pk).first()
        if user is None:
            raise Http404
        return user

    def _back(self, user):
        return redirect(reverse("admin:accounts_signinsecurity_change", args=[user.pk]))

    def addresses_view(self, request):
        """Operators: the client addresses locked now, and unlocking one (an address is
        no one company's, so company Administrators do not get this page)."""
        if not (request.user.is_active and request.user.is_superuser):
            raise Http404
        if request.method == "POST":
            address = request.POST.get("ip_address", "")
            if address not in locked_addresses():
                raise Http404
            unlock_address(address, actor=request.user, request=request)
            self.message_user(request, f"Unlocked {address}.", messages.SUCCESS)
            return redirect(reverse("admin:accounts_signinsecurity_addresses"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Locked client addresses",
            "addresses": sorted(locked_addresses().items()),
        }
        return TemplateResponse(request, "admin/accounts/locked_addresses.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self._scoped(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Sign-in security: {user.email}",
            "account": user,
            "locked_out": self.locked_out(user),
            "sessions": sessions_of(user, current_session_key=request.session.session_key),
        }
        return TemplateResponse(request, "admin/accounts/signin_security.html", context)

    def unlock_view(self, request, pk):
        user = self._scoped(request, pk)
        unlock_account(user, actor=request.user, request=request, company=_company_id(request))
        self.message_user(request, "The account is unlocked.", messages.SUCCESS)
        return self._back(user)

    def reset_mfa_view(self, request, pk):
        user = self._scoped(request, pk)
        reset_mfa(user, actor=request.user, request=request, company=_company_id(request))
        self.message_user(request, "MFA is reset: set up again at next sign-in.", messages.SUCCESS)
        return self._back(user)

    def end_session_view(self, request, pk):
        user = self._scoped(request, pk)
        session_id = request.POST.get("session", "")
        if session_id == "all":
            ended = end_all_sessions(
                user,
                actor=request.user,
                request=request,
                company=_company_id(request),
                keep_session_key=request.session.session_key,
            )
            self.message_user(request, f"Ended {ended} session(s) and token(s).", messages.SUCCESS)
        elif end_session(
            user, session_id, actor=request.user, request=request, company=_company_id(request)
        ):
            self.message_user(request, "The session is ended.", messages.SUCCESS)
        else:
            raise Http404
        return self._back(user)
