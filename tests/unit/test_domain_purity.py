"""domain/ is pure: it imports only the standard library, eventsourcing.domain and itself, and it
reads no clock and draws no random numbers (time and ids arrive as arguments, via provenance).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"

# Fully qualified names that read a clock or draw randomness.
FORBIDDEN_NAMES = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.localtime",
        "time.gmtime",
        "uuid.uuid1",
        "uuid.uuid4",
        "os.urandom",
    }
)
FORBIDDEN_MODULES = frozenset({"random", "secrets"})
# The same calls as written when the import could not be resolved in the module itself.
FORBIDDEN_AS_WRITTEN = frozenset(
    {"datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time", "uuid4", "uuid1"}
)


def _allowed_module(module: str) -> bool:
    top = module.partition(".")[0]
    return (
        top in sys.stdlib_module_names
        or module == "__future__"
        or module == "eventsourcing.domain"
        or module.startswith("eventsourcing.domain.")
        or top == "domain"
    )


def import_violations(source: str, filename: str) -> list[str]:
    """Every import in `source` that leaves the standard library, eventsourcing.domain and domain."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:  # relative: inside domain/
                continue
            module = node.module or ""
            # `from eventsourcing import domain` is the allowed module spelled differently.
            if module == "eventsourcing" and all(alias.name == "domain" for alias in node.names):
                continue
            modules = [module]
        else:
            continue
        found += [
            f"{filename}:{node.lineno}: imports {module}" for module in modules if not _allowed_module(module)
        ]
    return found


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the fully qualified name it was imported as."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _forbidden(written: str, qualified: str) -> bool:
    return (
        written in FORBIDDEN_AS_WRITTEN
        or qualified in FORBIDDEN_NAMES
        or ("." in qualified and qualified.partition(".")[0] in FORBIDDEN_MODULES)
    )


def clock_and_random_violations(source: str, filename: str) -> list[str]:
    """Every place in `source` that reads a clock or draws a random number, called or referenced."""
    tree = ast.parse(source, filename)
    imported = _imported_names(tree)
    found: dict[tuple[int, str], str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute | ast.Name) or not isinstance(node.ctx, ast.Load):
            continue
        written = _dotted(node)
        if written is None:
            continue
        head, _, rest = written.partition(".")
        qualified = imported.get(head, head) + (f".{rest}" if rest else "")
        if _forbidden(written, qualified):
            found.setdefault((node.lineno, written), f"{filename}:{node.lineno}: uses {written}")
    return [found[key] for key in sorted(found)]


def _domain_sources() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def _relative(path: Path) -> str:
    return str(path.relative_to(DOMAIN.parent))


def test_domain_has_modules_to_check() -> None:
    assert _domain_sources(), f"no Python modules found under {DOMAIN}"


def test_domain_imports_only_stdlib_eventsourcing_domain_and_itself() -> None:
    violations = [
        violation
        for path in _domain_sources()
        for violation in import_violations(path.read_text(encoding="utf-8"), _relative(path))
    ]
    assert not violations, "domain/ must stay pure:\n" + "\n".join(violations)


def test_domain_reads_no_clock_and_draws_no_random_numbers() -> None:
    violations = [
        violation
        for path in _domain_sources()
        for violation in clock_and_random_violations(path.read_text(encoding="utf-8"), _relative(path))
    ]
    assert not violations, "domain/ takes time and ids as arguments:\n" + "\n".join(violations)


def test_checker_flags_a_forbidden_import() -> None:
    source = (
        "from __future__ import annotations\nimport json\nfrom domain.roles import Role\nimport msgspec\n"
    )
    assert import_violations(source, "domain/example.py") == ["domain/example.py:4: imports msgspec"]


def test_checker_allows_eventsourcing_domain_but_not_the_rest_of_eventsourcing() -> None:
    source = (
        "from eventsourcing.domain import Aggregate, event\n"
        "from eventsourcing import domain\n"
        "from eventsourcing.application import Application\n"
        "from . import errors\n"
    )
    assert import_violations(source, "x.py") == ["x.py:3: imports eventsourcing.application"]


def test_checker_flags_clocks_and_randomness_however_imported() -> None:
    source = (
        "import datetime as dt\n"
        "import random\n"
        "from time import time\n"
        "from uuid import UUID, uuid4\n"
        "from datetime import date, datetime\n"
        "a = dt.datetime.now(dt.UTC)\n"
        "b = random.choice([1, 2])\n"
        "c = time()\n"
        "d = uuid4\n"
        "e = date.today()\n"
        "f = datetime.fromisoformat('2024-01-01T00:00:00+00:00')\n"
        "g = UUID(int=0)\n"
    )
    assert clock_and_random_violations(source, "x.py") == [
        "x.py:6: uses dt.datetime.now",
        "x.py:7: uses random.choice",
        "x.py:8: uses time",
        "x.py:9: uses uuid4",
        "x.py:10: uses date.today",
    ]
