"""Staff users, the companies (tenants) they work for, locations and memberships."""

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property

from core.models import BaseModel, BaseQuerySet, TenantModel, TenantQuerySet

from .choices import LocationKind, Role


class UserQuerySet(BaseQuerySet):
    def for_user(self, user):
        """Users who share ``user``'s active company (operators see everyone)."""
        from .tenancy import get_active_membership

        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        membership = get_active_membership(user)
        if membership is None:
            return self.none()
        return self.filter(memberships__company_id=membership.company_id).distinct()


# mypy's Django plugin builds from_queryset() managers of Manager, not of BaseUserManager.
class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Email is the login and is unique whatever its case.
        return self.get(email__iexact=username)

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: staff of a supplier, an integrator's API account, an operator.

    Superusers are operators (they see every company); staff get their permissions from
    the role of their membership in the active company.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored lower-cased (save()); the Lower() constraint also guards raw inserts.
    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        "staff status",
        default=False,
        help_text="Can sign in to the staff site (admin).",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Unset instead of deleting the account: history keeps pointing at it.",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_uniq",
                violation_error_message="A user with this email address already exists.",
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        # set_password() keeps the raw value until the save; a new account's first
        # password is part of its creation, not a change.
        # AbstractBaseUser.set_password() sets _password; the stubs do not declare it.
        password_changed = (
            self._password is not None  # type: ignore[attr-defined]
            and not self._state.adding
        )
        super().save(*args, **kwargs)
        if password_changed:
            from .passwords import record_password_change

            record_password_change(self)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name or self.email


class CompanyQuerySet(BaseQuerySet):
    def for_user(self, user):
        """Companies ``user`` is an active member of (operators: all)."""
        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        member_of = Membership.objects.active().filter(user=user).values("company_id")
        return self.filter(pk__in=member_of, is_active=True)


class Company(BaseModel):
    """A supplier: the tenant every company-owned record belongs to."""

    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    npi = models.CharField(
        "organisation NPI", max_length=10, blank=True, help_text="Type 2 NPI of the supplier."
    )
    tax_id = models.CharField("tax ID", max_length=20, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    is_active = models.BooleanField("active", default=True)
    # EDI submitter (837P 1000A and ISA/GS sender; docs/domain/edi.md).
    edi_submitter_id = models.CharField(
        "EDI submitter ID",
        max_length=80,
        blank=True,
        help_text="The ID the clearinghouse gave you (837P 1000A NM109, ETIN).",
    )
    edi_isa_qualifier = models.CharField(
        "ISA sender qualifier", max_length=2, default="ZZ", help_text="ISA05 (ZZ mutually defined)."
    )
    edi_isa_id = models.CharField(
        "ISA sender ID",
        max_length=15,
        blank=True,
        help_text="ISA06 and GS02; empty: the EDI submitter ID.",
    )
    edi_contact_name = models.CharField(
        "EDI contact", max_length=60, blank=True, help_text="837P 1000A PER02 (with the phone)."
    )

    objects: ClassVar = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="company_name_ci_uniq",
                violation_error_message="A company with this name already exists.",
            ),
        ]

    def __str__(self):
        return self.name


class Location(TenantModel):
    """A place of a company: an office, a warehouse (stock lives here) or a clinic."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=LocationKind.choices)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2, help_text="Two-letter US state code.")
    postal_code = models.CharField(max_length=10)
    phone = models.CharField(max_length=30, blank=True)
    is_active = models.BooleanField("active", default=True)

    objects: ClassVar = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "company",
                Lower("name"),
                name="location_company_name_ci_uniq",
                violation_error_message="This company already has a location with this name.",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.state:
            self.state = self.state.upper()


class MembershipQuerySet(TenantQuerySet):
    def active(self, on=None):
        """Memberships whose role applies ``on`` a day (today): active, in an active
        company, of an active account, and not past their expiry date."""
        on = on or timezone.localdate()
        return self.filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=on),
            is_active=True,
            company__is_active=True,
            user__is_active=True,
        )

    def administrators(self):
        return self.filter(role=Role.ADMINISTRATOR)


class Membership(TenantModel):
    """A user's place in a company: their role and, optionally, the locations they serve."""

    company = models.ForeignKey(
        Company, verbose_name="company", on_delete=models.PROTECT, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    locations = models.ManyToManyField(
        Location,
        blank=True,
        related_name="memberships",
        help_text="Leave empty for every location of the company.",
    )
    is_active = models.BooleanField("active", default=True)
    expires_on = models.DateField(
        "expires on",
        null=True,
        blank=True,
        help_text="Last day the role applies (a temporary or contract worker). Leave empty "
        "for no end.",
    )

    objects: ClassVar = MembershipQuerySet.as_manager()
    # Row-level security (core.rls): a user's own memberships are visible before the
    # active company is known (the company switcher, the JWT company check).
    rls_user_field = "user"

    class Meta:
        ordering = ["company__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "company"],
                name="membership_user_company_uniq",
                violation_error_message="This user is already a member of this company.",
            ),
        ]

    def __str__(self):
        return f"{self.user}: {self.get_role_display()} at {self.company}"

    @property
    def is_expired(self):
        return self.expires_on is not None and self.expires_on < timezone.localdate()

    @cached_property
    def location_ids(self):
        # Through the cache (accounts.access_cache): read on every scoped request.
        from .access_cache import membership_location_ids

        return membership_location_ids(self)


# Browser sessions per user and the sign-in security admin's proxy, registered with the
# app's models (accounts/sessions.py, accounts/security/models.py).
from .security.models import SignInSecurity  # noqa: E402, F401
from .sessions import UserSession  # noqa: E402, F401
