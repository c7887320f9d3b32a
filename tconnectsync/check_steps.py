"""The ``--check-login`` steps: each Tandem backend's (the registry, ``backends.py``, names them)
and Nightscout's."""
from .checker import SKIPPED_LOGIN
from .errors import TconnectsyncError
from .parser import tconnect as parse


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


def nightscout_check(ns):
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
        return "; ".join("%s, %s, data %s" % (p.describe(), api.last_seen(p), p.describe_range()) for p in listed)

    def pump():
        synced = clients.source.pumps
        state["pumps"] = synced
        return "%s%s" % ("; ".join("%s %s" % (p.describe(), p.describe_range()) for p in synced),
                         " (PUMP_SERIAL_NUMBER=%s)" % config.pump_serial if config.pump_serial else
                         " (PUMP_SERIAL_NUMBER not set: %s)" % ("each for the days it has data" if len(synced) > 1
                                                                else "the most recently active pump"))

    def events():
        synced = state["pumps"]
        asked = [p for p in synced[:-1] if p.has_data_for(start, end)] + [synced[-1]]
        out = []
        for p in asked:
            data = api.pump_logs(p, start, end)
            records, warnings = parse_pump_logs(data.events, config.tz, clock_changes=data.clock_changes)
            newest = max((r.time for r in records), default=None)
            out.append("%s%d events%s%s" % ("%s: " % p.serial if len(asked) > 1 else "", len(records),
                                            (", %d unreadable" % len(warnings)) if warnings else "",
                                            ("; newest %s" % newest.astimezone(config.tz).strftime("%Y-%m-%d %H:%M"))
                                            if newest else ""))
        return "; ".join(out)

    c.check(login, log_in)
    c.check("pumps on the account", pumps, needs=(login,))
    c.check("pumps synced", pump, needs=(login,))
    c.check("pump events", events, needs=(login, "pumps synced"),
            skipped=SKIPPED_LOGIN if login not in c.passed else "skipped: no pump chosen")
