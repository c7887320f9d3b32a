"""The web app against the sandbox servers on 127.0.0.1 (a simulated Tandem cloud and Nightscout)."""
import datetime as dt
import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("flask", reason="the web tests need Flask: pip install -e '.[test]'")

from tconnectsync.sandbox.nightscout import FakeNightscout  # noqa: E402
from tconnectsync.sandbox.scenario import make_scenario  # noqa: E402
from tconnectsync.sandbox.tconnect import TandemLegacySandbox  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMAIL = "web-user@example.com"
PASSWORD = "web-tandem-password-42"
NS_SECRET = "web-nightscout-secret-123"
APP_SECRET = "app-secret-0123456789abcdef"
TZ_NAME = "America/New_York"
UTC = dt.timezone.utc


class WebEnv:
    def __init__(self, tandem, ns, scenario, state_dir, tandem_settings):
        self.tandem = tandem
        self.ns = ns
        self.scenario = scenario
        self.state_dir = state_dir
        self.environ = {
            "TCONNECT_EMAIL": EMAIL, "TCONNECT_PASSWORD": PASSWORD, "NS_URL": ns.url, "NS_SECRET": NS_SECRET,
            "TIMEZONE_NAME": TZ_NAME, "TCONNECTSYNC_STATE_DIR": str(state_dir),
            "TCONNECTSYNC_HEROKU_SECRET": APP_SECRET,
        }
        self.environ.update(tandem_settings)
        self.apps = []

    def app(self, **overrides):
        from tconnectsync.web import create_app
        environ = dict(self.environ)
        for key, value in overrides.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        app = create_app(environ=environ, start_scheduler=False)
        app.config["TESTING"] = True
        self.apps.append(app)
        return app

    def close(self):
        for app in self.apps:
            state = app.extensions["tconnectsync"]
            state.shutdown()
            state.runner.close_all()


@pytest.fixture
def web_env(tmp_path, monkeypatch):
    """Sandbox servers with three days of data up to now, and settings for the app."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))      # no ~/.config/tconnectsync/.env of the machine
    monkeypatch.chdir(tmp_path)                             # no ./.env
    (tmp_path / "home").mkdir()
    now = dt.datetime.now(UTC)
    today = now.astimezone(__import__("pytz").timezone(TZ_NAME)).date()
    scenario = make_scenario(today - dt.timedelta(days=3), today, tz_name=TZ_NAME, cutoff=now, seed=11)
    with TandemLegacySandbox(scenario, email=EMAIL, password=PASSWORD) as tandem, \
            FakeNightscout(api_secret=NS_SECRET, flavor="15.0.7") as ns:
        env = WebEnv(tandem, ns, scenario, tmp_path / "state", {
            "TCONNECT_API": "legacy", "PUMP_SERIAL_NUMBER": scenario.serial, "TCONNECT_WEB_URL": tandem.web_url,
            "TCONNECT_WS2_URL": tandem.ws2_url, "TCONNECT_SERVICES_URL": tandem.services_url})
        try:
            yield env
        finally:
            env.close()


def wait_idle(state, timeout=30):
    """Wait until no run holds the sync lock (a run started by /run or the interval job)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = state.runner.history.runs()
        if not state.runner.running() and all(r.get("state") != "running" for r in runs):
            return runs
        time.sleep(0.02)
    raise AssertionError("a run was still going after %d s" % timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(environ, home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TCONNECT", "TANDEM", "NS_", "PUMP_", "TIMEZONE", "LISTEN_"))}
    env.pop("API_SECRET", None)
    env.pop("TZ", None)
    env.update(environ)
    env["HOME"] = str(home)
    env["PYTHONPATH"] = REPO
    return env


def start_process(args, environ, cwd, ready=b"Listening at:", timeout=20):
    """Start a server process; return (proc, the first stderr/stdout line that says where it listens)."""
    proc = subprocess.Popen(args, cwd=str(cwd), env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError("server exited: %s" % b"".join(seen).decode(errors="replace"))
            continue
        seen.append(line)
        if ready in line:
            return proc, line.decode(errors="replace"), seen
    proc.kill()
    raise AssertionError("server did not start: %s" % b"".join(seen).decode(errors="replace"))


PYTHON = sys.executable


@pytest.fixture
def source_web_env(tmp_path, monkeypatch):
    """The same, with the simulated Tandem Source cloud (TCONNECT_API=source, the default API)."""
    from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    now = dt.datetime.now(UTC)
    today = now.astimezone(__import__("pytz").timezone(TZ_NAME)).date()
    scenario = make_scenario(today - dt.timedelta(days=3), today, tz_name=TZ_NAME, cutoff=now, seed=12)
    with TandemSourceSandbox(scenario, region="US", email=EMAIL, password=PASSWORD) as tandem, \
            FakeNightscout(api_secret=NS_SECRET, flavor="15.0.7") as ns:
        env = WebEnv(tandem, ns, scenario, tmp_path / "state", {
            "TCONNECT_REGION": "US", "TANDEM_SSO_URL": tandem.sso_url, "TCONNECT_SERVICES_URL": tandem.services_url,
            "TANDEM_SOURCE_URL": tandem.source_url, "TCONNECTSYNC_TOKEN_FILE": str(tmp_path / "tokens.json")})
        try:
            yield env
        finally:
            env.close()
