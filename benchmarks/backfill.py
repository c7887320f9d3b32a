"""Backfill benchmark: a Control-IQ pump's N-day backfill against the sandbox with added latency.

Prints wall time, requests per host and the sync process's peak RSS, for each --days value.
Targets (30 days, 30 ms per request): < 100 requests in all, < 10 s, < 150 MB; and the 365-day
run's peak RSS no more than 1.5x the 30-day one.

    python benchmarks/backfill.py                  # 30 and 365 days
    python benchmarks/backfill.py --days 30 --latency 0.03
"""
import argparse
import datetime as dt
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tconnectsync import timeutil  # noqa: E402
from tconnectsync.sandbox.nightscout import FakeNightscout  # noqa: E402
from tconnectsync.sandbox.scenario import make_scenario  # noqa: E402
from tconnectsync.sandbox.tconnect import TandemLegacySandbox  # noqa: E402

EMAIL, PASSWORD, SECRET = "bench@example.com", "bench-password", "bench-nightscout-secret"
TZ = "America/New_York"


def one_run(days, latency, end, api="legacy"):
    start = end - dt.timedelta(days=days - 1)
    tz = timeutil.get_zone(TZ)
    cutoff = timeutil.day_bounds_utc(end, tz)[1]
    scenario = make_scenario(start, end, tz_name=TZ, seed=11, cutoff=cutoff, boluses_per_day=10)
    if api == "source":
        from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
        tandem = TandemSourceSandbox(scenario, email=EMAIL, password=PASSWORD, latency=latency)
    else:
        tandem = TandemLegacySandbox(scenario, email=EMAIL, password=PASSWORD, latency=latency)
    import tempfile
    with tandem, FakeNightscout(api_secret=SECRET, flavor="15.0.7") as ns:
        ns.latency = latency
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TANDEM"))}
        env.update({"TCONNECT_API": api, "TCONNECT_EMAIL": EMAIL, "TCONNECT_PASSWORD": PASSWORD,
                    "PUMP_SERIAL_NUMBER": scenario.serial, "NS_URL": ns.url, "NS_SECRET": SECRET, "TIMEZONE_NAME": TZ,
                    "PYTHONPATH": REPO, "TCONNECTSYNC_TOKEN_FILE": os.path.join(tempfile.mkdtemp(), "tokens.json")})
        if api == "source":
            env.update({"TANDEM_SSO_URL": tandem.sso_url, "TCONNECT_SERVICES_URL": tandem.services_url,
                        "TANDEM_SOURCE_URL": tandem.source_url})
        else:
            env.update({"TCONNECT_WEB_URL": tandem.web_url, "TCONNECT_WS2_URL": tandem.ws2_url,
                        "TCONNECT_SERVICES_URL": tandem.services_url})
        t0 = time.monotonic()
        features = ["BASAL", "BOLUS", "IOB"]
        proc = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "_measure.py"),
                               "--start-date", str(start), "--end-date", str(end), "--features", *features],
                              env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            raise SystemExit("the backfill failed (exit %d)" % proc.returncode)
        peak_kb = int([l for l in proc.stderr.splitlines() if l.startswith("PEAK_RSS_KB=")][-1].split("=")[1])
        counts = dict(tandem.request_counts)
        counts["nightscout"] = ns.request_count
        docs = len(ns.treatments())
    return {"days": days, "wall_s": wall, "requests": counts, "total_requests": sum(counts.values()),
            "peak_rss_mb": peak_kb / 1024.0, "documents": docs}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", default="30,365", help="comma-separated backfill lengths (default 30,365)")
    p.add_argument("--latency", type=float, default=0.03, help="seconds added to every request (default 0.03)")
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2024, 6, 30))
    p.add_argument("--api", choices=("legacy", "source"), default="legacy", help="which Tandem API (default legacy)")
    args = p.parse_args()
    results = []
    for days in [int(d) for d in args.days.split(",")]:
        r = one_run(days, args.latency, args.end, args.api)
        results.append(r)
        print("%4d days: %6.2f s wall, %4d requests (%s), peak RSS %.1f MB, %d documents in Nightscout" % (
            r["days"], r["wall_s"], r["total_requests"],
            ", ".join("%s %d" % kv for kv in sorted(r["requests"].items())), r["peak_rss_mb"], r["documents"]))
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            print("peak RSS %d days / %d days: %.2fx" % (r["days"], base["days"], r["peak_rss_mb"] / base["peak_rss_mb"]))


if __name__ == "__main__":
    main()
