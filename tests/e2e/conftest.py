"""End-to-end harness: the real CLI as a subprocess against sandbox servers on 127.0.0.1."""
import datetime as dt
import os
import subprocess
import sys

import pytest

from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tconnect import TandemLegacySandbox

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMAIL = "pumper@example.com"
PASSWORD = 'p"a$s #w\\ord'          # quotes, $, # and spaces must survive
NS_SECRET = "e2e-nightscout-secret-123"
UTC = dt.timezone.utc


class Env:
    def __init__(self, tandem, ns, scenario, tz_name, tmp_path):
        self.tandem = tandem
        self.ns = ns
        self.scenario = scenario
        self.tz_name = tz_name
        self.tmp_path = tmp_path
        self.vars = {
            "TCONNECT_API": "legacy",
            "TCONNECT_EMAIL": EMAIL, "TCONNECT_PASSWORD": PASSWORD, "PUMP_SERIAL_NUMBER": scenario.serial,
            "NS_URL": ns.url, "NS_SECRET": getattr(ns, "secret", None) or NS_SECRET, "TIMEZONE_NAME": tz_name,
            "TCONNECT_WEB_URL": tandem.web_url, "TCONNECT_WS2_URL": tandem.ws2_url,
            "TCONNECT_SERVICES_URL": tandem.services_url,
        }

    def run(self, *args, extra=None, drop=()):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TIMEZONE"))}
        env.pop("API_SECRET", None)
        env.pop("TZ", None)
        env.update(self.vars)
        env.update(extra or {})
        for name in drop:
            env.pop(name, None)
        env["HOME"] = str(self.tmp_path / "home")
        env["PYTHONPATH"] = REPO
        proc = subprocess.run([sys.executable, "-m", "tconnectsync", *args], cwd=str(self.tmp_path), env=env,
                              capture_output=True, text=True, timeout=300)
        proc.output = proc.stdout + proc.stderr
        return proc


@pytest.fixture
def make_env(tmp_path):
    started = []

    def factory(start, end, tz_name="America/New_York", cutoff=None, flavor="15.0.7", ns=None, **scenario_kw):
        if cutoff is None:
            tz = __import__("pytz").timezone(tz_name)
            cutoff = tz.localize(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())).astimezone(UTC)
        scenario = make_scenario(start, end, tz_name=tz_name, cutoff=cutoff, **scenario_kw)
        tandem = TandemLegacySandbox(scenario, email=EMAIL, password=PASSWORD)
        tandem.__enter__()
        started.append(tandem)
        if ns is None:
            ns = FakeNightscout(api_secret=NS_SECRET, flavor=flavor)
            ns.__enter__()
            started.append(ns)
        (tmp_path / "home").mkdir(exist_ok=True)
        return Env(tandem, ns, scenario, tz_name, tmp_path)

    yield factory
    for server in reversed(started):
        server.__exit__(None, None, None)
