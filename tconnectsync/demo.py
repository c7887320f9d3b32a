"""``--demo``: the whole pipeline against the built-in sandbox, no credentials needed.

A simulated Tandem account (a few days of realistic Control-IQ data) and a Nightscout-compatible
server run on 127.0.0.1 for the length of the run; tconnectsync's real clients sync between them.
"""
import collections
import datetime as dt
import json
import logging
import sys
import tempfile
import textwrap

from .config import Config, check_features, default_features
from .errors import ConfigError
from . import backends, logs, timeutil

WIDTH = 80


def say(out, text):
    """A line of the demo, wrapped to 80 columns (it is what a new user sees first)."""
    print(textwrap.fill(text, WIDTH - 1, subsequent_indent="  ", break_on_hyphens=False), file=out)


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_NS_SECRET = "demo-nightscout-secret"


def run(args, environ, out=None):
    from .sync.report import format_summary, summary_dict, summary_exit_code
    from .progress import Progress
    from .runtime import build_clients, close_clients
    from .sandbox.nightscout import FakeNightscout
    from .sandbox.scenario import make_scenario
    from .sync.engine import sync_once
    from .sync.window import last_days

    out = out or sys.stdout
    if not args.verbose:
        # A new user's first look: what was done, not how (-v shows the log lines).
        logs.set_level(logging.WARNING)
    tz_name = (environ.get("TIMEZONE_NAME") or "").strip() or "America/New_York"
    try:
        tz = timeutil.get_zone(tz_name)
    except Exception:
        raise ConfigError("TIMEZONE_NAME=%r is not a known time zone name: use e.g. America/New_York." % tz_name) from None
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(tz).date()
    # --days N: N calendar days ending today, as everywhere (sync/window.py); the demo shows three.
    start, end = (args.start_date, args.end_date) if args.start_date else last_days(today, args.days or 3)
    api = (args.api or environ.get("TCONNECT_API") or backends.DEFAULT_API).strip().lower()
    region = (args.region or environ.get("TCONNECT_REGION") or "US").strip().upper()
    spec = backends.spec(api)               # a ConfigError naming the choices for an unknown TCONNECT_API
    features = check_features(api, args.features or default_features(api))
    scenario = make_scenario(start - dt.timedelta(days=1), end, tz_name=tz_name, seed=7, cutoff=now)
    demo = spec.demo(scenario, region, DEMO_EMAIL, DEMO_PASSWORD)
    with demo.sandbox, FakeNightscout(api_secret=DEMO_NS_SECRET, flavor="15.0.7") as ns:
        config = Config(**demo.settings(ns.url, DEMO_NS_SECRET, tz_name, tempfile.mkdtemp(prefix="tconnectsync-demo-")))
        what = demo.what
        if not args.json:
            say(out, "Demo: %s with a t:slim X2 (serial %s, %s) and a Nightscout sandbox, all on 127.0.0.1."
                % (what, scenario.serial, tz_name))
        clients = build_clients(config)
        progress = Progress(enabled=not args.quiet)
        try:
            try:
                summary = sync_once(config, clients, (start, end), features, pretend=args.pretend, progress=progress)
            finally:
                progress.close()
            if args.json:
                print(json.dumps(summary_dict(summary, tz_name)), file=out)
                return summary_exit_code(summary)
            print(format_summary(summary, tz_name, args.verbose), file=out)
            if not args.pretend:
                stored = ns.treatments()
                by_type = collections.Counter(d.get("eventType") for d in stored)
                iob = [a.get("iob") for a in ns.activity() if a.get("iob") is not None]
                top = by_type.most_common(2)
                rest = sum(by_type.values()) - sum(n for _, n in top)
                kinds = ", ".join("%d %s" % (n, t) for t, n in top) + (
                    " and %d of %s" % (rest, _plural(len(by_type) - len(top), "other type")) if rest else "")
                say(out, "Nightscout now holds %s (%s)%s." % (
                    _plural(len(stored), "treatment"), kinds, (" and the IOB (%s U)" % iob[-1]) if iob else ""))
                if args.verbose:
                    say(out, "  by type: %s" % ", ".join("%d %s" % (n, t) for t, n in sorted(by_type.items())))
                    examples = {}
                    for d in sorted(stored, key=lambda d: d.get("created_at", "")):
                        examples.setdefault(d.get("eventType"), d)
                    for d in examples.values():
                        shown = {k: v for k, v in d.items() if k not in ("_id",)}
                        print("  e.g. %s" % json.dumps(shown, sort_keys=True), file=out)
                again = sync_once(config, clients, (start, end), features)
                written = sum(c.created + c.updated for c in again.counts.values())
                say(out, "A second run of the same window wrote %s%s." % (
                    _plural(written, "document"), ", as it should" if written == 0 else " (it should be 0: a bug)"))
        finally:
            close_clients(clients)
    say(out, "To sync your own pump: copy .env.example to .env and fill it in.")
    return 0 if summary.ok else 1
