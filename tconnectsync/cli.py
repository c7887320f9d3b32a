"""The command line: argparse, one Config, and one clear sentence per error."""
import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import traceback

from . import __version__, logs
from .budget import RunBudget
from .config import ACCEPTED_FEATURES, APIS, FEATURES, check_features, default_features, load_config
from .errors import ConfigError, LoginThrottled, RunLocked, TconnectsyncError, TransientError
from .runlock import run_lock
from .sync.report import exit_code_for, format_summary, summary_dict
from .sync.window import DEFAULT_DAYS, last_days, today_in

logger = logging.getLogger(__name__)

# Flags that are not a mode: `tconnectsync -v` with no settings on a terminal still shows the demo.
PLAIN_WORDS = ("-v", "--verbose")


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


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds" % text) from None
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError("--interval must be between 1 and 86400 seconds")
    return value


def build_parser():
    p = argparse.ArgumentParser(
        prog="tconnectsync",
        description="Copy Tandem pump data (basal, boluses, IOB, pump events, profiles, CGM) from Tandem Source "
                    "(or the legacy t:connect) to Nightscout. `tconnectsync web` serves the hosted web app.")
    p.add_argument("--version", action="version", version="tconnectsync %s" % __version__)
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="debug logging, and with --demo or --pretend every document (secrets stay hidden)")
    loud.add_argument("-q", "--quiet", action="store_true",
                      help="for cron: only warnings and errors; the summary only when a day failed or a warning "
                           "was logged, so a run that went well prints nothing")
    p.add_argument("--json", action="store_true",
                   help="print the run's summary as one JSON object on stdout (logs stay on stderr)")
    p.add_argument("--pretend", action="store_true",
                   help="read Tandem and Nightscout and print the plan, writing nothing")
    p.add_argument("--days", type=_days, default=None,
                   help="sync N calendar days ending today in TIMEZONE_NAME: 1 is today only; "
                        "the default %d is yesterday and today" % DEFAULT_DAYS)
    p.add_argument("--start-date", type=_date, help="first pump-local day of a backfill (YYYY-MM-DD)")
    p.add_argument("--end-date", type=_date, help="last pump-local day of a backfill (YYYY-MM-DD, inclusive)")
    p.add_argument("--allow-long-range", action="store_true",
                   help="with TCONNECT_API=legacy: allow --start-date/--end-date to span more than 3 years")
    p.add_argument("--features", nargs="+", choices=ACCEPTED_FEATURES, default=None, metavar="FEATURE",
                   help="what to sync: %s (default with Tandem Source: %s; with legacy t:connect: %s). "
                        "PROFILES, CGM and CGM_ALERTS need Tandem Source. IOB comes from the pump's own "
                        "IOB events with Tandem Source, when it logs them. Upstream's PUMP_EVENTS_BASAL_SUSPENSION, "
                        "BOLUS_BG and DEVICE_STATUS are accepted, with a warning saying what is synced instead"
                        % (" ".join(FEATURES), " ".join(default_features("source")), " ".join(default_features("legacy"))))
    p.add_argument("--api", choices=APIS, default=None,
                   help="the Tandem API: source (Tandem Source, the default) or legacy (t:connect) (TCONNECT_API)")
    p.add_argument("--region", choices=("US", "EU"), type=str.upper, default=None,
                   help="Tandem Source region (TCONNECT_REGION, default US)")
    p.add_argument("--interval", type=_seconds, default=None,
                   help="with --auto-update: seconds between polls (AUTOUPDATE_INTERVAL, default 300)")
    p.add_argument("--status-file", default=None,
                   help="with --auto-update: where to write the status file (TCONNECTSYNC_STATUS_FILE, "
                        "default status.json in $XDG_STATE_HOME/tconnectsync, i.e. ~/.local/state/tconnectsync)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--auto-update", action="store_true",
                      help="keep running: poll Tandem and sync the --days days ending today whenever the pump uploads")
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
    if args.auto_update and args.start_date is not None:
        parser.error("--auto-update syncs a rolling window: use --days, not --start-date/--end-date")
    if not args.auto_update and (args.interval is not None or args.status_file is not None):
        parser.error("--interval and --status-file go with --auto-update")
    if args.json and (args.auto_update or args.check_login):
        parser.error("--json prints the summary of one sync: use it without --auto-update and --check-login")


