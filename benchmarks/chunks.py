"""Chunk benchmark: a backfill in chunks against the same backfill in one piece, and the documents.

Syncs N days of a sandbox scenario into the fake Nightscout twice (chunks of --chunk days, then
--whole days per chunk), prints each run's wall time and how many documents differ, and with
--dump writes the chunked run's documents (treatments, entries, activity) as JSON, so that two
versions of the code can be compared document by document (--compare).

    python benchmarks/chunks.py --api source --days 30 --chunk 7 --whole 30
    python benchmarks/chunks.py --api legacy --days 14 --chunk 2 --whole 2 --dump before.json
    python benchmarks/chunks.py --api legacy --days 14 --chunk 2 --whole 2 --compare before.json
"""
import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tconnectsync import timeutil  # noqa: E402
from tconnectsync.config import Config  # noqa: E402
from tconnectsync.runtime import build_clients, close_clients  # noqa: E402
from tconnectsync.sandbox.nightscout import FakeNightscout  # noqa: E402
from tconnectsync.sandbox.scenario import make_scenario  # noqa: E402
from tconnectsync.sandbox.tandemsource import TandemSourceSandbox  # noqa: E402
from tconnectsync.sandbox.tconnect import TandemLegacySandbox  # noqa: E402
from tconnectsync.sync.engine import sync_once  # noqa: E402

EMAIL, PASSWORD, SECRET = "chunks@example.com", "chunk-password", "chunks-nightscout-secret"
TZ = "America/New_York"
FEATURES = {"source": ("BASAL", "BOLUS", "PUMP_EVENTS", "CGM_ALERTS", "CGM", "IOB", "PROFILES"),
            "legacy": ("BASAL", "BOLUS", "PUMP_EVENTS", "IOB")}


def scenario_of(tandem):
    pumps = getattr(tandem, "pumps", None)
    return pumps[0].scenario if pumps else tandem.scenario


def _documents(ns):
    def clean(docs):
        return sorted((json.dumps({k: v for k, v in d.items() if k not in ("_id", "srvModified", "srvCreated",
                                                                         "mills", "date_created")},
                                  sort_keys=True) for d in docs))
    return {"treatments": clean(ns.treatments()), "entries": clean(ns.entries()), "activity": clean(ns.activity())}


def sync(api, tandem, ns, window, chunk_days, tmp):
    ns.clear()
    values = dict(email=EMAIL, password=PASSWORD, pump_serial=scenario_of(tandem).serial, ns_url=ns.url, ns_secret=SECRET,
                  timezone_name=TZ, api=api, services_url=tandem.services_url, http_timeout=10.0,
                  chunk_days=chunk_days)
    if api == "source":
        values.update(region=tandem.region, sso_url=tandem.sso_url, source_url=tandem.source_url,
                      token_file=os.path.join(tmp, "tokens.json"))
    else:
        values.update(web_url=tandem.web_url, ws2_url=tandem.ws2_url)
    config = Config(**values)
    clients = build_clients(config)
    clients.source.chunk_days = chunk_days
    t0 = time.monotonic()
    try:
        summary = sync_once(config, clients, window, FEATURES[api])
    finally:
        close_clients(clients)
    wall = time.monotonic() - t0
    if not summary.ok:
        raise SystemExit("the sync failed: %s" % summary.failures)
    return wall, _documents(ns)


def differing(a, b):
    return sum(len(set(a[k]) ^ set(b[k])) for k in a)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", choices=sorted(FEATURES), default="source", help="the TCONNECT_API value (default source)")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--chunk", type=int, default=7, help="days per chunk of the chunked run (default 7)")
    p.add_argument("--whole", type=int, default=None, help="days per chunk of the one-piece run (default --days)")
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2024, 6, 30))
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--dump", help="write the chunked run's documents to this JSON file")
    p.add_argument("--compare", help="count the documents that differ from this JSON file (a --dump)")
    args = p.parse_args()
    start = args.end - dt.timedelta(days=args.days - 1)
    tz = timeutil.get_zone(TZ)
    scenario = make_scenario(start, args.end, tz_name=TZ, seed=args.seed, cutoff=timeutil.day_bounds_utc(args.end, tz)[1])
    cls = TandemSourceSandbox if args.api == "source" else TandemLegacySandbox
    tmp = tempfile.mkdtemp()
    with cls(scenario, email=EMAIL, password=PASSWORD) as tandem, \
            FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        wall_c, chunked = sync(args.api, tandem, ns, (start, args.end), args.chunk, tmp)
        wall_w, whole = sync(args.api, tandem, ns, (start, args.end), args.whole or args.days, tmp)
    print("%s, %d days: chunks of %d days %.2f s, one piece (%d days) %.2f s; %d treatments, %d entries, "
          "%d activity; %d documents differ" % (args.api, args.days, args.chunk, wall_c, args.whole or args.days,
                                                wall_w, len(chunked["treatments"]), len(chunked["entries"]),
                                                len(chunked["activity"]), differing(chunked, whole)))
    if args.dump:
        with open(args.dump, "w") as f:
            json.dump(chunked, f, indent=0)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        print("%d documents differ from %s" % (differing(chunked, before), args.compare))
        return 1 if differing(chunked, before) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
