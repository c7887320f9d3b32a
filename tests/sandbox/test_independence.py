"""The sandbox shares no code with what it tests: no module under ``tconnectsync/sandbox/``
imports anything of ``tconnectsync`` outside ``tconnectsync.sandbox``."""
import ast
import pathlib

import pytest

import tconnectsync.sandbox

SANDBOX = pathlib.Path(tconnectsync.sandbox.__file__).parent


def package_of(path):
    return ".".join(("tconnectsync", "sandbox") + path.relative_to(SANDBOX).parent.parts)


def imported_modules(source, package, filename="<probe>"):
    """(absolute module name, line) for every import in ``source``, a module of ``package``
    (relative imports resolved; ``from a import b`` also gives ``a.b``)."""
    package_parts = package.split(".")
    out = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[:len(package_parts) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.append((name, node.lineno))
            out.extend(("%s.%s" % (name, alias.name), node.lineno) for alias in node.names)
    return out


def product_imports(names):
    return [n for n in names if (n == "tconnectsync" or n.startswith("tconnectsync."))
            and not (n == "tconnectsync.sandbox" or n.startswith("tconnectsync.sandbox."))]


def test_the_sandbox_has_modules_to_check():
    files = sorted(SANDBOX.rglob("*.py"))
    assert len(files) >= 15
    assert {"clock.py", "history.py", "httpserver.py"} <= {f.name for f in files}


def test_no_sandbox_module_imports_the_product():
    offenders = []
    for path in sorted(SANDBOX.rglob("*.py")):
        found = imported_modules(path.read_text(encoding="utf-8"), package_of(path), str(path))
        for name in product_imports(n for n, _ in found):
            line = next(ln for n, ln in found if n == name)
            offenders.append("%s:%d imports %s" % (path.relative_to(SANDBOX.parent), line, name))
    assert offenders == []


@pytest.mark.parametrize("source, package, caught", [
    ("from ... import timeutil\n", "tconnectsync.sandbox.tconnect", ["tconnectsync", "tconnectsync.timeutil"]),
    ("from ..parser import records\n", "tconnectsync.sandbox", ["tconnectsync.parser", "tconnectsync.parser.records"]),
    ("import tconnectsync.timeutil\n", "tconnectsync.sandbox", ["tconnectsync.timeutil"]),
    ("from tconnectsync import timeutil\n", "tconnectsync.sandbox", ["tconnectsync", "tconnectsync.timeutil"]),
    ("from ..clock import zone\nfrom . import wire\n", "tconnectsync.sandbox.tconnect", []),
])
def test_the_check_catches_imports_that_leave_the_sandbox(source, package, caught):
    assert product_imports(n for n, _ in imported_modules(source, package)) == caught


def test_no_sandbox_module_is_over_600_lines():
    long = {str(p.relative_to(SANDBOX)): n for p in SANDBOX.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}
