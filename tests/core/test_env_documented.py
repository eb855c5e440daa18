"""Every environment variable config/settings.py reads is documented twice: a line in
.env.example and a row in the README's Configuration table.

The variables are found by parsing the settings with ``ast`` (no import, so a variable
read only with DEBUG off or only on PostgreSQL is found too): every ``env.<cast>("NAME",
...)``, ``env("NAME")`` and ``_secret("NAME", ...)`` call with a literal name."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "config" / "settings.py"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"

# The cast helpers of django-environ's Env that read one variable by name.
ENV_READERS = {
    "bool",
    "str",
    "int",
    "float",
    "list",
    "tuple",
    "dict",
    "json",
    "url",
    "path",
    "bytes",
    "db",
    "db_url",
    "cache",
    "cache_url",
    "email",
    "email_url",
    "search_url",
    "parse_value",
}


def _name_of(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    for keyword in call.keywords:
        if keyword.arg == "var" and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def settings_variables(source: str) -> set[str]:
    """The names of the environment variables a settings module reads."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        reads = (isinstance(func, ast.Name) and func.id in {"env", "_secret"}) or (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
            and func.attr in ENV_READERS
        )
        name = _name_of(node) if reads else None
        if name:
            names.add(name)
    return names


def env_example_variables(text: str) -> set[str]:
    """Names set or shown commented out (``# NAME=``) in an example env file."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def readme_table_variables(text: str) -> set[str]:
    """Names in the first column of the README's Configuration table (one row may name
    several: ``JWT_ACCESS_MINUTES`` / ``JWT_REFRESH_DAYS``)."""
    section = text.split("\n## Configuration", 1)
    assert len(section) == 2, "README.md has no '## Configuration' section"
    body = section[1].split("\n## ", 1)[0]
    names = set()
    for line in body.splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_it_finds_every_kind_of_read():
    source = (
        'A = env.bool("A_BOOL", default=False)\n'
        'B = env("B_PLAIN")\n'
        'C = _secret("C_SECRET", "dev")\n'
        'D = env.db("D_URL", default="sqlite://")\n'
        'E = env.list(var="E_LIST")\n'
        'F = os.environ.get("NOT_OURS")\n'
        "G = env.str(name)\n"
    )
    assert settings_variables(source) == {"A_BOOL", "B_PLAIN", "C_SECRET", "D_URL", "E_LIST"}


def test_it_reads_the_real_settings():
    names = settings_variables(SETTINGS.read_text())
    # A floor: if the parser stopped finding reads, the two tests below would pass vacuously.
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "BACKUP_ENCRYPTION_KEY"} <= names


def test_it_parses_commented_and_set_lines():
    text = "DEBUG=1\n# REDIS_URL=redis://x\n# a comment, not a variable: see README\n"
    assert env_example_variables(text) == {"DEBUG", "REDIS_URL"}


def test_it_parses_rows_naming_several_variables():
    text = (
        "# X\n\n## Configuration\n\n| variable | default |\n| --- | --- |\n"
        "| `A_ONE` / `A_TWO` | `1` with `NOT_A_NAME_CELL` |\n\n## Next\n| `B_OUT` |\n"
    )
    assert readme_table_variables(text) == {"A_ONE", "A_TWO"}


def test_every_settings_variable_is_in_env_example():
    missing = sorted(
        settings_variables(SETTINGS.read_text()) - env_example_variables(ENV_EXAMPLE.read_text())
    )
    assert not missing, f"missing from .env.example: {', '.join(missing)}"


def test_every_settings_variable_is_in_the_readme_configuration_table():
    missing = sorted(
        settings_variables(SETTINGS.read_text()) - readme_table_variables(README.read_text())
    )
    assert not missing, f"missing from README.md's Configuration table: {', '.join(missing)}"
