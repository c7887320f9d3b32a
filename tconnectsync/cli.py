"""The command line: argparse, one Config, and one clear sentence per error."""
import argparse
import datetime as dt
import json
import logging
import os
import sys
import traceback

from . import __version__, logs
from .config import DEFAULT_FEATURES, FEATURES, load_config
from .errors import ConfigError, TconnectsyncError

logger = logging.getLogger(__name__)

# Settings whose presence means "the user configured tconnectsync" (else: the demo runs).
IDENTITY_SETTINGS = ("TCONNECT_EMAIL", "TCONNECT_PASSWORD", "PUMP_SERIAL_NUMBER", "NS_URL", "NS_SECRET", "API_SECRET")


def _date(text):
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a date in the form YYYY-MM-DD" % text) from None


def _days(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number of days" % text) from None
    if not 1 <= value <= 3650:
        raise argparse.ArgumentTypeError("--days must be between 1 and 3650")
    return value


def build_parser():
    p = argparse.ArgumentParser(
        prog="tconnectsync",
        description="Copy Tandem pump data (basal, boluses, IOB, pump events) from t:connect to Nightscout.")
    p.add_argument("--version", action="version", version="tconnectsync %s" % __version__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging (secrets stay hidden)")
    p.add_argument("--pretend", action="store_true",
                   help="read Tandem and Nightscout and print the plan, writing nothing")
    p.add_argument("--days", type=_days, default=None,
                   help="sync the last N days, ending today in TIMEZONE_NAME (default 1)")
    p.add_argument("--start-date", type=_date, help="first pump-local day of a backfill (YYYY-MM-DD)")
    p.add_argument("--end-date", type=_date, help="last pump-local day of a backfill (YYYY-MM-DD, inclusive)")
    p.add_argument("--features", nargs="+", choices=FEATURES, default=None, metavar="FEATURE",
                   help="what to sync: %s (default: %s)" % (" ".join(FEATURES), " ".join(DEFAULT_FEATURES)))
    p.add_argument("--api", choices=("legacy",), default=None, help="the Tandem API (TCONNECT_API)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check-login", action="store_true",
                      help="check the settings, the Tandem logins and Nightscout, then exit")
    mode.add_argument("--demo", action="store_true",
                      help="run the whole sync against the built-in sandbox (no credentials needed)")
    return p


def validate_args(parser, args):
    if (args.start_date is None) != (args.end_date is None):
        parser.error("--start-date and --end-date go together: give both, or neither")
    if args.start_date is not None and args.days is not None:
        parser.error("--days cannot be combined with --start-date/--end-date")
    if args.start_date is not None and args.end_date < args.start_date:
        parser.error("--end-date %s is before --start-date %s" % (args.end_date, args.start_date))


def window_for(args, tz, now=None):
    """(start, end) pump-local dates: the explicit dates, or the last N days ending today."""
    if args.start_date is not None:
        return args.start_date, args.end_date
    now = now or dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(tz).date()
    return today - dt.timedelta(days=args.days or 1), today


def has_any_settings(environ):
    from .config import read_settings
    settings, _ = read_settings(environ)
    return any((settings.get(name) or "").strip() for name in IDENTITY_SETTINGS)


def format_summary(summary, tz_name, verbose=False):
    lines = []
    head = "PRETEND (nothing written): plan for" if summary.pretend else "Synced"
    lines.append("%s %s..%s (%s), %d chunk%s:" % (head, summary.start, summary.end, tz_name, summary.chunks,
                                                  "" if summary.chunks == 1 else "s"))
    for feature, counts in summary.counts.items():
        if summary.pretend:
            lines.append("  %-11s %d to create, %d to update, %d already there, %d skipped%s" % (
                feature + ":", counts.created, counts.updated, counts.unchanged, counts.skipped,
                (", %d duplicates to remove" % counts.deleted) if counts.deleted else ""))
        else:
            lines.append("  %-11s %s" % (feature + ":", counts.line()))
    if summary.warning_count:
        lines.append("  %d record%s could not be read and were skipped (warnings above)."
                     % (summary.warning_count, "" if summary.warning_count == 1 else "s"))
    if summary.pretend and verbose:
        for action, feature, doc in summary.plan:
            lines.append("  %s %s %s" % (action, feature, json.dumps(doc, sort_keys=True)))
    for a, b in summary.failed_ranges():
        reasons = sorted({f.reason for f in summary.failures if f.start <= b and f.end >= a})
        lines.append("FAILED %s..%s: %s" % (a, b, "; ".join(reasons)))
        lines.append("  re-run: tconnectsync --start-date %s --end-date %s" % (a, b))
    return "\n".join(lines)


def main(argv=None, environ=None):
    sys.exit(run(argv, environ))


def run(argv=None, environ=None):
    environ = dict(os.environ if environ is None else environ)
    parser = build_parser()
    args = parser.parse_args(argv)
    validate_args(parser, args)
    logs.setup(args.verbose)
    try:
        if args.demo or not has_any_settings(environ):
            from . import demo
            if not args.demo:
                print("No tconnectsync settings found (TCONNECT_EMAIL, NS_URL, ...): running the built-in demo.\n"
                      "Copy .env.example to .env and fill it in to sync your own pump.")
            return demo.run(args, environ)
        if args.api:
            environ["TCONNECT_API"] = args.api
        config = load_config(environ)
        logs.protect(config.secrets())
        if args.check_login:
            from . import check
            return check.run(config, window_for(args, config.tz))
        return sync_command(config, args)
    except TconnectsyncError as exc:
        print("tconnectsync: %s" % logs.redact(str(exc)), file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        return exc.exit_code
    except KeyboardInterrupt:
        print("tconnectsync: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one sentence, details with -v
        print("tconnectsync: stopped on an unexpected error (%s); run with -v for details and report it."
              % type(exc).__name__, file=sys.stderr)
        if args.verbose:
            print(logs.redact(traceback.format_exc()), file=sys.stderr)
        return 70


def sync_command(config, args, clients=None, out=None):
    from .progress import Progress
    from .runtime import build_clients, close_clients
    from .sync.engine import sync_once
    out = out or sys.stdout
    features = tuple(args.features or DEFAULT_FEATURES)
    window = window_for(args, config.tz)
    own = clients is None
    clients = clients or build_clients(config)
    try:
        logger.info("Syncing %s..%s (%s) features %s%s", window[0], window[1], config.timezone_name,
                    " ".join(features), " (pretend)" if args.pretend else "")
        summary = sync_once(config, clients, window, features, pretend=args.pretend, progress=Progress())
    finally:
        if own:
            close_clients(clients)
    print(format_summary(summary, config.timezone_name, args.verbose), file=out)
    if not summary.ok:
        print("tconnectsync: some days could not be synced; re-run the dates listed above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    main()
