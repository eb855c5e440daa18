"""The forms of the accounts admin: adding a person, a staff member's (read-only)
account, memberships. Every save goes through ``accounts.services``."""

from django import forms
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError

from core.exceptions import ServiceError

from . import services
from .choices import Role
from .models import Company, Membership, User
from .tenancy import get_active_company

ACCOUNT_FIELDS = ["email", "first_name", "last_name", "is_active", "is_staff"]


def show_service_error(form, error, default_field=None):
    """Put a service's refusal beside the field it names (else on the form)."""
    if error.fields:
        for field, messages in error.fields.items():
            form.add_error(field if field in form.fields else default_field, messages)
    else:
        form.add_error(default_field, error.message)


class UserAddForm(forms.ModelForm):
    """Add a person to a company: a new e-mail gets an account and a set-password
    e-mail; an existing account only a membership (its details are not changed)."""

    # Not named "email": the model field's uniqueness check would refuse an existing
    # account, which this form adds to the company.
    email_address = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=Role.choices, help_text="Their role in the company.")
    company = forms.ModelChoiceField(
        queryset=Company.objects.all(), required=False, help_text="Operators: the company."
    )
    first_name = forms.CharField(max_length=150, required=False, help_text="For a new account.")
    last_name = forms.CharField(max_length=150, required=False, help_text="For a new account.")
    expires_on = forms.DateField(
        required=False, help_text="Last day the role applies; empty for no end."
    )

    class Meta:
        model = User
        fields: list[str] = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if request is None or not request.user.is_superuser:
            del self.fields["company"]

    def clean(self):
        cleaned = super().clean()
        company = cleaned.get("company") or get_active_company(self.request.user)
        if company is None:
            self.add_error("company" if "company" in self.fields else None, "Choose a company.")
            return cleaned
        cleaned["company"] = company
        if cleaned.get("email_address"):
            try:
                cleaned["email_address"] = services.check_can_add(company, cleaned["email_address"])
            except ServiceError as error:
                self.add_error("email_address", error.message)
        return cleaned


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if self.instance.is_active and cleaned.get("is_active") is False:
            try:
                services.check_can_deactivate(self.instance)
            except ServiceError as error:
                self.add_error("is_active" if "is_active" in self.fields else None, error.message)
        return cleaned


class StaffUserForm(forms.ModelForm):
    """What a company's staff get on a user's change page: nothing of the account to
    edit (no password field, no link to the password page); the membership inline only."""

    class Meta:
        model = User
        fields: list[str] = []


class MembershipForm(forms.ModelForm):
    """A membership edited in the admin: refusals (last Administrator) show beside
    the field; the save itself goes through the service."""

    class Meta:
        model = Membership
        fields = ["role", "locations", "is_active", "expires_on"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None or self.errors:
            return cleaned
        try:
            services.check_membership_change(
                self.instance,
                role=cleaned.get("role", self.instance.role),
                is_active=cleaned.get("is_active", self.instance.is_active),
                expires_on=cleaned.get("expires_on"),
            )
        except ServiceError as error:
            show_service_error(self, error)
        return cleaned


def save_membership_form(request, form):
    """The one way an admin form's membership changes are saved."""
    cleaned = form.cleaned_data
    return services.update_membership(
        form.instance,
        role=cleaned["role"],
        locations=cleaned.get("locations", []),
        is_active=cleaned["is_active"],
        expires_on=cleaned.get("expires_on"),
        actor=request.user,
        request=request,
    )


class MembershipAddForm(forms.ModelForm):
    """Add an existing account of the company (a former member) back, with a role."""

    class Meta:
        model = Membership
        fields = ["company", "user", "role", "locations", "expires_on"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        cleaned = super().clean()
        company = cleaned.get("company") or get_active_company(self.request.user)
        if company is None:
            raise ValidationError("Choose the company you act for first.")
        self.instance.company = company
        if cleaned.get("user"):
            try:
                services.check_can_add(company, cleaned["user"].email)
            except ServiceError as error:
                show_service_error(self, error, "user")
        return cleaned

    def validate_unique(self):
        # A former member's membership is reactivated by the service, not duplicated.
        pass
