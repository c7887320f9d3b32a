"""Read one window of whole pump-local days from the legacy t:connect APIs, parsed to records."""
import dataclasses
import datetime as dt
import logging

from ..errors import ConfigError, NoData, TandemError, TandemFormatError, TransientError
from ..parser import tconnect as parse
from .. import timeutil
from .backend import ChunkResult

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ChunkData:
    start: dt.date
    end: dt.date                       # inclusive
    window_start: dt.datetime = None   # UTC start of ``start`` in pump time
    window_end: dt.datetime = None     # UTC end of ``end`` (midnight after) in pump time
    segments: list = dataclasses.field(default_factory=list)
    suspensions: list = dataclasses.field(default_factory=list)
    activities: list = dataclasses.field(default_factory=list)
    csv_basal: list = dataclasses.field(default_factory=list)
    boluses: list = dataclasses.field(default_factory=list)
    pump_events: list = dataclasses.field(default_factory=list)
    iob: list = dataclasses.field(default_factory=list)
    readings: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    ciq_missing: bool = False          # Control:IQ had no data (404) for this window
    more_after: bool = False           # the pump logged data after this window (it is complete)

    @property
    def data_until(self):
        """The latest instant this data is known to cover (never past the window's end)."""
        latest = None
        def bump(t):
            nonlocal latest
            if t is not None and (latest is None or t > latest):
                latest = t
        for s in self.segments:
            bump(s.start + dt.timedelta(seconds=s.duration_s))
        for a in self.activities:
            bump(a.start + dt.timedelta(seconds=a.duration_s))
        for group in (self.suspensions, self.csv_basal, self.pump_events, self.iob, self.readings):
            for r in group:
                bump(r.time)
        for b in self.boluses:
            for t in (b.request_time, b.completion_time, b.extended_start, b.extended_end):
                bump(t)
        if latest is None:
            return None
        if self.more_after and self.window_end:
            return self.window_end
        return min(latest, self.window_end) if self.window_end else latest


class LegacySource:
    """Fetches what the enabled features need, and nothing more, for one chunk of days."""

    name = "tconnect"
    remote = "t:connect"
    iob_with_every_chunk = False    # IOB needs the ws2 CSV export: asked for the last chunk only
    chunk_days = None             # the config's (TCONNECTSYNC_CHUNK_DAYS: ws2 serves two days at most)

    def __init__(self, api, tz, serial):
        self.api = api
        self.tz = tz
        self.serial = serial
        self.serial_checked = False        # the account's pumps (pumpfeatures) compared once per run

    def check_serial(self):
        """Before the first write: the configured serial must be one the account's pumps carry
        (identifiers are built from it, so a wrong one would duplicate everything later)."""
        if self.serial_checked:
            return
        try:
            listed = self.api.controliq.pump_features()
        except (NoData, TandemError, TandemFormatError, TransientError) as exc:
            logger.debug("Control:IQ pumpfeatures unavailable (%s): the serial is checked against the data", exc)
            listed = []
        self.serial_checked = True
        check_serial(self.serial, serials_in(listed if isinstance(listed, list) else []))

    def fetch(self, start, end, features, want_iob=False):
        data = ChunkData(start=start, end=end)
        data.window_start = timeutil.day_bounds_utc(start, self.tz)[0]
        data.window_end = timeutil.day_bounds_utc(end, self.tz)[1]
        need_ciq = "BASAL" in features or "PUMP_EVENTS" in features
        if need_ciq:
            try:
                timeline = self.api.controliq.therapy_timeline(start, end)
            except NoData:
                logger.info("Control:IQ has no data for %s..%s (pump without Control-IQ then, or no "
                            "upload); basal comes from the CSV export", start, end)
                data.ciq_missing = True
            else:
                if isinstance(timeline, dict) and isinstance(timeline.get("pumpFeatures"), list):
                    check_serial(self.serial, serials_in(timeline["pumpFeatures"]))
                parsed, warnings = parse.parse_ciq_timeline(timeline, self.tz)
                data.segments, data.suspensions, data.activities = parsed.segments, parsed.suspensions, parsed.activities
                data.warnings += warnings
        if "BOLUS" in features:
            try:
                events = self.api.controliq.therapy_events(start, end)
            except NoData:
                events = {"event": []}
            if isinstance(events, dict) and isinstance(events.get("event"), list):
                check_serial(self.serial, serials_in(events["event"]))
            boluses, readings, warnings = parse.parse_therapy_events(events, self.tz)
            data.boluses = boluses
            data.readings = readings
            data.warnings += warnings
        need_csv = want_iob or ("BASAL" in features and (data.ciq_missing or not data.segments))
        if need_csv:
            text = self.api.ws2.therapy_timeline_csv(start, end)
            export, warnings = parse.parse_therapytimeline_csv(text, self.tz)
            data.warnings += warnings
            data.iob = export.iob
            if data.ciq_missing or not data.segments:
                data.csv_basal = export.basal
            if not data.readings:
                data.readings = export.readings
        if "PUMP_EVENTS" in features:
            text = self.api.ws2.basal_suspension(start, end)
            events, warnings = parse.parse_basalsuspension(parse.parse_jsonp(text), self.tz)
            data.pump_events = events
            data.warnings += warnings
        return data


    def poll(self):
        """The cheap marker of new uploads: the newest pump event index Tandem has received."""
        return self.api.android.last_event_uploaded(self.serial)

    def chunk(self, start, end, features, want_iob=False, window_end=None):
        """Fetch one chunk and map it to the desired Nightscout documents (see ChunkResult).

        Tandem cuts every record at the pump-local midnight, so days are independent but for one
        thing: a suspension (or CSV rate) still running when the chunk's data ends lasts to
        midnight if the pump logged anything later, else only to the data's end. When the
        window goes on after this chunk and such a record exists, the next days (at most two,
        never past the window) are read to tell, so chunks give what the whole window gives."""
        self.check_serial()
        data = self.fetch(start, end, features, want_iob=want_iob)
        if window_end is not None and window_end > end and "BASAL" in features and _open_at_data_end(data, self.tz):
            nxt = end + dt.timedelta(days=1)
            later = self.fetch(nxt, min(window_end, nxt + dt.timedelta(days=1)), ("BASAL",))
            data.more_after = later.data_until is not None
        return legacy_documents(data, features, self.serial, self.tz)


