from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from core.admin import TenantAdmin, TenantInlineMixin

from .choices import Role
from .models import Company, Location, Membership, User
from .tenancy import get_active_company


class UserCreationForm(AdminUserCreationForm):
    role = forms.ChoiceField(choices=Role.choices, help_text="Their role in your active company.")

    class Meta:
        model = User
        fields = ["email"]


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(TenantInlineMixin, admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["role", "locations", "is_active"]
    filter_horizontal = ["locations"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = Location.objects.for_user(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Staff of the active company. Only operators (superusers) grant operator rights."""

    form = UserChangeAdminForm
    add_form = UserCreationForm
    inlines = [MembershipInline]
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "memberships__role"]
    search_fields = ["^email", "^first_name", "^last_name"]
    readonly_fields = ["last_login", "date_joined"]
    staff_fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Access", {"fields": ["is_active", "is_staff"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    operator_fieldsets = [
        *staff_fieldsets[:3],
        ("Operator", {"fields": ["is_superuser", "user_permissions"]}),
        staff_fieldsets[3],
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "role", "usable_password", "password1", "password2"],
            },
        ),
    ]
    filter_horizontal = ["user_permissions"]

    def get_inlines(self, request, obj):
        # On the add page the role field creates the membership.
        return self.inlines if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return self.operator_fieldsets if request.user.is_superuser else self.staff_fieldsets

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def save_formset(self, request, form, formset, change):
        company = get_active_company(request.user)
        for instance in formset.save(commit=False):
            if instance.company_id is None:
                instance.company = company
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        company = get_active_company(request.user)
        if not change and company is not None:
            Membership.objects.create(user=obj, company=company, role=form.cleaned_data["role"])


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "npi", "phone", "is_active"]
    search_fields = ["^name"]
    list_filter = ["is_active"]

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

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
    list_display = ["user", "company", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["^user__email", "^user__last_name"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["locations"]
    list_select_related = ["user", "company"]


# Sign-in security admin (unlock, MFA reset, sessions): accounts/admin_security.py.
from . import admin_security  # noqa: E402, F401
