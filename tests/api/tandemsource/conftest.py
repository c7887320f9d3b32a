"""The ``sandbox`` fixture: a factory of simulated Tandem Source clouds, stopped after the test."""
import pytest

from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
from .helpers import EMAIL, PASSWORD, Clock, scenario


@pytest.fixture
def sandbox():
    started = []

    def factory(sc=None, **kw):
        kw.setdefault("email", EMAIL)
        kw.setdefault("password", PASSWORD)
        kw.setdefault("clock", Clock())
        if "pumps" not in kw and "fixtures_dir" not in kw:
            kw["scenario"] = sc or scenario()
        sb = TandemSourceSandbox(**kw).start()
        started.append(sb)
        return sb

    yield factory
    for sb in started:
        sb.stop()
