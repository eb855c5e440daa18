import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from accounts.authentication import COMPANY_CLAIM
from accounts.choices import Role
from accounts.models import Company, Location, Membership, User
from core.api.serializers import AUDIT_FIELDS, ModelSerializer, TenantModelSerializer


class CompanyTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Email + password (+ optional company) for a JWT pair.

    The token carries the company the client acts for; without one, the user's
    oldest active membership is used.
    """

    company = serializers.UUIDField(required=False, write_only=True)

    def validate(self, attrs):
        company = attrs.pop("company", None)
        data = super().validate(attrs)
        memberships = Membership.objects.active().filter(user=self.user)
        if company is not None:
            memberships = memberships.filter(company_id=company)
        membership = memberships.order_by("created_at").first()
        if membership is None and not self.user.is_superuser:
            raise serializers.ValidationError(
                {"company": ["You are not an active member of this company."]}
                if company
                else {"non_field_errors": ["You are not an active member of any company."]}
            )
        refresh = self.get_token(self.user)
        if membership is not None:
            refresh[COMPANY_CLAIM] = str(membership.company_id)
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
        fields = ["id", "company", "company_name", "role", "is_active"]


class UserSerializer(ModelSerializer):
    """A staff member of the active company, with their role in it.

    Creating one adds them to the active company with ``role``; without a password
    the account cannot sign in until one is set.
    """

    role = serializers.ChoiceField(choices=Role.choices, required=False)
    password = serializers.CharField(
        write_only=True, required=False, style={"input_type": "password"}
    )

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
            "password",
        ]
        read_only_fields = ["id", "date_joined", "last_login"]

    def _membership(self, user):
        company = self.context.get("company")
        if company is None:
            return None
        # memberships are prefetched by the viewset: no query per row.
        for membership in user.memberships.all():
            if membership.company_id == company.pk:
                return membership
        return None

    def to_representation(self, user):
        data = super().to_representation(user)
        membership = self._membership(user)
        data["role"] = membership.role if membership else None
        return data

    def validate_email(self, value):
        value = value.strip().lower()
        others = User.objects.filter(email__iexact=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("A user with this email address already exists.")
        return value

    def validate(self, attrs):
        if self.instance is None and not attrs.get("role"):
            raise serializers.ValidationError({"role": ["Give the new user's role."]})
        password = attrs.get("password")
        if password:
            candidate = self.instance or User(
                email=attrs.get("email", ""),
                first_name=attrs.get("first_name", ""),
                last_name=attrs.get("last_name", ""),
            )
            try:
                validate_password(password, candidate)
            except DjangoValidationError as error:
                raise serializers.ValidationError({"password": list(error.messages)}) from error
        return attrs

    def create(self, validated_data):
        role = validated_data.pop("role")
        password = validated_data.pop("password", None)
        user = User.objects.create_user(password=password, **validated_data)
        Membership.objects.create(user=user, company=self.context["company"], role=role)
        return user

    def update(self, instance, validated_data):
        role = validated_data.pop("role", None)
        password = validated_data.pop("password", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if password:
            instance.set_password(password)
        instance.save()
        membership = self._membership(instance)
        if role and membership is not None and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        return instance


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
