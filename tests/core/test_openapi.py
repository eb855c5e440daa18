"""The committed OpenAPI schema (openapi.yaml) is what the code serves.

When an endpoint changes on purpose, regenerate it with ``make schema`` and commit it:
integrators diff it to see what changed.
"""

from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command(
        "spectacular",
        "--file",
        str(generated),
        "--urlconf",
        "config.urls",
        "--validate",
        "--fail-on-warn",
    )
    committed = (ROOT / "openapi.yaml").read_text()
    assert generated.read_text() == committed, (
        "openapi.yaml is out of date: run `make schema` and commit it."
    )
