"""Admin of accounts: staff (through memberships), companies, locations, memberships.

An account is global; a company's Administrator manages only the memberships of their
company. The account's e-mail, names, active and staff flags are read-only for them,
its password page is the operator's or its owner's, and every membership change goes
through ``accounts.services`` (the last Administrator stays, every change audited).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.admin import TenantAdmin, TenantInlineMixin, run_service
from core.admin_audit import NotFoundMixin
from core.tenancy import get_active_company_id

from . import services
from .admin_forms import (
    ACCOUNT_FIELDS,
    MembershipAddForm,
    MembershipForm,
    StaffUserForm,
    UserAddForm,
    UserChangeAdminForm,
    save_membership_form,
)
from .choices import Role
from .models import Company, Location, Membership, User
from .passwords import OperatorPasswordChangeForm


class MembershipInline(TenantInlineMixin, admin.TabularInline):
    """The user's membership in the active company (operators: every company's)."""

    model = Membership
    form = MembershipForm
    fk_name = "user"
    extra = 0
    fields = ["role", "locations", "is_active", "expires_on"]
    filter_horizontal = ["locations"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = Location.objects.for_user(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_add_permission(self, request, obj=None):
        # A membership is added from the user's add page or the membership admin.
        return False

    def has_delete_permission(self, request, obj=None):
        # Removal is "active" unticked: the history keeps pointing at the membership.
        return False


class RoleInCompanyFilter(admin.SimpleListFilter):
    """The role held in the active company (not in any company the person is in)."""

    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() not in Role.values:
            return queryset
        memberships = Membership.objects.for_user(request.user).filter(role=self.value())
        return queryset.filter(pk__in=memberships.values("user_id"))


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Staff of the active company. Only operators change accounts or grant operator
    rights; a company's Administrator changes the membership inline only."""

    form = UserChangeAdminForm
    add_form = UserAddForm
    change_password_form = OperatorPasswordChangeForm
    inlines = [MembershipInline]
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", RoleInCompanyFilter]
    search_fields = ["^email", "^first_name", "^last_name"]
    staff_fieldsets = [
        (None, {"fields": ["email"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Access", {"fields": ["is_active", "is_staff"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    operator_fieldsets = [
        (None, {"fields": ["email", "password"]}),
        *staff_fieldsets[1:3],
        ("Operator", {"fields": ["is_superuser", "user_permissions"]}),
        staff_fieldsets[3],
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email_address",
                    "company",
                    "role",
                    "first_name",
                    "last_name",
                    "expires_on",
                ],
            },
        ),
    ]
    filter_horizontal = ["user_permissions"]

    def get_inlines(self, request, obj):
        # On the add page the role field creates the membership.
        return self.inlines if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fieldsets = self.add_fieldsets
            if not request.user.is_superuser:
                fields = [f for f in fieldsets[0][1]["fields"] if f != "company"]
                fieldsets = [(None, {**fieldsets[0][1], "fields": fields})]
            return fieldsets
        return self.operator_fieldsets if request.user.is_superuser else self.staff_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if request.user.is_superuser:
            return ["last_login", "date_joined"]
        return [*ACCOUNT_FIELDS, "last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None and not request.user.is_superuser:
            kwargs["form"] = StaffUserForm
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            return form

        class RequestAddForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestAddForm

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def has_delete_permission(self, request, obj=None):
        # Deleting an account deletes it for every company: an operator's call.
        return request.user.is_superuser

    def user_change_password(self, request, id, form_url=""):
        """The set-password page: for operators, or for the person themself."""
        user = self.get_object(request, id)
        if user is None:
            raise Http404
        if not request.user.is_superuser and user.pk != request.user.pk:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        cleaned = form.cleaned_data
        membership = services.add_member(
            cleaned["company"],
            email=cleaned["email_address"],
            role=cleaned["role"],
            first_name=cleaned.get("first_name", ""),
            last_name=cleaned.get("last_name", ""),
            expires_on=cleaned.get("expires_on"),
            actor=request.user,
            request=request,
        )
        return membership.user

    def save_model(self, request, obj, form, change):
        if not change or not request.user.is_superuser:
            # Added by add_member (save_form); staff never write the account.
            return
        changed = form.changed_data
        account = {name: form.cleaned_data[name] for name in changed if name in ACCOUNT_FIELDS}
        if account:
            services.update_account(obj, actor=request.user, request=request, **account)
        other = [n for n in changed if n not in ACCOUNT_FIELDS and n != "user_permissions"]
        if other:
            obj.save(update_fields=other)

    def save_related(self, request, form, formsets, change):
        if not change:
            return
        if request.user.is_superuser:
            form.save_m2m()
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def save_formset(self, request, form, formset, change):
        # What formset.save() would record, for the admin's change message.
        formset.new_objects, formset.deleted_objects, formset.changed_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.instance.pk is not None and inline_form.has_changed():
                membership = save_membership_form(request, inline_form)
                formset.changed_objects.append((membership, inline_form.changed_data))


@admin.register(Company)
class CompanyAdmin(NotFoundMixin, admin.ModelAdmin):
    """Operators manage every company; a company's staff see (and, with the
    permission, edit) only the company they act for, never add or delete one."""

    list_display = ["name", "npi", "phone", "is_active"]
    search_fields = ["^name"]
    list_filter = ["is_active"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).for_user(request.user)
        if request.user.is_superuser:
            return queryset
        # Not every company the user belongs to: a role held in one company must not
        # edit another (the active one is the only one whose role applies).
        return queryset.filter(pk=get_active_company_id(request.user))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Location)
class LocationAdmin(TenantAdmin):
    list_display = ["name", "kind", "city", "state", "phone", "is_active"]
    list_filter = ["kind", "state", "is_active"]
    search_fields = ["^name", "^city"]


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "company", "role", "is_active", "expires_on"]
    list_filter = ["role", "is_active"]
    search_fields = ["^user__email", "^user__last_name"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["locations"]
    list_select_related = ["user", "company"]
    actions = ["remove_from_company"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["form"] = MembershipForm
            return super().get_form(request, obj, **kwargs)
        kwargs["form"] = MembershipAddForm
        form = super().get_form(request, obj, **kwargs)

        class RequestAddForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestAddForm

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj is not None else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # Removing is deactivating; deleting would cut the audit trail's links.
        return request.user.is_superuser

    def save_form(self, request, form, change):
        if change:
            return form.instance
        cleaned = form.cleaned_data
        return services.add_member(
            cleaned.get("company") or form.instance.company,
            email=cleaned["user"].email,
            role=cleaned["role"],
            locations=cleaned.get("locations", []),
            expires_on=cleaned.get("expires_on"),
            actor=request.user,
            request=request,
        )

    def save_model(self, request, obj, form, change):
        if change:
            save_membership_form(request, form)

    def save_related(self, request, form, formsets, change):
        # The service saved the locations.
        pass

    @admin.action(
        description="Remove the selected members from the company", permissions=["change"]
    )
    def remove_from_company(self, request, queryset):
        run_service(
            self,
            request,
            queryset.select_related("company", "user"),
            lambda membership: services.remove_member(
                membership, actor=request.user, request=request
            ),
            "removed from the company",
        )


# Sign-in security admin (unlock, MFA reset, sessions): accounts/admin_security.py.
from . import admin_security  # noqa: E402, F401
