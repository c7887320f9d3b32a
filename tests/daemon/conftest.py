"""In-process daemon harness: a fake clock drives the loop, the sandbox servers answer over HTTP."""
import datetime as dt
import logging
import threading

import pytest

from tconnectsync import timeutil
from tconnectsync.config import Config
from tconnectsync.runtime import build_clients, close_clients
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tconnect import TandemLegacySandbox
from tconnectsync.sync.autoupdate import AutoUpdate, Settings
from tconnectsync.sync.engine import sync_once

UTC = dt.timezone.utc
EMAIL, PASSWORD, SECRET = "loop@example.com", "loop-password", "loop-nightscout-secret"


class FakeClock:
    """Time that moves only when the loop sleeps; hooks see every new 'now'."""

    def __init__(self, start):
        self.t = start.timestamp()
        self.hooks = []
        self.sleeps = []

    def time(self):
        return self.t

    def now(self):
        return dt.datetime.fromtimestamp(self.t, UTC)

    def sleep(self, seconds, stop=None):
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        for hook in self.hooks:
            hook(self.now())
        return bool(stop and stop.is_set())


class Loop:
    def __init__(self, start_local, tz_name="America/New_York", days_before=2, days_after=2, token_lifetime_s=8 * 3600,
                 password=PASSWORD, **settings):
        self.tz = timeutil.get_zone(tz_name)
        start = timeutil.localize(start_local, self.tz)
        self.clock = FakeClock(start)
        self.scenario = make_scenario(start_local.date() - dt.timedelta(days=days_before),
                                      start_local.date() + dt.timedelta(days=days_after), tz_name=tz_name,
                                      cutoff=start)
        self.tandem = TandemLegacySandbox(self.scenario, email=EMAIL, password=PASSWORD, clock=self.clock.time,
                                          token_lifetime_s=token_lifetime_s).start()
        self.ns = FakeNightscout(api_secret=SECRET, flavor="15.0.7")
        self.ns.start()
        self.follow = True                  # the pump uploads as time goes by

        def upload(now):
            if self.follow:
                self.scenario.set_cutoff(now)
        self.clock.hooks.append(upload)
        self.config = Config(email=EMAIL, password=password, pump_serial=self.scenario.serial, ns_url=self.ns.url,
                             ns_secret=SECRET, timezone_name=tz_name, web_url=self.tandem.web_url,
                             ws2_url=self.tandem.ws2_url, services_url=self.tandem.services_url, http_timeout=10)
        self.stop = threading.Event()
        self.clients = build_clients(self.config, clock=self.clock.time,
                                     sleep=lambda s: self.clock.sleep(s, self.stop))
        defaults = dict(interval_s=300, days=2, features=("BASAL", "BOLUS", "IOB"))
        defaults.update(settings)
        self.loop = AutoUpdate(self.config, self.clients, Settings(**defaults), clock=self.clock, stop=self.stop)

    def run(self, cycles):
        return self.loop.run(max_cycles=self.loop.cycles + cycles)

    def fresh_view(self, start, end, features=("BASAL", "BOLUS")):
        """What one one-shot run of [start, end] writes into an empty Nightscout, right now."""
        with FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
            config = Config(**{**self.config.__dict__, "ns_url": ns.url})
            clients = build_clients(config, clock=self.clock.time)
            try:
                summary = sync_once(config, clients, (start, end), features)
                assert summary.ok
            finally:
                close_clients(clients)
            return view(ns.treatments())

    def close(self):
        close_clients(self.clients)
        self.tandem.stop()
        self.ns.stop()


def view(docs):
    return sorted((d["identifier"], d["created_at"], d.get("duration"), d.get("absolute"), d.get("insulin"),
                   d.get("notes")) for d in docs if d.get("identifier"))


@pytest.fixture
def make_loop():
    loops = []

    def factory(*args, **kw):
        loop = Loop(*args, **kw)
        loops.append(loop)
        return loop
    yield factory
    for loop in loops:
        loop.close()


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)
