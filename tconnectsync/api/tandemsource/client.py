"""The Tandem Source data API: the pumper (profile, pumps and their settings) and the pump-logs.

See ``docs/tandem-source.md`` §1-5. One ``HttpClient`` (one cookie jar) for the login hosts and
the Source data host; the login is ``auth.SourceAuth``, this client's ``AuthHook``. Every URL is
derived from the configured base URLs (``sso_url``, ``services_url``, ``source_url``), so a test
server or a proxy receives every request; the id_token's issuer and audience are always checked
against Tandem's real values (``regions``).
"""
import dataclasses
import datetime as dt
import logging
import time
import urllib.parse
from typing import Optional

from ... import timeutil
from ...errors import ConfigError, TandemError, TandemFormatError
from ...http import BROWSER_UA, HttpClient, StatusErrors, join_url
from ..common import LoginLimiter
from .auth import NAME, SourceAuth, ago, json_object
from .regions import REGIONS

logger = logging.getLogger(__name__)

PUMPER_PATH = "api/reports/bff/pumper/%s"
PUMP_LOGS_PATH = "api/reports/bff/pump-logs/%s"
MAX_WINDOW_DAYS = 28
STALE_PUMP_DAYS = 3
# The event codes the Source web app asks for (docs/tandem-source.md §5.2; what tconnectsync 3.0.3 sends). The
# server has ignored the filter in the past, so callers must not rely on it either way.
DEFAULT_EVENT_CODES = (229, 5, 28, 4, 26, 562, 563, 566, 99, 279, 3, 16, 59, 21, 55, 20, 280, 64, 65, 66, 61, 33,
                       371, 171, 369, 460, 172, 370, 461, 372, 480, 399, 256, 213, 406, 477, 394, 212, 404, 214,
                       405, 486, 447, 313, 60, 14, 69, 57, 6, 90, 230, 140, 12, 11, 53, 559, 558, 565, 564, 13, 63,
                       203, 307, 191)


def _error_message(response):
    """A short, secret-free excerpt of an error answer."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        issues = (body.get("error") or {}).get("issues") if isinstance(body.get("error"), dict) else None
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            return ": %s" % str(issues[0].get("message"))[:200]
        if isinstance(body.get("message"), str):
            return ": %s" % body["message"][:200]
    return ""


def _firewall(response, what):
    blocked = ', "The request is blocked"' if "request is blocked" in response.text.lower() else ""
    return TandemError("Tandem's firewall blocked the %s (HTTP 403%s): the Origin/Referer must be the Source site "
                       "(check TANDEM_SOURCE_URL); if it persists, wait an hour." % (what, blocked), 403)


# What the data API's statuses mean (a 401 reaches this only after one fresh login was refused too).
ERRORS = StatusErrors(
    default=lambda response, what: TandemError("Tandem Source answered HTTP %d for the %s%s." % (
        response.status_code, what, _error_message(response)), response.status_code),
    by_status={
        401: lambda response, what: TandemError("Tandem Source refused a fresh login's token (HTTP 401) for the "
                                                "%s; try again later." % what, 401),
        403: _firewall,
        404: lambda response, what: TandemError("Tandem Source answered HTTP 404 for the %s: the pump or the "
                                                "endpoint is gone; tconnectsync may need an update." % what, 404)})


@dataclasses.dataclass(frozen=True)
class SourcePump:
    """A pump on the Tandem Source account (one ``pumps[]`` entry of the pumper)."""
    serial: str
    assignment_id: str                     # the device id of the pump-logs URL
    model: str                             # "t:slim X2" | "Tandem Mobi"
    model_name: str                        # as Tandem labels it
    last_event_local: Optional[dt.datetime]  # maxDateOfEvents: naive pump wall-clock time, None if never uploaded
    last_event: Optional[dt.datetime]      # the same as an aware UTC instant (read in TIMEZONE_NAME)
    # availableDataRange: the pump-local days Tandem holds data for, (first, last) dates; None if
    # never uploaded. The first is None when Tandem does not say (then: every day up to the last).
    data_range: Optional[tuple] = None
    settings: Optional[dict] = dataclasses.field(default=None, repr=False, compare=False)
    raw: Optional[dict] = dataclasses.field(default=None, repr=False, compare=False)

    def describe(self):
        return "%s (%s)" % (self.serial, self.model)

    def describe_range(self):
        """``2025-03-01..2025-03-14`` (the days with data), or ``no data``."""
        if self.data_range is None:
            return "no data"
        first, last = self.data_range
        return "%s..%s" % (first or "?", last)

    def has_data_for(self, start, end, open_ended=False):
        """Whether Tandem holds data of this pump for a pump-local day in [start, end];
        ``open_ended``: its data goes on after the range's end (the pump in use uploads more)."""
        if self.data_range is None:
            return open_ended
        first, last = self.data_range
        return (first is None or end >= first) and (open_ended or start <= last)


