import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership
from core.models import AccessLog
from tests.factories import PHIRecordFactory, member


@pytest.mark.django_db
def test_a_staff_member_switches_the_company_they_act_for(client, company, other_company):
    user = member(company, Role.ADMINISTRATOR)
    Membership.objects.create(user=user, company=other_company, role=Role.AUDITOR)
    PHIRecordFactory(company=company, name="In A")
    PHIRecordFactory(company=other_company, name="In B")
    client.force_login(user)
    url = reverse("admin:testapp_phirecord_changelist")

    page = client.get(url)
    assert [r.name for r in page.context["cl"].result_list] == ["In A"]
    assert b'id="company-switcher"' in page.content

    response = client.post(
        reverse("accounts:switch-company"), {"company": str(other_company.pk), "next": url}
    )
    assert response.status_code == 302
    assert response.url == url
    page = client.get(url)
    assert [r.name for r in page.context["cl"].result_list] == ["In B"]
    # ...with the role held there: an Auditor cannot add.
    assert client.get(reverse("admin:testapp_phirecord_add")).status_code == 403


@pytest.mark.django_db
def test_it_refuses_a_company_the_user_does_not_belong_to(client, admin_user, other_company):
    client.force_login(admin_user)
    response = client.post(
        reverse("accounts:switch-company"),
        {"company": str(other_company.pk), "next": "https://evil.example/"},
        follow=True,
    )
    assert b"not an active member of that company" in response.content
    assert response.redirect_chain[0][0] == reverse("admin:index")


@pytest.mark.django_db
def test_auditors_read_the_access_log_of_their_company_only(client, company, personas, outsider):
    record = PHIRecordFactory(company=company)
    client.force_login(outsider)
    client.get(reverse("admin:testapp_phirecord_changelist"))
    client.force_login(personas[Role.CLINICIAN])
    client.get(reverse("admin:testapp_phirecord_change", args=[record.pk]))
    other = PHIRecordFactory(company=outsider.memberships.get().company)
    client.force_login(outsider)
    client.get(reverse("admin:testapp_phirecord_change", args=[other.pk]))

    client.force_login(personas[Role.AUDITOR])
    page = client.get(reverse("admin:core_accesslog_changelist"))
    assert page.status_code == 200
    assert [entry.object_id for entry in page.context["cl"].result_list] == [str(record.pk)]
    entry = AccessLog.objects.get(object_id=str(record.pk))
    change = client.get(reverse("admin:core_accesslog_change", args=[entry.pk]))
    assert change.status_code == 200
    assert not change.context["has_change_permission"]
    assert client.get(reverse("admin:core_accesslog_add")).status_code == 403
