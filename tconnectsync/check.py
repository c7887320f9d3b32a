"""``--check-login``: one line per check, pass or fail with the reason; no secrets shown."""
import datetime as dt
import platform
import sys
import urllib.parse

from . import __version__, backends, logs
from .errors import NoData, TconnectsyncError
from .parser import tconnect as parse


SKIPPED_LOGIN = "skipped: login failed"


class Checker:
    def __init__(self, out):
        self.out = out
        self.failed = 0
        self.passed = set()

    def info(self, text):
        print("  info  %s" % logs.redact(text), file=self.out)

    def check(self, name, fn, needs=(), skipped=SKIPPED_LOGIN):
        """Run check ``fn`` (it returns a detail or raises); when a check named in ``needs``
        did not pass, say ``skipped`` instead of running it (no cascade of failures)."""
        if any(n not in self.passed for n in needs):
            print("  skip  %s: %s" % (name, skipped), file=self.out)
            return None
        try:
            detail = fn()
        except NoData:
            detail = None
            self.failed += 1
            print("  FAIL  %s: Tandem has no data for this window (HTTP 404)" % name, file=self.out)
            return None
        except TconnectsyncError as exc:
            self.failed += 1
            print("  FAIL  %s: %s" % (name, logs.redact(str(exc))), file=self.out)
            return None
        except Exception as exc:  # noqa: BLE001
            self.failed += 1
            print("  FAIL  %s: unexpected %s: %s" % (name, type(exc).__name__, logs.redact(str(exc))), file=self.out)
            return None
        self.passed.add(name)
        print("  ok    %s%s" % (name, (": " + logs.redact(detail)) if detail else ""), file=self.out)
        return True


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
        c.info("auto-update status file %s: state %s, last poll %s, last successful sync %s%s" % (
            path, daemon.get("state", "?"), daemon.get("last_poll") or "never", daemon.get("last_success") or "never",
            ("; last error %s: %s" % (daemon["last_error"].get("time"), logs.redact(str(daemon["last_error"].get("message")))))
            if isinstance(daemon.get("last_error"), dict) else ""))
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
    c.check("Nightscout", _nightscout_check(clients.nightscout))
    return _finish(c, out, own, clients)


def tconnect_checks(c, config, clients, window):
    """The --check-login steps of the t:connect backend."""
    api = clients.source.api
    start, end = window
    state = {}

    def web_login():
        api.web.login()
        return "user found%s" % ("" if api.web.access_token else " (no token cookie: the Android token is used)")

    def android_login():
        api.android.login()
        index = api.android.last_event_uploaded(config.pump_serial)
        return "last pump event index uploaded for serial %s: %s" % (config.pump_serial, index)

    def timeline():
        data = api.controliq.therapy_timeline(start, end)
        parsed, warnings = parse.parse_ciq_timeline(data, config.tz)
        return "%d basal segments, %d suspensions, %d activity events%s" % (
            len(parsed.segments), len(parsed.suspensions), len(parsed.activities),
            (", %d unreadable" % len(warnings)) if warnings else "")

    def events():
        data = api.controliq.therapy_events(start, end)
        boluses, readings, warnings = parse.parse_therapy_events(data, config.tz)
        state["serials"] = sorted({str(e.get("serialNumber")) for e in data.get("event", [])
                                   if isinstance(e, dict) and e.get("serialNumber")})
        return "%d boluses, %d readings" % (len(boluses), len(readings))

    def csv_export():
        export, warnings = parse.parse_therapytimeline_csv(api.ws2.therapy_timeline_csv(start, end), config.tz)
        last = max((r.time for r in export.readings), default=None)
        return "%d readings, %d IOB values%s" % (
            len(export.readings), len(export.iob),
            ("; last reading %s" % last.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")) if last else "")

    def serial():
        serials = state.get("serials")
        if not serials:
            return "no pump serial in the data for this window (configured: %s)" % config.pump_serial
        if config.pump_serial not in serials:
            raise TconnectsyncError("configured PUMP_SERIAL_NUMBER %s, but the data is from %s"
                                    % (config.pump_serial, ", ".join(serials)))
        return "configured %s, found %s" % (config.pump_serial, ", ".join(serials))

    if not c.check("t:connect website login", web_login):
        c.info("t:connect was retired in the US on 2024-09-30: if you use Tandem Source now, set "
               "TCONNECT_API=source (and TCONNECT_REGION=EU outside the US).")
    c.check("t:connect Android login", android_login)
    logged_in = ("t:connect website login",) if "t:connect website login" in c.passed else ("t:connect Android login",)
    c.check("Control:IQ therapy timeline", timeline, needs=logged_in)
    c.check("therapy events", events, needs=logged_in)
    c.check("pump serial", serial, needs=("therapy events",),
            skipped=SKIPPED_LOGIN if not set(logged_in) & c.passed else "skipped: the therapy events failed")
    c.check("ws2 CSV export", csv_export, needs=logged_in)


def _nightscout_check(ns):
    def nightscout():
        status = ns.status()
        auth = ns.verify_auth()
        if not auth.get("ok"):
            raise TconnectsyncError("Nightscout %s does not accept NS_SECRET (verifyauth says %s)"
                                    % (status.get("version", "?"), auth.get("message")))
        return "version %s, secret accepted" % status.get("version", "?")
    return nightscout


def tandemsource_checks(c, config, clients, window):
    """The --check-login steps of the Tandem Source backend."""
    from .parser.tandemsource import parse_pump_logs
    api = clients.source.api
    start, end = window
    state = {}
    login = "Tandem Source login"

    def log_in():
        api.login()
        return "region %s, pumper %s..." % (config.region, (api.pumper_id or "?")[:8])

    def pumps():
        listed = api.pumps()
        if not listed:
            raise TconnectsyncError("the account has no pumps: upload the pump once with the Tandem Source app")
        return "; ".join("%s, %s" % (p.describe(), api.last_seen(p)) for p in listed)

    def pump():
        chosen = clients.source.pump
        state["pump"] = chosen
        return "%s%s" % (chosen.describe(), " (PUMP_SERIAL_NUMBER=%s)" % config.pump_serial if config.pump_serial else
                         " (PUMP_SERIAL_NUMBER not set: the most recently active pump)")

    def events():
        data = api.pump_logs(state["pump"], start, end)
        records, warnings = parse_pump_logs(data.events, config.tz, clock_changes=data.clock_changes)
        newest = max((r.time for r in records), default=None)
        return "%d events%s%s" % (len(records), (", %d unreadable" % len(warnings)) if warnings else "",
                                  ("; newest %s" % newest.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")) if newest else "")

    c.check(login, log_in)
    c.check("pumps on the account", pumps, needs=(login,))
    c.check("pump chosen", pump, needs=(login,))
    c.check("pump events", events, needs=(login, "pump chosen"),
            skipped=SKIPPED_LOGIN if login not in c.passed else "skipped: no pump chosen")


def _finish(c, out, own, clients):
    from .runtime import close_clients
    if own:
        close_clients(clients)
    if c.failed:
        print("%d check%s failed." % (c.failed, "" if c.failed == 1 else "s"), file=out)
        return 1
    print("All checks passed.", file=out)
    return 0
