from .tenancy import SESSION_KEY, request_company


class ActiveCompanyMiddleware:
    """Browser requests act for the company chosen in the session (if any)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        company_id = request.session.get(SESSION_KEY)
        if company_id and request.user.is_authenticated:
            request_company(request.user, company_id)
        return self.get_response(request)
