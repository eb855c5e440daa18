"""Browser pages of accounts: choosing the company a staff member acts for."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Membership
from .tenancy import SESSION_KEY


@login_required
@require_POST
def switch_company(request):
    """Make another of the user's companies the active one for this session."""
    membership = (
        Membership.objects.active()
        .filter(user=request.user, company_id=request.POST.get("company"))
        .select_related("company")
        .first()
    )
    if membership is None:
        messages.error(request, "You are not an active member of that company.")
    else:
        request.session[SESSION_KEY] = str(membership.company_id)
        messages.success(request, f"You are now working in {membership.company}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "admin:index"
    return redirect(target)
