"""The application as a login role that owns nothing (.ci/rls-e2e; docs/security/rls.md).

Run with ``DATABASE_URL`` logging in as the role ``setup_db_roles --login-role`` made,
after ``seed_demo``: a web worker's view of the database (outside a request nobody's
rows), a second company made through the operator's bypass role, then real requests
through Django's test client: the readiness probe, and an API list as a demo user that
returns its own company's rows only. Prints one line; exits 1 on the first failure.
"""

import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.choices import LocationKind  # noqa: E402
from accounts.models import Company, Location  # noqa: E402
from core import rls  # noqa: E402

DEMO_USER = "administrator@demo.ariesone.test"
DEMO_PASSWORD = "aries-demo-2026"  # the published demo password (seed_demo)


def expect(condition: bool, what: str) -> None:
    if not condition:
        print(f"rls e2e: FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def one(sql: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


login = str(connection.settings_dict["USER"])
# Outside any request (a web worker): the app role, no company, no tenant row.
session_user, current_user, visible = one(
    "SELECT session_user, current_user, (SELECT count(*) FROM accounts_location)"
)
expect(session_user == login, f"logged in as {session_user}, not {login}")
expect(current_user == settings.DATABASE_APP_ROLE, f"queries run as {current_user}")
expect(visible == 0, f"{visible} locations visible with no company")
# The owner scope is the login role itself: no rights at all.
with rls.owner():
    try:
        one("ALTER TABLE accounts_location DISABLE ROW LEVEL SECURITY")
    except DatabaseError:
        pass
    else:
        expect(False, "the login role could switch row-level security off")

# Cross-company work goes through the operator's bypass role.
with rls.operator():
    expect(one("SELECT current_user")[0] == settings.DATABASE_OPERATOR_ROLE, "operator role")
    demo = Company.objects.get(memberships__user__email=DEMO_USER)
    other, _ = Company.objects.get_or_create(name="RLS e2e other company")
    other_location, _ = Location.objects.get_or_create(
        company=other,
        name="Other Main",
        defaults={
            "kind": LocationKind.OFFICE,
            "address_line1": "1 Other St",
            "city": "Columbus",
            "state": "OH",
            "postal_code": "43215",
        },
    )
    demo_locations = Location.objects.filter(company=demo).count()
    expect(Location.objects.count() > demo_locations, "the bypass sees every company")

client = Client(HTTP_HOST="127.0.0.1")
response = client.get("/health/ready/")
expect(response.status_code == 200, f"/health/ready/ answered {response.status_code}")
response = client.post(
    "/api/v1/auth/token/",
    {"email": DEMO_USER, "password": DEMO_PASSWORD},
    content_type="application/json",
)
expect(response.status_code == 200, f"sign-in answered {response.status_code}")
auth = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}
response = client.get("/api/v1/locations/?page_size=100", **auth)
expect(response.status_code == 200, f"/api/v1/locations/ answered {response.status_code}")
rows = response.json()["results"]
companies = {row["company"] for row in rows}
expect(companies == {str(demo.pk)}, f"the list holds companies {sorted(companies)}")
expect(len(rows) == demo_locations, f"{len(rows)} locations listed, {demo_locations} expected")
response = client.get(f"/api/v1/locations/{other_location.pk}/", **auth)
expect(response.status_code == 404, f"another company's location answered {response.status_code}")

print(
    f"rls e2e: ok as {login} (queries as {current_user}, operator as "
    f"{settings.DATABASE_OPERATOR_ROLE}): /health/ready/ 200, /api/v1/locations/ 200 with "
    f"{len(rows)} rows of 1 company, another company's location 404"
)
