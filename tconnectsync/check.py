"""``--check-login``: what the run would use, then every check (``check_steps.py``) with ``Checker``."""
import datetime as dt
import platform
import sys
import urllib.parse

from . import __version__, backends, logs
from .check_steps import nightscout_check
from .checker import Checker


def public_url(url):
    """``url`` as safe to show: scheme, host, port and path; no user:password, query or fragment."""
    parts = urllib.parse.urlsplit(url or "")
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    try:
        port = parts.port
    except ValueError:
        port = None
    return urllib.parse.urlunsplit((parts.scheme, host + (":%d" % port if port else ""), parts.path, "", ""))


def utc_offset(local):
    minutes = int(local.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return "UTC%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60)


def header(c, config, window, now, out):
    """What the run would use: version, settings files, time zone, window, Nightscout, daemon."""
    from . import status as status_file
    start, end = window
    print("tconnectsync %s, Python %s, %s" % (__version__, platform.python_version(), platform.platform()), file=out)
    for note in config.notes:             # the settings files read, or where none was found
        c.info(note)
    local = now.astimezone(config.tz)
    c.info("TIMEZONE_NAME=%s: pump time now %s (%s)" % (config.timezone_name, local.strftime("%Y-%m-%d %H:%M"),
                                                        utc_offset(local)))
    days = (end - start).days + 1
    api = backends.spec(config.api).describe(config)
    c.info("window: %s..%s (%d day%s); Tandem API: %s" % (start, end, days, "" if days == 1 else "s", api))
    c.info("Nightscout: %s" % public_url(config.ns_url))
    path = config.status_file or str(status_file.default_path())
    daemon = status_file.read(path)
    if daemon:
        from .outcome import outcome_sentence       # the words of /health and the status page
        c.info("auto-update status file %s: state %s, last poll %s, last successful sync %s%s; %s" % (
            path, daemon.get("state", "?"), daemon.get("last_poll") or "never", daemon.get("last_success") or "never",
            ("; last error %s: %s" % (daemon["last_error"].get("time"), logs.redact(str(daemon["last_error"].get("message")))))
            if isinstance(daemon.get("last_error"), dict) else "", logs.redact(outcome_sentence(daemon))))
    else:
        c.info("auto-update status file %s: none yet (--auto-update has not run with it)" % path)


def run(config, window, clients=None, out=None, now=None):
    from .runtime import build_clients
    out = out or sys.stdout
    now = now or dt.datetime.now(dt.timezone.utc)
    own = clients is None
    clients = clients or build_clients(config, attempts=2)
    c = Checker(out)
    header(c, config, window, now, out)
    backends.spec(config.api).checks(c, config, clients, window)
    c.check("Nightscout", nightscout_check(clients.nightscout))
    return _finish(c, out, own, clients)


def _finish(c, out, own, clients):
    from .runtime import close_clients
    if own:
        close_clients(clients)
    if c.failed:
        print("%d check%s failed." % (c.failed, "" if c.failed == 1 else "s"), file=out)
        return 1
    print("All checks passed.", file=out)
    return 0