@dataclasses.dataclass
class PumpLogs:
    events: list          # raw PumpLogEvent dicts, de-duplicated, in sequence order
    clock_changes: list   # raw events 13/14 (the pump's clock changes), de-duplicated


def origin_of(url):
    parts = urllib.parse.urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def date_windows(start, end, max_days=MAX_WINDOW_DAYS):
    """Inclusive date windows of at most ``max_days`` days covering [start, end]."""
    return timeutil.split_days(start, end, max_days)


def model_label(entry):
    name = "%s %s" % (entry.get("modelName") or "", entry.get("modelNumber") or "")
    return "Tandem Mobi" if "mobi" in name.lower() else "t:slim X2"


def _as_date(value):
    return value.date() if isinstance(value, dt.datetime) else value


class TandemSourceApi:
    """Tandem Source, logged in lazily (see the module doc)."""

    name = "source"

    def __init__(self, config, clock=time.time, sleep=time.sleep, limiter=None, attempts=4, backoff=1.0):
        if config.region not in REGIONS:
            raise ConfigError("TCONNECT_REGION must be US or EU, not %r." % config.region)
        self.config = config
        self.clock = clock
        self.limiter = limiter or LoginLimiter(clock=clock)
        self.http = HttpClient(NAME, timeout=(10, config.http_timeout), attempts=attempts, backoff=backoff,
                               sleep=sleep, headers={"User-Agent": BROWSER_UA})
        self.auth = SourceAuth(config, self.http, self.limiter, clock)
        self.source_origin = origin_of(config.source_url)

    def __repr__(self):
        return "<TandemSourceApi %s %s>" % (self.config.region, "logged in" if self.access_token else "not logged in")

    def close(self):
        self.http.close()

    def request_counts(self):
        return {"source": self.http.request_count}

    # the login, as ``auth`` holds it
    def login(self):
        self.auth.login()

    def ensure_login(self):
        self.auth.ensure_login()

    access_token = property(lambda self: self.auth.access_token)
    pumper_id = property(lambda self: self.auth.pumper_id)
    account_id = property(lambda self: self.auth.account_id)
    id_claims = property(lambda self: self.auth.id_claims)
    logins = property(lambda self: self.auth.logins)
    redirect_uri = property(lambda self: self.auth.redirect_uri)

    # ------------------------------------------------------------------ data calls

    def _get(self, path, params=None, what="request"):
        """GET ``source_url + path`` with the token and the Source site's Origin/Referer; the decoded
        JSON (the choke point logs in again once on a 401 and maps the statuses with ``ERRORS``)."""
        response = self.http.request("GET", join_url(self.config.source_url, path), params=params,
                                     headers={"Origin": self.source_origin, "Referer": self.config.source_url},
                                     allow_redirects=False, auth_hook=self.auth, errors=ERRORS, what=what)
        return json_object(response, what)

    def pumper(self):
        """The pumper (docs/tandem-source.md §5.1): profile, ``pumps`` with their settings; decoded JSON."""
        self.ensure_login()
        body = self._get(PUMPER_PATH % urllib.parse.quote(self.pumper_id, safe=""), what="pumper request")
        if not isinstance(body, dict) or not isinstance(body.get("pumps"), list):
            raise TandemFormatError("Tandem Source's pumper answer has no pumps list; the API changed.")
        return body

    def pumps(self, pumper=None):
        """Every pump on the account as ``SourcePump``."""
        body = pumper if pumper is not None else self.pumper()
        out = []
        for entry in body["pumps"]:
            if not isinstance(entry, dict):
                raise TandemFormatError("Tandem Source's pumper lists a pump that is not an object.")
            for field in ("assignmentId", "serialNumber"):
                if not isinstance(entry.get(field), str) or not entry[field]:
                    raise TandemFormatError("Tandem Source's pumper lists a pump without %s; the API changed."
                                            % field)
            local = _parse_local(entry.get("maxDateOfEvents"), "maxDateOfEvents")
            out.append(SourcePump(serial=entry["serialNumber"], assignment_id=entry["assignmentId"],
                                  model=model_label(entry), model_name=entry.get("modelName") or "",
                                  last_event_local=local, last_event=self._utc(local),
                                  data_range=_data_range(entry.get("availableDataRange"), local),
                                  settings=entry.get("settings"), raw=entry))
        return out

    def _utc(self, local):
        return None if local is None else timeutil.localize(local, self.config.tz)

    def last_seen(self, pump):
        if pump.last_event is None:
            return "never uploaded"
        return "last event %s ago" % ago(self.clock() - pump.last_event.timestamp())

    def choose_pump(self, serial=None, pumps=None):
        """The pump to sync: ``serial`` if given (None: PUMP_SERIAL_NUMBER), else the most recently
        active pump, with a warning that names the others. ``pumps``: the account's, if read."""
        if serial is None:
            serial = self.config.pump_serial
        pumps = self.pumps() if pumps is None else pumps
        if not pumps:
            raise TandemError("The Tandem Source account has no pumps; upload your pump once with the Tandem "
                              "Source app or website, then run tconnectsync again.")
        serial = (serial or "").strip()
        if serial:
            found = [p for p in pumps if p.serial == serial] or [
                p for p in pumps if p.serial.isdigit() and serial.isdigit() and int(p.serial) == int(serial)]
            if not found:
                listed = ", ".join("%s (%s, %s)" % (p.serial, p.model, self.last_seen(p)) for p in pumps)
                raise ConfigError("PUMP_SERIAL_NUMBER=%s is not a pump on this Tandem Source account, which has: "
                                  "%s. Set PUMP_SERIAL_NUMBER to one of these, or leave it empty to use the most "
                                  "recently active pump." % (serial, listed))
            pump = found[0]
            if pump.last_event is None or self.clock() - pump.last_event.timestamp() > STALE_PUMP_DAYS * 86400:
                logger.warning("Pump %s has not uploaded to Tandem Source recently (%s).", pump.describe(),
                               self.last_seen(pump))
            return pump
        seen = [p for p in pumps if p.last_event is not None]
        pump = max(seen, key=lambda p: p.last_event) if seen else pumps[0]
        others = [p for p in pumps if p is not pump]
        if others:
            logger.warning("Using pump %s, the most recently active of the %d pumps on the Tandem Source account "
                           "(%s); the others: %s. Set PUMP_SERIAL_NUMBER to choose another.", pump.describe(),
                           len(pumps), self.last_seen(pump),
                           "; ".join("%s, %s" % (p.describe(), self.last_seen(p)) for p in others))
        return pump

    def pumps_to_sync(self, serial=None, pumps=None):
        """The pumps a run syncs, the one in use last. With ``serial`` (None: PUMP_SERIAL_NUMBER)
        that pump alone, as ``choose_pump``. Without: every pump on the account that has data
        (``availableDataRange``), oldest data first, so the days of a pump replaced under
        warranty come from the pump that logged them, each keyed by its own serial; the most
        recently active pump alone when no pump tells its range."""
        if serial is None:
            serial = self.config.pump_serial
        pumps = self.pumps() if pumps is None else pumps
        if (serial or "").strip() or sum(1 for p in pumps if p.data_range is not None) < 2:
            return [self.choose_pump(serial, pumps)]
        with_data = sorted((p for p in pumps if p.data_range is not None),
                           key=lambda p: (p.data_range[1], p.last_event_local or dt.datetime.min))
        for p in pumps:
            if p.data_range is None:
                logger.info("Pump %s has no data on Tandem Source (%s): not synced", p.describe(), self.last_seen(p))
        return with_data

    def pump_logs(self, pump, start_date, end_date, event_codes=None):
        """The pump's events for pump-local dates [start_date, end_date] (inclusive), fetched in
        windows of at most 28 days and de-duplicated on (sequenceGroup, sequenceNumber).

        ``event_codes``: None for the Source web app's list (``DEFAULT_EVENT_CODES``), an empty
        sequence for every type."""
        start_date, end_date = _as_date(start_date), _as_date(end_date)
        if end_date < start_date:
            raise ValueError("end date %s is before start date %s" % (end_date, start_date))
        codes = DEFAULT_EVENT_CODES if event_codes is None else tuple(event_codes)
        self.ensure_login()
        events, changes = {}, {}
        for a, b in date_windows(start_date, end_date):
            params = [("pumperId", self.pumper_id), ("startDate", a.strftime("%Y-%m-%dT00:00:00Z")),
                      ("endDate", b.strftime("%Y-%m-%dT23:59:59Z")),
                      ("eventCodes", ",".join(str(c) for c in codes))]
            body = self._get(PUMP_LOGS_PATH % urllib.parse.quote(pump.assignment_id, safe=""), params=params,
                             what="pump-logs request")
            if not isinstance(body, dict) or not isinstance(body.get("events"), list):
                raise TandemFormatError("Tandem Source's pump-logs answer has no events list; the API changed.")
            _collect(events, body["events"], "events")
            _collect(changes, body.get("clockChanges") or [], "clockChanges")
        return PumpLogs(events=[events[k] for k in sorted(events)], clock_changes=[changes[k] for k in sorted(changes)])

    def pump_events(self, pump, start_date, end_date, event_codes=None):
        """The raw events of ``pump_logs`` (decoded JSON objects, in sequence order)."""
        return self.pump_logs(pump, start_date, end_date, event_codes).events

    def newest_event_time(self, pump):
        """When ``pump`` logged its newest event (aware UTC, from the pumper's maxDateOfEvents), or
        None if it never uploaded: one pumper request, for the --auto-update poll (docs/tandem-source.md §7.5)."""
        for p in self.pumps():
            if p.assignment_id == pump.assignment_id:
                return p.last_event
        raise TandemError("Pump %s is no longer on the Tandem Source account." % pump.describe())


