"""``python -m tconnectsync.sandbox.tconnect``: serve the simulated legacy cloud until Ctrl-C."""
import argparse
import datetime as dt
import time

from .. import clock
from ..scenario import make_scenario
from .sandbox import TandemLegacySandbox


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tconnectsync.sandbox.tconnect",
                                 description="Run the simulated Tandem legacy cloud until Ctrl-C.")
    ap.add_argument("--days", type=int, default=3, help="days of history ending today (pump time)")
    ap.add_argument("--tz", default="America/New_York", help="pump time zone")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--email", default="demo@example.com")
    ap.add_argument("--password", default="demo-password")
    ap.add_argument("--fixtures", default=None, help="a fixtures folder to serve verbatim for its windows")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.timezone.utc)
    today = clock.today(args.tz, now)
    sc = make_scenario(today - dt.timedelta(days=max(1, args.days) - 1), today, tz_name=args.tz,
                       seed=args.seed, cutoff=now)
    sandbox = TandemLegacySandbox(scenario=sc, fixtures_dir=args.fixtures, email=args.email,
                                  password=args.password, latency=args.latency)
    with sandbox:
        print("web (tconnect.tandemdiabetes.com): %s" % sandbox.web_url)
        print("ws2 (tconnectws2):                 %s" % sandbox.ws2_url)
        print("services (tdcservices):            %s" % sandbox.services_url)
        print("login %s / %s, user GUID %s, pump serial %s, pump time zone %s"
              % (args.email, args.password, sandbox.user_guid, sc.serial, args.tz), flush=True)
        try:
            while True:           # the pump "uploads" every minute
                time.sleep(60)
                sc.set_cutoff(dt.datetime.now(dt.timezone.utc))
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
