"""``--check-login``: one line per check, pass or fail with the reason; no secrets shown."""
import datetime as dt
import platform
import sys
import urllib.parse

from . import __version__, logs
from .api import NoData
from .errors import TconnectsyncError
from .parser import tconnect as parse


class Checker:
    def __init__(self, out):
        self.out = out
        self.failed = 0

    def info(self, text):
        print("  info  %s" % text, file=self.out)

    def check(self, name, fn):
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
        print("  ok    %s%s" % (name, (": " + detail) if detail else ""), file=self.out)
        return True


def run(config, window, clients=None, out=None, now=None):
    from .runtime import build_clients, close_clients
    out = out or sys.stdout
    now = now or dt.datetime.now(dt.timezone.utc)
    own = clients is None
    clients = clients or build_clients(config, attempts=2)
    api = clients.source.api
    ns = clients.nightscout
    c = Checker(out)
    start, end = window
    if config.api == "source":
        _source_checks(c, config, clients, api, ns, window)
        return _finish(c, out, own, clients)
    print("tconnectsync %s, Python %s, %s" % (__version__, platform.python_version(), platform.platform()), file=out)
    local = now.astimezone(config.tz)
    offset = local.utcoffset()
    hours = offset.total_seconds() / 3600
    c.info("TIMEZONE_NAME=%s: pump time now %s (UTC%+g)" % (config.timezone_name, local.strftime("%Y-%m-%d %H:%M"), hours))
    c.info("window: %s..%s; Tandem API: %s; Nightscout: %s" % (
        start, end, config.api, urllib.parse.urlsplit(config.ns_url).netloc))
    for note in config.notes:
        c.info(note)
    from . import status as status_file
    path = config.status_file or str(status_file.default_path())
    daemon = status_file.read(path)
    if daemon:
        c.info("auto-update status (%s): state %s, last poll %s, last successful sync %s%s" % (
            path, daemon.get("state", "?"), daemon.get("last_poll") or "never", daemon.get("last_success") or "never",
            ("; last error %s: %s" % (daemon["last_error"].get("time"), logs.redact(str(daemon["last_error"].get("message")))))
            if isinstance(daemon.get("last_error"), dict) else ""))
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
    c.check("Control:IQ therapy timeline", timeline)
    c.check("therapy events", events)
    c.check("pump serial", serial)
    c.check("ws2 CSV export", csv_export)
    c.check("Nightscout", _nightscout_check(ns))
    return _finish(c, out, own, clients)


def _nightscout_check(ns):
    def nightscout():
        status = ns.status()
        auth = ns.verify_auth()
        if not auth.get("ok"):
            raise TconnectsyncError("Nightscout %s does not accept NS_SECRET (verifyauth says %s)"
                                    % (status.get("version", "?"), auth.get("message")))
        return "version %s, secret accepted" % status.get("version", "?")
    return nightscout


def _source_checks(c, config, clients, api, ns, window):
    from .parser.tandemsource import parse_pump_logs
    start, end = window
    state = {}

    def login():
        api.login()
        return "region %s, pumper %s..." % (config.region, (api.pumper_id or "?")[:8])

    def pump():
        pumps = api.pumps()
        chosen = clients.source.pump
        state["pump"] = chosen
        others = [p.serial for p in pumps if p.serial != chosen.serial]
        return "%s%s%s" % (chosen.describe(), "; configured %s" % config.pump_serial if config.pump_serial else
                            " (PUMP_SERIAL_NUMBER not set: the most recently active pump)",
                            "; others on the account: %s" % ", ".join(others) if others else "")

    def logs():
        if "pump" not in state:
            raise TconnectsyncError("no pump chosen")
        data = api.pump_logs(state["pump"], start, end)
        records, warnings = parse_pump_logs(data.events, config.tz, clock_changes=data.clock_changes)
        newest = max((r.time for r in records), default=None)
        return "%d events%s%s" % (len(records), (", %d unreadable" % len(warnings)) if warnings else "",
                                  ("; newest %s" % newest.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")) if newest else "")

    c.check("Tandem Source login", login)
    c.check("pump", pump)
    c.check("pump events", logs)
    c.check("Nightscout", _nightscout_check(ns))
    return None


def _finish(c, out, own, clients):
    from .runtime import close_clients
    if own:
        close_clients(clients)
    if c.failed:
        print("%d check%s failed." % (c.failed, "" if c.failed == 1 else "s"), file=out)
        return 1
    print("All checks passed.", file=out)
    return 0
