"""The code keeps the shape the README's Architecture section draws: small modules, no import
cycles (issue 9's limits: no product module over 450 lines, no sandbox module over 600)."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tconnectsync"


def lines(path):
    return sum(1 for _ in path.open(encoding="utf-8"))


def test_no_product_module_over_450_lines_and_no_sandbox_module_over_600():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        limit = 600 if "sandbox" in path.relative_to(PACKAGE).parts else 450
        if lines(path) > limit:
            too_long.append("%s: %d lines (at most %d)" % (path.relative_to(ROOT), lines(path), limit))
    assert not too_long, too_long


def test_no_import_cycles():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "import_cycles.py"), "--all"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().startswith("0 import cycle groups"), result.stdout
