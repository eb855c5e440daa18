"""Writing the PHI access log: one call, one INSERT, whatever the number of records."""

from django.contrib.contenttypes.models import ContentType

from .context import client_ip


def record_access(request, objects, *, via, action):
    """Log that ``request.user`` looked at ``objects`` (model instances).

    Rows go in with one ``bulk_create``: a 50-row API page costs one query, not 50.
    """
    from .models import AccessLog

    objects = [obj for obj in objects if obj is not None]
    if not objects:
        return []
    user = request.user if request.user.is_authenticated else None
    ip_address = client_ip(request)
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:255]
    content_types = ContentType.objects.get_for_models(*{type(obj) for obj in objects})
    rows = [
        AccessLog(
            user=user,
            user_email=user.email if user is not None else "",
            company_id=getattr(obj, "company_id", None),
            content_type=content_types[type(obj)],
            object_id=str(obj.pk),
            via=via,
            action=action,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        for obj in objects
    ]
    return AccessLog.objects.bulk_create(rows)
