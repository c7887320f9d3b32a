"""Fixtures for every test."""
import pytest

from tconnectsync import logs


@pytest.fixture(autouse=True)
def _fresh_warn_once():
    """Each test stands for a new process: warnings logged once per process are logged again."""
    logs.forget_warnings()
    yield