def window_for(args, tz, now=None):
    """(start, end) pump-local dates: the explicit dates, or --days calendar days ending today
    (default: yesterday and today)."""
    if args.start_date is not None:
        return args.start_date, args.end_date
    return last_days(today_in(tz, now), args.days)


def checked_window(args, config, now=None):
    """The window of a run, its explicit dates checked: ConfigError (exit 2) for dates that can't
    be a pump's or a legacy span over the limit; an end date after today becomes today (said once)."""
    from .sync import window as win
    start, end = window_for(args, config.tz, now)
    if args.start_date is None:
        return start, end
    today = today_in(config.tz, now)
    problem = win.check_dates(start, end, today)
    if problem:
        raise ConfigError(problem)
    start, end, note = win.clamp_end(max(start, win.EARLIEST), end, today)
    if note:
        logger.warning("%s", note)
    if config.api == "legacy":
        problem = win.check_legacy_span(start, end, getattr(args, "allow_long_range", False))
        if problem:
            raise ConfigError(problem)
    return start, end


def clamp_to_pump(window, backend, tz):
    """With Tandem Source: the window cut to the days the synced pumps have data for (their
    ``availableDataRange``: with a replaced pump, from the old pump's first day to the new one's
    last), with one sentence when that changes it. Other backends, or pumps that do not say:
    the window as is."""
    from .errors import TandemError, TandemFormatError, TransientError
    from .sync import window as win
    if getattr(backend, "name", "") != "tandemsource":
        return window
    try:
        pumps = list(backend.pumps)
    except (TransientError, TandemError, TandemFormatError) as exc:    # the run itself reports it
        logger.debug("The pumps' data range is unknown (%s): the window stays as given", exc)
        return window
    ranges = [getattr(p, "data_range", None) for p in pumps]
    if not ranges or any(r is None for r in ranges):
        return window
    firsts = [r[0] for r in ranges]
    first = None if any(f is None for f in firsts) else min(firsts)
    last = max(r[1] for r in ranges)
    start, end, note = win.clamp_to_range(window[0], window[1], first, last, pumps=len(pumps))
    if note:
        logger.warning("%s", note)
    return start, end


def has_any_settings(environ, **read_kw):
    from .settings_files import has_any_settings as any_set, read_settings
    settings, _ = read_settings(environ, **read_kw)
    return any_set(settings)


def is_plain(words):
    """A bare `tconnectsync` (only -v): the one form that may show the demo without --demo."""
    return all(w in PLAIN_WORDS for w in words)


def is_interactive(stdin=None, stdout=None):
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):
        return False


def no_settings_error(environ):
    """The ConfigError for a run with no settings at all: what is missing, where we looked."""
    from .settings_files import missing_settings, no_settings_sentence, read_settings
    settings, lookup = read_settings(environ)
    return ConfigError(no_settings_sentence(missing_settings(settings), lookup))


def main(argv=None, environ=None):
    sys.exit(run(argv, environ))


def run(argv=None, environ=None):
    environ = dict(os.environ if environ is None else environ)
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["web"]:                  # `tconnectsync web`: the hosted web app, served locally
        from .web import serve
        return serve(words[1:], environ)
    parser = build_parser()
    args = parser.parse_args(argv)
    validate_args(parser, args)
    logs.setup(args.verbose, quiet=args.quiet)
    try:
        if args.demo:
            from . import demo
            return demo.run(args, environ)
        if not has_any_settings(environ):
            # The demo only for a person at a terminal typing the bare command (the README's first
            # command); under cron, supervisord or systemd a missing .env must not look healthy.
            if not (is_plain(words) and is_interactive()):
                raise no_settings_error(environ)
            from . import demo
            print("No tconnectsync settings found: running the built-in demo.")
            return demo.run(args, environ)
        if args.api:
            environ["TCONNECT_API"] = args.api
        if args.region:
            environ["TCONNECT_REGION"] = args.region
        config = load_config(environ)
        args.features = check_features(config.api, args.features or default_features(config.api))
        logs.protect(config.secrets())
        if args.check_login:
            from . import check
            return check.run(config, checked_window(args, config))
        if args.auto_update:
            return autoupdate_command(config, args, environ)
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


