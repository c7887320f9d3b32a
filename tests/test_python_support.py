"""The Python versions we admit: setup.py, the package's own check and the README say the same."""
import glob
import os
import re
import subprocess
import sys

import pytest

import tconnectsync

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as f:
        return f.read()


def test_setup_py_admits_what_the_package_checks():
    minimum = re.search(r'python_requires=">=(\d+)\.(\d+)"', _read("setup.py"))
    assert minimum, "setup.py has no python_requires lower bound"
    assert (int(minimum.group(1)), int(minimum.group(2))) == tconnectsync.MIN_PYTHON
    assert sys.version_info[:2] >= tconnectsync.MIN_PYTHON


def test_readme_names_the_minimum():
    assert "Python %d.%d or newer" % tconnectsync.MIN_PYTHON in _read("README.md")


def _older_interpreters():
    found = []
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        m = re.search(r"/versions/3\.(\d+)\.", path)
        if m and (3, int(m.group(1))) < tconnectsync.MIN_PYTHON and int(m.group(1)) >= 6:
            found.append(path)
    return found[-1:]


@pytest.mark.parametrize("python", _older_interpreters() or [None])
def test_an_older_python_gets_one_sentence_not_a_traceback(python):
    if python is None:
        pytest.skip("no Python older than %d.%d on this machine (pyenv) to try" % tconnectsync.MIN_PYTHON)
    proc = subprocess.run([python, os.path.join(REPO, "main.py"), "--version"], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 1
    assert "tconnectsync needs Python %d.%d or newer" % tconnectsync.MIN_PYTHON in proc.stderr
    assert "Traceback" not in proc.stderr
