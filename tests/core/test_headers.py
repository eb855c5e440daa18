"""Response headers: a Content-Security-Policy on every page (scripts from this site or
nonce'd only), ``Cache-Control: no-store`` on API responses and admin pages (they carry
PHI), and the API schema and docs behind sign-in when ``API_DOCS_PUBLIC`` is off."""

import re

import pytest
from django.urls import reverse

from accounts.choices import Role
from tests.clinical.factories import PatientFactory
from tests.factories import MembershipFactory, member


def directives(response):
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def assert_strict_script_policy(response):
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    # Every host the page may load from is this site.
    assert not any("http" in value for values in policy.values() for value in values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:index"),
        reverse("admin:clinical_patient_changelist"),
        reverse("admin:clinical_patient_add"),
        reverse("admin:clinical_patient_find"),
    ],
)
def test_it_sends_a_strict_policy_on_admin_pages(staff, url):
    response = staff.get(url)
    assert response.status_code == 200
    assert_strict_script_policy(response)


@pytest.mark.django_db
def test_it_sends_the_policy_on_the_sign_in_page(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert_strict_script_policy(response)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_admin_pages_load_their_scripts_from_this_site_and_run_no_inline_script(staff, company):
    patient = PatientFactory(company=company)
    response = staff.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the change page loads the admin's JavaScript"
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    for tag in scripts:
        # Either a file of this site (/static/...) or an inline script with the nonce.
        src = re.search(r'src="([^"]+)"', tag)
        if src:
            assert src.group(1).startswith("/"), tag  # /static/... and /admin/jsi18n/
        else:
            assert nonce, tag
            assert f'nonce="{nonce.group(1)}"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "no inline event handler"


@pytest.mark.django_db
def test_the_company_switcher_script_carries_the_nonce(client, company, other_company):
    user = member(company, Role.ADMINISTRATOR, email="two@a.test")
    MembershipFactory(user=user, company=other_company, role=Role.AUDITOR)
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    html = response.content.decode()
    assert 'id="company-select"' in html
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in html
    assert "onchange=" not in html


@pytest.mark.django_db
def test_api_responses_carry_a_policy_and_no_store(api_client_for, admin_user, company):
    PatientFactory(company=company)
    response = api_client_for(admin_user).get("/api/v1/patients/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert_strict_script_policy(response)


@pytest.mark.django_db
def test_api_errors_are_not_stored_either(api_client_for, admin_user):
    response = api_client_for(admin_user).get(
        "/api/v1/patients/00000000-0000-0000-0000-000000000000/"
    )
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", [reverse("admin:index"), reverse("admin:clinical_patient_changelist")]
)
def test_admin_pages_are_never_stored(staff, url):
    response = staff.get(url)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_docs_page_runs_with_the_strict_policy(staff):
    response = staff.get(reverse("api-docs"))
    assert response.status_code == 200
    assert_strict_script_policy(response)
    html = response.content.decode()
    # Swagger UI from our static files (drf-spectacular-sidecar), its start-up script a
    # separate request: nothing inline, nothing from a CDN.
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert len(sources) == 3
    assert all(src.startswith("/static/") or src.startswith("/api/docs/") for src in sources)
    assert "<script>" not in html
    script = staff.get(reverse("api-docs"), {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert reverse("schema") in script.content.decode()


@pytest.mark.django_db
def test_the_schema_and_docs_need_a_signed_in_user_when_not_public(
    client, api_client_for, admin_user, settings
):
    settings.API_DOCS_PUBLIC = False
    assert client.get(reverse("schema")).status_code == 401
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302
    assert docs["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("api-docs"), {"script": ""}).status_code == 302

    assert api_client_for(admin_user).get(reverse("schema")).status_code == 200
    client.force_login(admin_user)
    assert client.get(reverse("api-docs")).status_code == 200


@pytest.mark.django_db
def test_the_schema_and_docs_are_public_when_configured(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get(reverse("schema")).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200


def test_docs_are_public_by_default_only_with_debug():
    from config import settings as project_settings

    assert project_settings.API_DOCS_PUBLIC is project_settings.DEBUG
