"""``--demo``: the whole pipeline against the built-in sandbox, no credentials needed.

A simulated Tandem account (a few days of realistic Control-IQ data) and a Nightscout-compatible
server run on 127.0.0.1 for the length of the run; tconnectsync's real clients sync between them.
"""
import collections
import datetime as dt
import json
import os
import sys
import tempfile

from .config import Config, check_features, default_features
from .errors import ConfigError
from . import timeutil

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_NS_SECRET = "demo-nightscout-secret"


def run(args, environ, out=None):
    from .cli import format_summary
    from .progress import Progress
    from .runtime import build_clients, close_clients
    from .sandbox.nightscout import FakeNightscout
    from .sandbox.scenario import make_scenario
    from .sandbox.tconnect_server import TandemLegacySandbox
    from .sync.engine import sync_once

    out = out or sys.stdout
    tz_name = (environ.get("TIMEZONE_NAME") or "").strip() or "America/New_York"
    try:
        tz = timeutil.get_zone(tz_name)
    except Exception:
        raise ConfigError("TIMEZONE_NAME=%r is not a known time zone name: use e.g. America/New_York." % tz_name) from None
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(tz).date()
    days = args.days or 2
    start, end = (args.start_date, args.end_date) if args.start_date else (today - dt.timedelta(days=days), today)
    api = (args.api or environ.get("TCONNECT_API") or "source").strip().lower()
    region = (args.region or environ.get("TCONNECT_REGION") or "US").strip().upper()
    features = check_features(api, args.features or default_features(api))
    scenario = make_scenario(start - dt.timedelta(days=1), end, tz_name=tz_name, seed=7, cutoff=now)
    if api == "source":
        from .sandbox.tandemsource_server import TandemSourceSandbox
        tandem = TandemSourceSandbox(scenario, region=region, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    else:
        tandem = TandemLegacySandbox(scenario, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    with tandem, FakeNightscout(api_secret=DEMO_NS_SECRET, flavor="15.0.7") as ns:
        if api == "source":
            config = Config(email=DEMO_EMAIL, password=DEMO_PASSWORD, pump_serial="", ns_url=ns.url,
                            ns_secret=DEMO_NS_SECRET, timezone_name=tz_name, api="source", region=region,
                            sso_url=tandem.sso_url, services_url=tandem.services_url, source_url=tandem.source_url,
                            token_file=os.path.join(tempfile.mkdtemp(prefix="tconnectsync-demo-"), "tokens.json"))
            what = "a simulated Tandem Source account (%s region)" % region
        else:
            config = Config(email=DEMO_EMAIL, password=DEMO_PASSWORD, pump_serial=scenario.serial, ns_url=ns.url,
                            ns_secret=DEMO_NS_SECRET, timezone_name=tz_name, web_url=tandem.web_url,
                            ws2_url=tandem.ws2_url, services_url=tandem.services_url)
            what = "a simulated t:connect account"
        print("Demo: %s with a t:slim X2 (serial %s, clock in %s) and a Nightscout sandbox on 127.0.0.1."
              % (what, scenario.serial, tz_name), file=out)
        clients = build_clients(config)
        try:
            summary = sync_once(config, clients, (start, end), features, pretend=args.pretend, progress=Progress())
            print(format_summary(summary, tz_name, args.verbose), file=out)
            if not args.pretend:
                stored = ns.treatments()
                by_type = collections.Counter(d.get("eventType") for d in stored)
                print("Nightscout now holds: %s" % ", ".join("%d %s" % (n, t) for t, n in sorted(by_type.items())),
                      file=out)
                examples = {}
                for d in sorted(stored, key=lambda d: d.get("created_at", "")):
                    examples.setdefault(d.get("eventType"), d)
                for d in examples.values():
                    shown = {k: v for k, v in d.items() if k not in ("_id",)}
                    print("  e.g. %s" % json.dumps(shown, sort_keys=True), file=out)
                for a in ns.activity():
                    print("  IOB: %s U at %s" % (a.get("iob"), a.get("created_at")), file=out)
                again = sync_once(config, clients, (start, end), features)
                created = sum(c.created + c.updated for c in again.counts.values())
                print("A second run of the same window wrote %d documents (it should be 0)." % created, file=out)
        finally:
            close_clients(clients)
    return 0 if summary.ok else 1
