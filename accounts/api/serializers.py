import uuid

from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from accounts import services
from accounts.choices import Role
from accounts.models import Company, Location, Membership, User
from core.api.serializers import AUDIT_FIELDS, ModelSerializer, TenantModelSerializer
from core.exceptions import ServiceError


class CompanyTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Email + password (+ optional company) for a JWT pair.

    The token carries the company the client acts for; without one, the user's
    oldest active membership is used (``accounts.services.issue_token``).
    """

    company = serializers.UUIDField(required=False, write_only=True)

    def validate(self, attrs):
        company = attrs.pop("company", None)
        data = super().validate(attrs)
        try:
            refresh = services.issue_token(self.user, company)
        except ServiceError as error:
            raise serializers.ValidationError(
                error.fields or {"non_field_errors": [error.message]}
            ) from error
        data["refresh"] = str(refresh)
        data["access"] = str(refresh.access_token)
        return data


class CompanySerializer(ModelSerializer):
    class Meta:
        model = Company
        fields = [*AUDIT_FIELDS, "name", "legal_name", "npi", "tax_id", "phone", "is_active"]
        read_only_fields = [*AUDIT_FIELDS, "is_active"]


class LocationSerializer(TenantModelSerializer):
    class Meta:
        model = Location
        fields = [
            *AUDIT_FIELDS,
            "company",
            "name",
            "kind",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "phone",
            "is_active",
        ]


class MembershipSummarySerializer(ModelSerializer):
    company_name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "company", "company_name", "role", "is_active", "expires_on"]


# Account fields a company's Administrator never writes (45 CFR 164.308(a)(4)): the
# account is global; only the person, a reset e-mail or an operator change these.
ACCOUNT_FIELDS = ("email", "first_name", "last_name", "is_active", "is_staff")
OPERATOR_ONLY_MESSAGE = (
    "Only an operator changes this account field; a company's Administrator manages the "
    "membership (role, locations, expiry)."
)
PASSWORD_MESSAGE = (
    "Passwords are set by their owner: new members get a set-password e-mail, and "
    "anyone can ask for a reset link (auth/password-reset/)."
)


class UserSerializer(ModelSerializer):
    """A staff member of the active company, with their membership in it.

    Creating one adds the person to the active company (``accounts.services.add_member``):
    a new e-mail gets an account with no password and a set-password e-mail; an existing
    account is only given a membership. Updating changes the membership (role,
    locations, expiry), never the account: e-mail, names, active and staff flags are
    the operator's, passwords their owner's (400 naming the field).
    """

    role = serializers.ChoiceField(choices=Role.choices, required=False)
    locations = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Location.objects.all()
    )
    expires_on = serializers.DateField(required=False, allow_null=True)
    membership_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "date_joined",
            "last_login",
            "role",
            "locations",
            "expires_on",
            "membership_active",
        ]
        read_only_fields = ["id", "date_joined", "last_login"]
        extra_kwargs = {
            "email": {"required": False, "validators": []},
            "is_active": {"required": False},
            "is_staff": {"required": False},
        }

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["locations"].child_relation.queryset = Location.objects.for_user(request.user)
        return fields

    def _membership(self, user):
        company = self.context.get("company")
        if company is None:
            return None
        # memberships (and their locations) are prefetched by the viewset: no query per row.
        for membership in user.memberships.all():
            if membership.company_id == company.pk:
                return membership
        return None

    def to_representation(self, user):
        data = super().to_representation(user)
        membership = self._membership(user)
        data["role"] = membership.role if membership else None
        data["locations"] = [str(pk) for pk in membership.location_ids] if membership else []
        data["expires_on"] = (
            membership.expires_on.isoformat() if membership and membership.expires_on else None
        )
        data["membership_active"] = bool(membership and membership.is_active)
        return data

    @property
    def _operator(self):
        request = self.context.get("request")
        return request is not None and request.user.is_superuser

    def validate(self, attrs):
        refused = {}
        if "password" in self.initial_data:
            refused["password"] = [PASSWORD_MESSAGE]
        if not self._operator:
            names = ACCOUNT_FIELDS if self.instance is not None else ("is_active", "is_staff")
            for name in names:
                if name in self.initial_data:
                    refused[name] = [OPERATOR_ONLY_MESSAGE]
        if refused:
            raise serializers.ValidationError(refused)
        if self.instance is None:
            if not attrs.get("email"):
                raise serializers.ValidationError({"email": ["Give the person's e-mail."]})
            if not attrs.get("role"):
                raise serializers.ValidationError({"role": ["Give the new user's role."]})
        return attrs

    def _company(self):
        company = self.context.get("company")
        if company is None:
            raise ServiceError(
                "Choose the company you act for first.",
                code="no_company",
                fields={"company": ["You are not acting for a company."]},
            )
        return company

    def create(self, validated_data):
        request = self.context["request"]
        membership = services.add_member(
            self._company(),
            email=validated_data["email"],
            role=validated_data["role"],
            locations=validated_data.get("locations", ()),
            first_name=validated_data.get("first_name", ""),
            last_name=validated_data.get("last_name", ""),
            expires_on=validated_data.get("expires_on"),
            actor=request.user,
            request=request,
        )
        return self._reloaded(membership.user)

    def update(self, instance, validated_data):
        request = self.context["request"]
        account = {name: validated_data[name] for name in ACCOUNT_FIELDS if name in validated_data}
        if account:
            instance = services.update_account(instance, actor=request.user, **account)
        changes = {
            name: validated_data[name]
            for name in ("role", "locations", "expires_on")
            if name in validated_data
        }
        if changes:
            membership = self._membership(instance)
            if membership is None:
                raise ServiceError(
                    "This person is not a member of the company you act for.",
                    code="not_a_member",
                )
            services.update_membership(membership, actor=request.user, request=request, **changes)
        return self._reloaded(instance)

    def _reloaded(self, user):
        return User.objects.prefetch_related("memberships__locations").get(pk=user.pk)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, style={"input_type": "password"})


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(write_only=True, style={"input_type": "password"})


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class MeSerializer(ModelSerializer):
    memberships = MembershipSummarySerializer(many=True, read_only=True)
    active_company = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "is_superuser",
            "active_company",
            "role",
            "permissions",
            "memberships",
        ]

    def _membership(self, user):
        from accounts.tenancy import get_active_membership

        return get_active_membership(user)

    def get_active_company(self, user) -> uuid.UUID | None:
        membership = self._membership(user)
        return membership.company_id if membership else None

    def get_role(self, user) -> str | None:
        membership = self._membership(user)
        return membership.role if membership else None

    def get_permissions(self, user) -> list[str]:
        return sorted(user.get_all_permissions())