def _collect(into, events, where):
    for ev in events:
        if not isinstance(ev, dict):
            raise TandemFormatError("Tandem Source's pump-logs %s holds a non-object; the API changed." % where)
        try:
            key = (int(ev.get("sequenceGroup") or 0), int(ev["sequenceNumber"]))
        except (KeyError, TypeError, ValueError):
            raise TandemFormatError("A Tandem Source pump-logs event has no usable sequenceNumber; the API "
                                    "changed.") from None
        into.setdefault(key, ev)


def _data_range(value, last_local):
    """``availableDataRange`` {start, end} (naive pump-local) as (first date or None, last date);
    None if the pump never uploaded. A missing end is maxDateOfEvents's day."""
    if value is not None and not isinstance(value, dict):
        raise TandemFormatError("Tandem Source's pumper has an unreadable availableDataRange (%r)." % (value,))
    value = value or {}
    first = _parse_local(value.get("start"), "availableDataRange.start")
    last = _parse_local(value.get("end"), "availableDataRange.end") or last_local
    if last is None:
        return None
    return (first.date() if first else None, last.date())


def _parse_local(value, field):
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", ""))
    except ValueError:
        raise TandemFormatError("Tandem Source's pumper has an unreadable %s (%r)." % (field, value)) from None
    return parsed.replace(tzinfo=None)