class SerialMismatch(ConfigError):
    """PUMP_SERIAL_NUMBER is not the serial the pump's own data carries (exit 2, nothing written)."""


def serials_in(items):
    """The pump serials (strings, as Tandem sends them) that a list of Tandem objects carries."""
    return sorted({str(i["serialNumber"]).strip() for i in items
                   if isinstance(i, dict) and i.get("serialNumber") not in (None, "")})


def check_serial(configured, serials):
    """Raise SerialMismatch naming both when the data carries serials and ``configured`` is not one
    of them (compared as text: ``091682020`` is not ``91682020``)."""
    if serials and configured not in serials:
        raise SerialMismatch("PUMP_SERIAL_NUMBER is %s, but t:connect's data for this account is from pump %s: "
                             "set PUMP_SERIAL_NUMBER=%s (exactly as shown; nothing was written)."
                             % (configured, " and ".join(serials), serials[0]))


def _open_at_data_end(data, tz):
    """True when a basal record of ``data`` lasts until its data ends, before the last midnight."""
    from . import basal
    until = data.data_until
    if until is None or data.window_end is None or until >= data.window_end:
        return False
    return any(seg_end == until for _, seg_end, _, _ in basal.build_segments(data, tz, basal.Tally(), quiet=True))


def legacy_documents(data, features, serial, tz):
    """The ChunkResult of one chunk. Per feature, every record read is a document, merged into
    another's (``merged``), skipped with a reason, or (PUMP_EVENTS) a warning."""
    from . import basal, bolus, iob, pump_events
    result = ChunkResult(warnings=list(data.warnings))

    def account(feature, tally, fetched, docs):
        result.fetched[feature] = fetched
        result.merged[feature] = tally.merged
        result.skipped[feature] = tally.skipped
        result.treatments += [(feature, d) for d in docs]

    if "BASAL" in features:
        tally = basal.Tally()
        account("BASAL", tally, basal.records_read(data), basal.documents(data, serial, tz, tally))
    if "BOLUS" in features:
        tally = basal.Tally()
        account("BOLUS", tally, len(data.boluses), bolus.documents(data.boluses, serial, tz, tally.skipped, tally))
    if "PUMP_EVENTS" in features:
        tally, warnings = basal.Tally(), []
        docs = pump_events.documents(data, serial, tz, warnings, result.spanning, tally)
        # Unknown rows are warnings: the engine counts them as read and not uploaded.
        account("PUMP_EVENTS", tally, len(data.pump_events) + len(data.activities) - len(warnings), docs)
        result.warnings_by_feature["PUMP_EVENTS"] = warnings
    if "IOB" in features:
        result.iob = iob.newest(data.iob)
    return result
