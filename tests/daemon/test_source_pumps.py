"""The daemon with Tandem Source and a replaced pump: both pumps synced, the status names them."""
import datetime as dt
import json
import threading

from tconnectsync import timeutil
from tconnectsync.config import Config
from tconnectsync.runtime import build_clients, close_clients
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
from tconnectsync.sandbox.tandemsource.swap import NEW_SERIAL, OLD_SERIAL, swapped_pumps
from tconnectsync.sync.autoupdate import AutoUpdate, Settings

from .conftest import EMAIL, PASSWORD, SECRET, FakeClock

TZ = "America/New_York"


def test_the_daemon_syncs_both_pumps_and_names_them_in_the_status(tmp_path):
    tz = timeutil.get_zone(TZ)
    start, swap, end = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)
    clock = FakeClock(timeutil.localize(dt.datetime(2025, 3, 4, 9, 0), tz))
    old, new = swapped_pumps(start, swap, end, tz_name=TZ, cutoff=clock.now())
    clock.hooks.append(new.scenario.set_cutoff)             # the new pump uploads as time goes by
    path = tmp_path / "status.json"
    stop = threading.Event()
    with TandemSourceSandbox(new.scenario, pumps=[old, new], email=EMAIL, password=PASSWORD,
                             clock=clock.time) as tandem, FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        config = Config(email=EMAIL, password=PASSWORD, pump_serial="", ns_url=ns.url, ns_secret=SECRET,
                        timezone_name=TZ, api="source", sso_url=tandem.sso_url, services_url=tandem.services_url,
                        source_url=tandem.source_url, http_timeout=10)
        clients = build_clients(config, clock=clock.time, sleep=lambda s: clock.sleep(s, stop))
        try:
            loop = AutoUpdate(config, clients, Settings(interval_s=300, days=2, features=("BASAL", "BOLUS"),
                                                        status_path=str(path)), clock=clock, stop=stop)
            loop.run(max_cycles=2)
        finally:
            close_clients(clients)
        status = json.loads(path.read_text())
        assert status["last_success"]
        assert status["pumps"] == [
            {"serial": OLD_SERIAL, "model": "t:slim X2", "first_day": "2025-03-03", "last_day": "2025-03-03"},
            {"serial": NEW_SERIAL, "model": "t:slim X2", "first_day": "2025-03-04", "last_day": "2025-03-04"}]
        swap_at = timeutil.day_bounds_utc(swap, tz)[0]
        boluses = [d for d in ns.treatments() if d["eventType"] == "Combo Bolus"]
        before = [d for d in boluses if timeutil.parse_iso_utc(d["created_at"]) < swap_at]
        after = [d for d in boluses if timeutil.parse_iso_utc(d["created_at"]) >= swap_at]
        assert len(before) == len([b for b in old.scenario.truth_boluses(start, start) if b.delivered])
        assert after and len(after) == len([b for b in new.scenario.truth_boluses(swap, swap)
                                            if b.completion_time <= clock.now() and b.delivered])
