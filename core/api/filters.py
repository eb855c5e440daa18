"""FilterSet base for company-owned models."""

import django_filters


class TenantFilterSet(django_filters.FilterSet):
    """Foreign-key filters (``?patient=<id>``) accept only the requesting user's rows.

    django-filter validates a related id against the whole table: another company's id
    would pass (and a made-up one would not), telling the two apart. Here the choices
    start from ``for_user`` like every other related field, so both are "not a valid
    choice".
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        for filter_ in self.filters.values():
            queryset = getattr(filter_, "queryset", None)
            if queryset is not None and not callable(queryset) and hasattr(queryset, "for_user"):
                filter_.queryset = queryset.for_user(user)
