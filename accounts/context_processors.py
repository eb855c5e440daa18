from .models import Membership
from .tenancy import get_active_membership


def active_company(request):
    """The active membership and the others the user may switch to (admin header)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "active_membership": get_active_membership(user),
        "switchable_memberships": lambda: list(
            Membership.objects.active().filter(user=user).select_related("company")
        ),
    }
