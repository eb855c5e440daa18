"""The one scoped serializer base (``core.api.serializers``): every related choice of a
plain, model or tenant serializer is the requesting user's rows."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from accounts.choices import Role
from accounts.models import Location
from core.api.serializers import ScopedSerializer
from tests.factories import LocationFactory, member


class MoveSerializer(ScopedSerializer):
    to = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all())
    via = serializers.PrimaryKeyRelatedField(queryset=Location.objects.all(), many=True)


def _context(user):
    request = APIRequestFactory().post("/")
    request.user = user
    return {"request": request}


@pytest.mark.django_db
def test_it_accepts_the_users_own_rows(company):
    user = member(company, Role.WAREHOUSE)
    mine = LocationFactory(company=company)
    body = {"to": str(mine.pk), "via": [str(mine.pk)]}
    serializer = MoveSerializer(data=body, context=_context(user))
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"to": mine, "via": [mine]}


@pytest.mark.django_db
def test_another_companys_row_does_not_exist(company, other_company):
    user = member(company, Role.WAREHOUSE)
    mine = LocationFactory(company=company)
    theirs = LocationFactory(company=other_company)
    body = {"to": str(theirs.pk), "via": [str(mine.pk), str(theirs.pk)]}
    serializer = MoveSerializer(data=body, context=_context(user))
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"to", "via"}
    assert "does not exist" in str(serializer.errors["to"][0])
