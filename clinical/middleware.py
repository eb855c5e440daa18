"""Keep PHI search terms out of every admin list's URL, whichever app the list is in."""

from django.urls import reverse

from .admin_search import SEARCH_PARAM, refuse_phi_search


class AdminPHISearchGuardMiddleware:
    """Refuse a date of birth, phone, e-mail or MBI in an admin list's ``?q=``.

    The admin of every app searches patients (orders, rentals, coverages, claims, ...);
    not every ModelAdmin is built on ``PatientLinkedSearchMixin``. Whatever the list,
    such a term is sent back without being searched, with a pointer to the POSTed
    "Find a patient" form (clinical/admin_search.py; 45 CFR 164.514(b)(2)(i)).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if SEARCH_PARAM in request.GET:
            if self._admin_prefix is None:
                self._admin_prefix = reverse("admin:index")
            if request.path.startswith(self._admin_prefix):
                refused = refuse_phi_search(request)
                if refused is not None:
                    return refused
        return self.get_response(request)