def autoupdate_command(config, args, environ, clock=None, max_cycles=None):
    import signal
    import threading
    from . import status
    from .runtime import build_clients, close_clients
    from .sync.autoupdate import AutoUpdate, Settings, SystemClock
    interval = args.interval or config.autoupdate_interval
    if interval < 60:
        logger.warning("Polling every %d s: Tandem sees a request that often; 60 s or more is kinder.", interval)
    path = args.status_file or config.status_file or str(status.default_path(environ))
    settings = Settings(interval_s=interval, days=args.days or DEFAULT_DAYS, features=tuple(args.features),
                        pretend=args.pretend, no_data_minutes=config.no_data_minutes,
                        announce_no_data=config.announce_no_data, status_path=path)
    clock = clock or SystemClock()
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise SystemExit(0)                 # a second signal: leave now
        logger.info("Received %s: stopping after the current request", signal.Signals(signum).name)
        stop.set()
        # A request still hanging after a few seconds is abandoned (nothing half-written: every
        # write is one request, and Nightscout's upsert makes it safe to repeat).
        if hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, _leave)
            signal.alarm(5)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    budget = RunBudget(config.run_budget)
    clients = build_clients(config, clock=clock.time, sleep=lambda s: clock.sleep(s, stop), budget=budget)

    @contextlib.contextmanager
    def each_cycle():
        # The run lock for one cycle only (a one-shot backfill can run between two cycles), and
        # the whole run budget again for it.
        with run_lock(config):
            budget.restart()
            yield

    try:
        return AutoUpdate(config, clients, settings, clock=clock, stop=stop,
                          guard=each_cycle).run(max_cycles=max_cycles)
    finally:
        close_clients(clients)
        for s, handler in previous.items():
            signal.signal(s, handler)


def _leave(signum, frame):
    raise SystemExit(0)


def whole_window_failed(window, features, exc, pretend=False):
    """The Summary of a run that failed before its first chunk: every day failed for ``exc``."""
    from .sync.report import ChunkFailure, Summary
    summary = Summary(start=window[0], end=window[1], features=features, pretend=pretend)
    summary.failures.append(ChunkFailure(window[0], window[1], str(exc), getattr(exc, "remote", "") or "", exc))
    logger.error("Syncing %s..%s failed: %s", window[0], window[1], exc)
    return summary


def sync_command(config, args, clients=None, out=None):
    from .progress import Progress
    from .runtime import build_clients, close_clients
    from .sync.engine import sync_once
    out = out or sys.stdout
    features = tuple(args.features)
    window = checked_window(args, config)
    quiet, as_json = getattr(args, "quiet", False), getattr(args, "json", False)
    # One run at a time per account and Nightscout (a --pretend run writes nothing: it needn't wait).
    with (contextlib.nullcontext() if args.pretend else run_lock(config)):
        budget = RunBudget(config.run_budget)         # counted from when this run may start
        own = clients is None
        clients = clients or build_clients(config, budget=budget)
        progress = Progress(enabled=not quiet)
        try:
            if getattr(args, "start_date", None) is not None:
                window = clamp_to_pump(window, clients.source, config.tz)
            logger.info("Syncing %s..%s (%s) features %s%s", window[0], window[1], config.timezone_name,
                        " ".join(features), " (pretend)" if args.pretend else "")
            try:
                summary = sync_once(config, clients, window, features, pretend=args.pretend, progress=progress)
            except (LoginThrottled, RunLocked):
                raise
            except TransientError as exc:
                # The remote failed before the first chunk (the login, the pump's lookup): the
                # whole window failed, told like any failed day, with the dates to re-run.
                summary = whole_window_failed(window, features, exc, args.pretend)
        finally:
            progress.close()
            if own:
                close_clients(clients)
    code, sentence = exit_code_for(summary)
    if as_json:
        print(json.dumps(summary_dict(summary, config.timezone_name, code), sort_keys=False), file=out)
    elif not quiet or not summary.ok or summary.warning_count:
        # -q: a run that went well prints nothing (cron mails any output); a failed day or a
        # warning prints the summary, so the mail says what happened.
        print(format_summary(summary, config.timezone_name, args.verbose), file=out)
    if sentence:
        if as_json:
            sentence = sentence.replace("re-run the dates listed above", "re-run the dates in the JSON's \"rerun\"")
        print("tconnectsync: %s" % logs.redact(sentence), file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
