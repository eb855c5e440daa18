"""A bounded schema-driven fuzz run of the whole API (schemathesis over ``openapi.yaml``).

Every operation of the committed schema is called in-process through the WSGI app,
signed in as the demo Administrator, against two seeded companies; every response must
be a non-5xx that matches the schema. See docs/security/fuzzing.md. Skipped unless
``FUZZ=1`` (CI's PostgreSQL pass sets it).
"""

import os
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.skipif(os.environ.get("FUZZ") != "1", reason="the fuzz run needs FUZZ=1"),
]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
# Fuzzed cases per operation (its schema examples come on top).
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))
SEED = 20269

# Every check schemathesis has ("--checks all") but these two, which test the fuzzer's
# guesses rather than the API (docs/security/fuzzing.md says why):
# - positive_data_acceptance: a schema-valid request must be a 2xx; but a well-formed
#   uuid that is no record of the caller's company is rightly a 400/404;
# - negative_data_rejection: a schema-invalid request must be a 4xx; but form bodies
#   carry every value as text ("0" is false for a boolean) and DRF ignores a malformed
#   page_size (the default page size applies), both on purpose.
EXCLUDED_CHECKS = [positive_data_acceptance, negative_data_rejection]

# The examples and fuzzing phases only: the coverage phase sends ~150 boundary and
# wrong-method cases per operation (over 15 minutes for the whole API on 2 cores), and the
# stateful phase does not run under pytest's parametrize (docs/security/fuzzing.md).
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "phases": {
            "examples": {"enabled": True},
            "fuzzing": {"enabled": True},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_path(SCHEMA_PATH, config=CONFIG)
schema.app = get_wsgi_application()


# The seeded companies, for the path-parameter hook below (set by the ``seeded`` fixture).
SEEDED = {}


def _record_ids(path):
    """The first record of the demo company and of the other company that the
    operation's ``{id}`` names (none when the view has no model queryset)."""
    from django.urls import Resolver404, resolve

    from accounts.models import Company, User

    try:
        match = resolve(path.replace("{id}", "00000000-0000-0000-0000-000000000000"))
    except Resolver404:
        return []
    queryset = getattr(getattr(match.func, "cls", None), "queryset", None)
    if queryset is None:
        return []
    model = queryset.model
    ids = []
    for company in (SEEDED["seeded"].company, SEEDED["seeded"].other_company):
        if model is Company:
            records = model.objects.filter(pk=company.pk)
        elif model is User:
            records = model.objects.filter(memberships__company=company)
        elif any(field.name == "company" for field in model._meta.get_fields()):
            records = model._default_manager.filter(company=company)
        else:
            return []
        pk = records.order_by("pk").values_list("pk", flat=True).first()
        if pk is not None:
            ids.append(str(pk))
    return ids


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """An ``{id}`` is the generated value, a record of the caller's company, or one of
    the other company's (which must be a 404): random uuids alone would reach no record."""
    if not path_parameters or "id" not in path_parameters or not SEEDED:
        return st.just(path_parameters)
    ids = _record_ids(context.operation.path)
    # Hypothesis tries the first choices first: the real records lead.
    return st.sampled_from([*ids, path_parameters["id"]]).map(
        lambda value: {**path_parameters, "id": value}
    )


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Two companies with every model, seeded once for the module and rolled back after."""
    from tests.fuzz.seed import seed_two_companies

    # As Django's test client does: the app must not close the test transaction's
    # connection at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            SEEDED["seeded"] = seed_two_companies()
            yield SEEDED["seeded"]
        finally:
            SEEDED.clear()
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(seeded, db):
    return {"Authorization": f"Bearer {seeded.token}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_response_matches_the_schema(case, auth_headers, fuzz_figures):
    response = case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED_CHECKS)
    fuzz_figures["operations"].add(case.operation.label)
    fuzz_figures["statuses"][response.status_code] += 1
