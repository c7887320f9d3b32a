"""Soak benchmark: thousands of --auto-update cycles with a simulated clock; does memory grow?

The daemon polls every 5 simulated minutes while the simulated pump uploads; every cycle with a
new upload syncs the rolling window. Prints RSS and traced Python memory at checkpoints.

    python benchmarks/soak.py --cycles 5000
"""
import argparse
import datetime as dt
import gc
import os
import resource
import sys
import threading
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tconnectsync import timeutil  # noqa: E402
from tconnectsync.config import Config  # noqa: E402
from tconnectsync.runtime import build_clients  # noqa: E402
from tconnectsync.sandbox.nightscout import FakeNightscout  # noqa: E402
from tconnectsync.sandbox.scenario import make_scenario  # noqa: E402
from tconnectsync.sandbox.tconnect import TandemLegacySandbox  # noqa: E402
from tconnectsync.sync.autoupdate import AutoUpdate, Settings  # noqa: E402

UTC = dt.timezone.utc


class SimClock:
    def __init__(self, start, on_move):
        self.t = start.timestamp()
        self.on_move = on_move

    def time(self):
        return self.t

    def now(self):
        return dt.datetime.fromtimestamp(self.t, UTC)

    def sleep(self, seconds, stop=None):
        self.t += max(0.0, seconds)
        self.on_move(self.now())
        return bool(stop and stop.is_set())


def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=5000)
    p.add_argument("--upload-every", type=int, default=6, help="the pump uploads every N polls (default 6)")
    args = p.parse_args()
    tz_name = "America/New_York"
    tz = timeutil.get_zone(tz_name)
    start = timeutil.localize(dt.datetime(2023, 3, 1, 8, 0), tz)
    days = int(args.cycles * 300 / 86400) + 3
    scenario = make_scenario(start.date() - dt.timedelta(days=2), start.date() + dt.timedelta(days=days),
                             tz_name=tz_name, cutoff=start)
    polls = {"n": 0}

    def upload(now):
        polls["n"] += 1
        if polls["n"] % args.upload_every == 0:
            scenario.set_cutoff(now)
    clock = SimClock(start, upload)
    with TandemLegacySandbox(scenario, email="s@example.com", password="pw", clock=clock.time) as tandem, \
            FakeNightscout(api_secret="soak-nightscout-secret", flavor="15.0.7") as ns:
        config = Config(email="s@example.com", password="pw", pump_serial=scenario.serial, ns_url=ns.url,
                        ns_secret="soak-nightscout-secret", timezone_name=tz_name, web_url=tandem.web_url,
                        ws2_url=tandem.ws2_url, services_url=tandem.services_url)
        stop = threading.Event()
        clients = build_clients(config, clock=clock.time, sleep=lambda s: clock.sleep(s, stop))
        loop = AutoUpdate(config, clients, Settings(interval_s=300, days=1), clock=clock, stop=stop)
        import logging
        logging.basicConfig(level=logging.WARNING)
        tracemalloc.start()
        first_snapshot = None
        t0 = time.monotonic()
        checkpoints = sorted({min(args.cycles, c) for c in (100, 500, 1000, 2000, 3000, 4000, args.cycles)})
        done = 0
        base = None
        for cp in checkpoints:
            loop.run(max_cycles=cp)
            done = cp
            stored = len(ns.treatments())
            # The sandboxes live in this process: empty the fake Nightscout and both request logs,
            # so what remains is the daemon's own.
            ns.clear()
            del ns.request_log[:]
            with tandem._lock:
                del tandem._log[:]
            gc.collect()
            if cp == checkpoints[0]:
                first_snapshot = tracemalloc.take_snapshot()
            traced, _ = tracemalloc.get_traced_memory()
            if base is None:
                base = (rss_mb(), traced)
            print("cycle %5d (%s): RSS %.1f MB, traced Python memory %.2f MB, %d syncs, %d failures, %d documents "
                  "had been stored, %.0f s" % (
                      cp, clock.now().astimezone(tz).strftime("%Y-%m-%d %H:%M"), rss_mb(), traced / 1e6,
                      loop.status["counts"]["syncs"], loop.status["counts"]["failures"], stored,
                      time.monotonic() - t0), flush=True)
        gc.collect()
        traced, _ = tracemalloc.get_traced_memory()
        growth = tracemalloc.take_snapshot().compare_to(first_snapshot, "lineno")
        print("largest growth by allocation site since cycle %d:" % checkpoints[0])
        for stat in growth[:5]:
            print("  %s" % stat)
        print("growth from cycle %d to %d: RSS %+.1f MB, traced Python memory %+.2f MB (the fake Nightscout "
              "is emptied at each checkpoint)" % (checkpoints[0], done, rss_mb() - base[0], (traced - base[1]) / 1e6))


if __name__ == "__main__":
    main()
