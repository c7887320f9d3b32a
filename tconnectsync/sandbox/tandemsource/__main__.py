"""``python -m tconnectsync.sandbox.tandemsource``: serve the simulated Source cloud until Ctrl-C."""
import argparse
import datetime as dt
import time

from .. import clock
from ..scenario import make_scenario
from .sandbox import SandboxPump, TandemSourceSandbox


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tconnectsync.sandbox.tandemsource",
                                 description="Run the simulated Tandem Source cloud until Ctrl-C.")
    ap.add_argument("--days", type=int, default=3, help="days of history ending today (pump time)")
    ap.add_argument("--tz", default="America/New_York", help="pump time zone")
    ap.add_argument("--region", default="US", choices=("US", "EU"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--email", default="demo@example.com")
    ap.add_argument("--password", default="demo-password")
    ap.add_argument("--mobi", action="store_true", help="add a Tandem Mobi (last seen 3 days ago)")
    ap.add_argument("--fixtures", default=None, help="serve this fixtures folder instead of a scenario")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.timezone.utc)
    pumps = None
    if not args.fixtures:
        today = clock.today(args.tz, now)
        start = today - dt.timedelta(days=max(1, args.days) - 1)
        sc = make_scenario(start, today, tz_name=args.tz, seed=args.seed, cutoff=now)
        pumps = [SandboxPump(sc)]
        if args.mobi:
            pumps.append(SandboxPump(make_scenario(start - dt.timedelta(days=7), today, tz_name=args.tz,
                                                   seed=args.seed + 1, serial="22222222",
                                                   cutoff=now - dt.timedelta(days=3)), model="mobi"))
    sandbox = TandemSourceSandbox(pumps=pumps, fixtures_dir=args.fixtures, region=args.region, email=args.email,
                                  password=args.password, latency=args.latency)
    with sandbox:
        print("SSO page (TANDEM_SSO_URL):           %s" % sandbox.sso_url)
        print("tdcservices (TCONNECT_SERVICES_URL): %s" % sandbox.services_url)
        print("Source (TANDEM_SOURCE_URL):          %s" % sandbox.source_url)
        print("region %s, login %s, pumps %s"
              % (args.region, sandbox.email, ", ".join(p.serial for p in sandbox.pumps) or "fixtures"), flush=True)
        try:
            while True:           # the pumps "upload" every minute
                time.sleep(60)
                if sandbox.pumps:           # the first pump; a Mobi stays three days behind
                    sandbox.pumps[0].scenario.set_cutoff(dt.datetime.now(dt.timezone.utc))
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
