"""The layers of the code base, read from the source (``ast``, every ``import`` and
``from`` statement, including those inside functions).

Floors, lowest first: an app imports only apps on lower floors, and no app imports
config (the project package, which sits above them all). core is the ground floor: it
imports no domain app. Apps added later (documents, ...) get a floor in ``FLOORS``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. An app may import the apps below it, never one above or beside it.
FLOORS = [
    ["core"],
    ["accounts"],
    ["clinical"],
    ["dme"],
    ["hme"],
    ["documents"],
    ["resupply", "adherence"],
    ["cockpit"],
]
# Importing this from anywhere but the very top (the project package) is an upward import.
PROJECT_PACKAGE = "config"

FLOOR_OF = {app: level for level, apps in enumerate(FLOORS) for app in apps}


def _modules(app):
    return sorted(
        path
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT / app).parts
    )


def _package_of(path):
    # A module's package, and a package's own __init__: both its folder.
    return list(path.relative_to(ROOT).parent.parts)


def imported_tops(path):
    """(line, top-level package) of every import in the module at ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if target:
                    found.append((node.lineno, target[0]))
            elif node.module:
                found.append((node.lineno, node.module.split(".")[0]))
    return found


def app_imports(app):
    """Every import of another project app or of config, as ``path:line -> top``."""
    known = set(FLOOR_OF) | {PROJECT_PACKAGE}
    return [
        (f"{path.relative_to(ROOT)}:{line}", top)
        for path in _modules(app)
        for line, top in imported_tops(path)
        if top in known and top != app
    ]


def test_every_floor_app_exists():
    for app in FLOOR_OF:
        assert (ROOT / app / "__init__.py").is_file(), app


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "mod.py"
    module.write_text("def f():\n    from accounts.tenancy import x\n    import hme.models\n")
    assert imported_tops(module) == [(2, "accounts"), (3, "hme")]


def test_core_imports_no_domain_app_and_not_config():
    upward = [f"{where} imports {top}" for where, top in app_imports("core")]
    assert upward == []


@pytest.mark.parametrize("app", sorted(FLOOR_OF))
def test_no_app_imports_upward_or_config(app):
    upward = [
        f"{where} imports {top}"
        for where, top in app_imports(app)
        if top == PROJECT_PACKAGE or FLOOR_OF[top] >= FLOOR_OF[app]
    ]
    assert upward == []


def test_no_import_circle_between_apps():
    graph = {app: {top for _, top in app_imports(app) if top in FLOOR_OF} for app in FLOOR_OF}
    circles = [
        f"{app} <-> {other}"
        for app, targets in graph.items()
        for other in targets
        if app < other and app in graph[other]
    ]
    assert circles == []
    # Longer circles too: a depth-first walk that finds any path back to its start.
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            node = stack.pop()
            assert node != start, f"import circle through {start}"
            if node not in seen:
                seen.add(node)
                stack.extend(graph[node])
