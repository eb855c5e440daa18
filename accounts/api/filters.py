import django_filters

from accounts.models import Location, User


class LocationFilter(django_filters.FilterSet):
    class Meta:
        model = Location
        fields = {"kind": ["exact"], "state": ["exact"], "is_active": ["exact"]}


class UserFilter(django_filters.FilterSet):
    role = django_filters.CharFilter(method="filter_role")

    class Meta:
        model = User
        fields = {"is_active": ["exact"], "email": ["exact"]}

    def filter_role(self, queryset, name, value):
        return queryset.filter(
            memberships__role=value, memberships__company=self.request.user_company
        )
