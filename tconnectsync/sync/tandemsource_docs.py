"""Tandem Source pump events -> the Nightscout documents of one chunk (docs/tandem-source.md §7.4, with the fixes of §8).

``source_documents(events, features, serial, tz, now=None)`` is what the Tandem Source backend
hands the engine: the desired treatments (each with a deterministic ``identifier`` from the pump
serial and the event's sequence number, or BolusID for boluses as in ``sync/bolus.py``), the
newest IOB, and as data what is not a plain treatment upsert (CGM entries, profiles, and
records to merge with what Nightscout holds, ``sync/tandemsource_upload.py``). It is pure; the
engine (``sync/engine_steps.py``) reads Nightscout and writes.

Conventions are those of the legacy mappers (``sync/basal.py``, ``bolus.py``, ``pump_events.py``):

* BASAL: one ``Temp Basal`` per 279 delivery row (suspensions 0 U/h), lasting until the next row
  (or a suspension/resume without a row of its own), the last one until the data ends; nothing
  overlaps, a running segment grows in place.
* BOLUS: one ``Combo Bolus`` per BolusID: ``insulin`` = delivered at once; an extended part as
  ``duration``/``relative``/``splitNow``/``splitExt``/``enteredinsulin``; carbs and BG as
  ``carbs`` and ``glucose`` + ``units``; updated in place when the extended part completes.
* PUMP_EVENTS: alarms, suspend/resume, cartridge (``Insulin Change``), cannula (``Site Change``)
  and tubing (``Note``) fills, Sleep/Exercise with their duration (updated while they run),
  CGM sessions (``Sensor Start``/``Sensor Stop``).
* CGM_ALERTS: ``CGM Alert``; CGM: ``entries`` sgv (off by default); PROFILES: the profile
  document (``profiles``); IOB: the newest value the pump logged.

Boluses are mapped in ``tandemsource_bolus``, profiles in ``profiles``, CGM readings in ``cgm``;
what must be merged with Nightscout's documents is handed to the engine as data
(``tandemsource_upload.Partial``, entries, the profile build) and written by it (``engine_steps``).
"""
import dataclasses
import datetime as dt
import logging
import re

from .. import timeutil
from ..parser.tandemsource import records as R
from ..parser import tandemsource
from ..parser.records import IobValue
from . import tandemsource_upload as upload
from .documents import created_at, identifier, minutes, treatment
from .backend import ChunkResult
from .skips import Skip
from .cgm import entry_documents
from .tandemsource_bolus import bolus_documents, bolus_owner, group_boluses
from .profiles import profile_documents

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
FUTURE_SLACK = dt.timedelta(minutes=5)
SAME_INSTANT_S = 1                         # a suspension/resume and its 279 row share the second
RESUME_REMINDER_ALARMS = (18, 23)          # "resume pump" reminders: the suspension is the event
CGM_OUT_OF_RANGE = 14                      # Dexcom "out of range": signal loss noise
RUNNING = " - Not Ended"                   # reason/notes suffix of a Sleep/Exercise still running
FILLS = {R.CartridgeFilled: "Insulin Change", R.CannulaFilled: "Site Change", R.TubingFilled: "Note"}
SENSOR_EVENTS = {"start": ("Sensor Start", "CGM Session Started"), "join": ("Sensor Start", "CGM Session Joined"),
                 "stop": ("Sensor Stop", "CGM Session Stopped")}

# Event codes each feature reads (for fetched counts and for where warnings are reported).
FEATURE_CODES = {
    "BASAL": {279, 11, 12, 3},
    "BOLUS": {64, 65, 66, 20, 21, 55, 59, 280},
    "PUMP_EVENTS": {5, 6, 11, 12, 33, 61, 63, 229} | set(tandemsource.CGM_SESSIONS),
    "CGM": set(tandemsource.CGM_SENSORS),
    "CGM_ALERTS": set(tandemsource.CGM_ALERT_FAMILIES) | set(tandemsource.CGM_SESSIONS),
    "IOB": {16, 20, 21, 55, 59, 64, 81},
}
_EVENT_CODE = re.compile(r"^event (\d+) ")


@dataclasses.dataclass
class _Ctx:
    serial: str
    tz: object
    now: dt.datetime
    until: dt.datetime                     # what the data is known to cover (never after now)
    skipped: dict
    merged: dict = dataclasses.field(default_factory=dict)
    owned: tuple = None                    # (lo, hi): the instants whose records this chunk decides

    def owns(self, instant):
        """True when the record starting at ``instant`` is this chunk's to decide: the events
        around it (the margin) only give context, a neighbouring chunk decides those."""
        return self.owned is None or instant is None or self.owned[0] <= instant < self.owned[1]

    def skip(self, feature, key, text, at=None):
        if self.owns(at):
            self.skipped.setdefault(feature, []).append(Skip(key, text))

    def merge(self, feature, n=1, at=None):
        """``n`` records of ``feature`` (at ``at``) folded into another record's document."""
        if n and self.owns(at):
            self.merged[feature] = self.merged.get(feature, 0) + n

    def local(self, instant):
        return created_at(instant, self.tz)

    def future(self, instant):
        return instant > self.now + FUTURE_SLACK


def source_documents(events, features, serial, tz, now=None, *, clock_changes=None, pump_settings=None,
                     data_until=None, profile_upload_mode=None, owned=None):
    """The ChunkResult for pump-log ``events`` of one chunk.

    ``events``: the pump-logs events (list of JSON objects, or the whole answer with
    ``clockChanges``), the binary stream (bytes), the legacy base64 body (str) or parsed records.
    ``now`` (aware; default: the current time) caps durations and drops future-dated events
    (pump clock ahead); ``data_until`` (aware) caps them further, e.g. at the chunk's end.
    ``pump_settings``: the pumper answer, one of its ``pumps`` or that pump's ``settings``
    (docs/tandem-source.md §5.1), needed for PROFILES. ``profile_upload_mode``: see ``profiles``.
    ``owned`` (lo, hi), aware: when the events reach past the chunk (a margin read for context),
    only records starting in [lo, hi) are decided (documents, counts, skips, warnings) here.
    """
    now = (now or dt.datetime.now(UTC)).astimezone(UTC)
    records, warnings = tandemsource.parse(events, tz, clock_changes)
    latest = max((r.time for r in records), default=None)
    until = min(x for x in (latest, now, data_until) if x is not None) if latest else now
    ctx = _Ctx(str(serial), tz, now, until, {}, owned=owned)
    result = ChunkResult()
    _sort_warnings([w for w in warnings if ctx.owns(w.time)], features, result)
    owned_records = [r for r in records if ctx.owns(r.time)]
    result.ignored = tandemsource.ignored_counts(owned_records)
    by_type = {}
    for r in records:
        by_type.setdefault(type(r), []).append(r)
    partials = []

    def add(feature, docs):
        for doc in docs:
            if not ctx.owns(doc.time if isinstance(doc, upload.Partial) else _doc_instant(doc)):
                continue
            if isinstance(doc, upload.Partial):
                partials.append(doc)
            else:
                result.treatments.append((feature, doc))

    if "BASAL" in features:
        result.fetched["BASAL"] = _count(owned_records, FEATURE_CODES["BASAL"] - {3})
        add("BASAL", basal_documents(records, ctx))
    if "BOLUS" in features:
        boluses = group_boluses(records)
        result.fetched["BOLUS"] = sum(1 for b in boluses if ctx.owns(bolus_owner(b)))
        add("BOLUS", bolus_documents(boluses, ctx))
    if "PUMP_EVENTS" in features:
        docs = pump_event_documents(records, ctx)
        docs += mode_documents(by_type.get(R.UserModeChange, []), ctx)
        docs += session_documents(by_type.get(R.CgmSession, []), ctx, "PUMP_EVENTS")
        result.fetched["PUMP_EVENTS"] = _count(owned_records, FEATURE_CODES["PUMP_EVENTS"])
        add("PUMP_EVENTS", docs)
    if "CGM_ALERTS" in features:
        docs = cgm_alert_documents(by_type.get(R.CgmAlert, []), ctx)
        codes = set(tandemsource.CGM_ALERT_FAMILIES)
        if "PUMP_EVENTS" not in features:
            docs += session_documents(by_type.get(R.CgmSession, []), ctx, "CGM_ALERTS")
            codes = FEATURE_CODES["CGM_ALERTS"]
        result.fetched["CGM_ALERTS"] = _count(owned_records, codes)
        add("CGM_ALERTS", docs)
    if "CGM" in features:
        readings = [r for r in by_type.get(R.CgmReading, []) if ctx.owns(r.egv_time)]
        result.fetched["CGM"] = len(readings)
        result.entries = entry_documents(readings, ctx)
    if "PROFILES" in features:
        # Counted once per run by the engine (the settings are the same for every chunk).
        result.profiles = dataclasses.replace(profile_documents(pump_settings, serial, tz), mode=profile_upload_mode,
                                              now=now)
    if "IOB" in features:
        result.iob = newest_iob([r for r in records if owned is None or r.time < owned[1]], ctx)
    result.partials = partials
    result.skipped = ctx.skipped
    result.merged = ctx.merged
    return result


def _count(records, codes):
    return sum(1 for r in records if r.code in codes)


def _sort_warnings(warnings, features, result):
    """Warnings about one event go to the first enabled feature that reads its code; warnings
    about events no enabled feature reads are dropped; the rest (unknown codes, clock) are general."""
    for w in warnings:
        match = _EVENT_CODE.match(w.record)
        code = int(match.group(1)) if match else None
        readers = [f for f in FEATURE_CODES if code in FEATURE_CODES[f]] if code is not None else []
        if readers:
            enabled = [f for f in readers if f in features]
            if enabled:
                result.warnings_by_feature.setdefault(enabled[0], []).append(w)
            continue
        result.warnings.append(w)


def _doc_instant(doc):
    return timeutil.parse_iso_utc(doc["created_at"])


def _pump_event_id(*records):
    return ",".join(str(r.key) for r in records if r is not None)


# --------------------------------------------------------------------------------------- BASAL

def basal_documents(records, ctx):
    """``Temp Basal`` segments from 279 rows, plus 11/12 that have no row of their own."""
    rows = [r for r in records if isinstance(r, R.BasalDelivery)]
    row_times = sorted(r.time for r in rows)
    marks = []                                          # (time, seq, rate or None, reason, record)
    for r in rows:
        marks.append((r.time, r.seq, r.rate, r.rate_source_name or None, r))
    for r in records:
        if not isinstance(r, (R.PumpSuspended, R.PumpResumed)):
            continue
        if _near(row_times, r.time):
            ctx.merge("BASAL", at=r.time)               # the 279 row of the same second says it
        elif isinstance(r, R.PumpSuspended):
            marks.append((r.time, r.seq, 0.0, "Suspended", r))
        else:
            marks.append((r.time, r.seq, None, None, r))      # delivery resumed, rate not logged
    marks.sort(key=lambda m: (m[0], m[1]))
    docs = []
    for i, (start, _, rate, reason, rec) in enumerate(marks):
        if rate is None:
            ctx.merge("BASAL", at=start)                # a resume: it ends the segment before it
            continue
        end = marks[i + 1][0] if i + 1 < len(marks) else ctx.until
        end = min(end, ctx.until)
        if end <= start:
            if i + 1 < len(marks) and marks[i + 1][0] <= start:
                ctx.skip("BASAL", "basal-instant", "basal event %d seq %s at %s: replaced within the same second"
                         % (rec.code, rec.key, ctx.local(start)), at=start)
            else:                               # the newest, at the data's end: a later run has its duration
                ctx.skip("BASAL", "basal-pending", "basal event %d seq %s at %s: at the end of the data, no "
                         "duration yet" % (rec.code, rec.key, ctx.local(start)), at=start)
            continue
        kind = "basal-delivery" if isinstance(rec, R.BasalDelivery) else "basal-suspension"
        docs.append(treatment("Temp Basal", start, ctx.tz, identifier(ctx.serial, kind, rec.key),
                              duration=minutes((end - start).total_seconds()), absolute=float(rate),
                              rate=float(rate), reason=reason, pump_event_id=rec.key))
    return docs


def _near(sorted_times, t):
    return any(abs((s - t).total_seconds()) <= SAME_INSTANT_S for s in sorted_times)


# --------------------------------------------------------------------------------- PUMP_EVENTS

def pump_event_documents(records, ctx):
    docs = []
    for r in records:
        if ctx.future(r.time) and isinstance(r, (R.Alarm, R.PumpSuspended, R.PumpResumed, *FILLS)):
            ctx.skip("PUMP_EVENTS", "future", "event %d seq %s at %s: dated in the future"
                     % (r.code, r.key, ctx.local(r.time)), at=r.time)
            continue
        if isinstance(r, R.Alarm):
            if not r.malfunction and r.alarm_id in RESUME_REMINDER_ALARMS:
                ctx.skip("PUMP_EVENTS", "resume-reminder", "alarm %s at %s: a resume-pump reminder (the suspension is recorded)"
                         % (r.name, ctx.local(r.time)), at=r.time)
                continue
            notes = "Malfunction (code %d)" % r.alarm_id if r.malfunction else r.name
            docs.append(treatment("Alarm", r.time, ctx.tz,
                                  identifier(ctx.serial, "malfunction" if r.malfunction else "alarm", r.key),
                                  reason=r.name, notes=notes, pump_event_id=r.key))
        elif isinstance(r, R.PumpSuspended):
            reason = r.reason or "SuspendReason%d" % r.reason_code
            docs.append(treatment("Basal Suspension", r.time, ctx.tz, identifier(ctx.serial, "suspension", r.key),
                                  reason=reason, notes=reason, pump_event_id=r.key))
        elif isinstance(r, R.PumpResumed):
            docs.append(treatment("Basal Resume", r.time, ctx.tz, identifier(ctx.serial, "resume", r.key),
                                  reason="Basal resumed", notes="Basal resumed", pump_event_id=r.key))
        elif type(r) in FILLS:
            text = fill_text(r)
            kind = {R.CartridgeFilled: "cartridge-fill", R.CannulaFilled: "cannula-fill",
                    R.TubingFilled: "tubing-fill"}[type(r)]
            docs.append(treatment(FILLS[type(r)], r.time, ctx.tz, identifier(ctx.serial, kind, r.key),
                                  reason=text, notes=text, pump_event_id=r.key))
    return docs


def fill_text(r):
    if isinstance(r, R.CartridgeFilled):
        volume = r.insulin_volume or r.v2_volume or 0
        text = "Cartridge Filled" + (" (%du filled)" % round(volume) if volume and volume > 0 else "")
    elif isinstance(r, R.CannulaFilled):
        text = "Cannula Filled" + (" (%.1fu primed)" % r.prime_size if r.prime_size and r.prime_size > 0 else "")
    else:
        text = "Tubing Filled" + (" (%du primed)" % round(r.prime_size) if r.prime_size and r.prime_size > 0 else "")
    if getattr(r, "status", "") and r.status != "Completed":
        text += " (%s)" % r.status
    return text


def _mode_reason(kind, start, stop):
    if kind == "Sleep":
        if start.sleep_started_by_gui:
            reason = "Sleep (Manual)"
        elif start.active_sleep_schedule:
            reason = "Sleep (Scheduled)"
        else:
            reason = "Sleep"
    else:
        reason = "Exercise (Timed)" if start.exercise_timed else "Exercise"
    if kind == "Exercise" and stop is not None and stop.action == 4 and stop.exercise_stopped_by_timer:
        reason += " (Stopped by timer)"
    return reason


def mode_documents(changes, ctx):
    """Sleep / Exercise with their duration; a mode still running is updated in place later."""
    docs = []
    open_ = {"Sleep": None, "Exercise": None}
    starts = {1: "Sleep", 3: "Exercise"}
    stops = {2: ("Sleep",), 4: ("Exercise",), 5: ("Sleep", "Exercise")}
    for ev in sorted(changes, key=lambda e: (e.group, e.seq)):
        if ev.action in starts:
            kind = starts[ev.action]
            if open_[kind] is not None:                  # started again without a stop: the new start ends it
                docs.append(_mode_doc(kind, open_[kind], ev, ctx))
            open_[kind] = ev
        elif ev.action in stops:
            # The stop is one record: merged into the document of the start it closes here, or
            # (no start in this chunk) the update of the running document an earlier chunk wrote.
            closed_here = any(open_[kind] is not None for kind in stops[ev.action])
            if closed_here:
                ctx.merge("PUMP_EVENTS", at=ev.time)
            names = "/".join(stops[ev.action])
            missing = Skip("mode-orphan", "%s stopped %s: no running %s in this window or in Nightscout"
                           % (names, ctx.local(ev.time), names))
            for kind in stops[ev.action]:
                if open_[kind] is not None:
                    docs.append(_mode_doc(kind, open_[kind], ev, ctx))
                    open_[kind] = None
                else:
                    docs.append(upload.Partial("PUMP_EVENTS", ev.time, _close_mode(kind, ev, ctx),
                                               upload.newest_running(kind, ev.time, RUNNING),
                                               group=("stop", ev.key), counted=not closed_here, missing=missing))
        else:
            ctx.skip("PUMP_EVENTS", "mode-other", "user mode change seq %s at %s: action %d (not synced)"
                     % (ev.key, ctx.local(ev.time), ev.action), at=ev.time)
    for kind, start in open_.items():
        if start is not None:
            doc = _mode_doc(kind, start, None, ctx)
            if doc is not None:
                docs.append(upload.Partial("PUMP_EVENTS", start.time, _keep_closed(doc),
                                           upload.by_identifier(doc["identifier"])))
    return [d for d in docs if d is not None]


def _mode_doc(kind, start, stop, ctx):
    if ctx.future(start.time):
        ctx.skip("PUMP_EVENTS", "future", "%s started %s: dated in the future" % (kind, ctx.local(start.time)),
                 at=start.time)
        return None
    end = min(stop.time, ctx.until) if stop is not None else ctx.until
    reason = _mode_reason(kind, start, stop) + ("" if stop is not None else RUNNING)
    duration = max(0.0, minutes((end - start.time).total_seconds()))
    return treatment(kind, start.time, ctx.tz, identifier(ctx.serial, kind.lower(), start.key), reason=reason,
                     notes=reason, duration=duration, pump_event_id=_pump_event_id(start, stop))


def _keep_closed(doc):
    def merge(stored):
        if stored is not None and RUNNING not in str(stored.get("reason", "")) and \
                float(stored.get("duration") or 0) >= doc["duration"]:
            return None                         # a later chunk already closed it
        return doc
    return merge


def _close_mode(kind, stop, ctx):
    """Merge for a stop whose start an earlier chunk synced: close Nightscout's running document."""
    def merge(stored):
        if stored is None:
            return None                         # nothing running: the Partial's ``missing`` says so
        start = upload.instant(stored)
        out = {k: v for k, v in stored.items() if k not in ("_id", "mills", "utcOffset")}
        reason = str(stored.get("reason") or kind)
        if reason.endswith(RUNNING):
            reason = reason[:-len(RUNNING)]
        if kind == "Exercise" and stop.action == 4 and stop.exercise_stopped_by_timer:
            reason += " (Stopped by timer)"
        out.update(reason=reason, notes=reason,
                   duration=max(0.0, minutes((min(stop.time, ctx.until) - start).total_seconds())))
        ids = [x for x in str(stored.get("pump_event_id") or "").split(",") if x]
        out["pump_event_id"] = ",".join(ids + [stop.key])
        return out
    return merge


def session_documents(sessions, ctx, feature):
    docs = []
    for s in sessions:
        if ctx.future(s.time):
            ctx.skip(feature, "future", "CGM session event seq %s at %s: dated in the future" % (s.key, ctx.local(s.time)),
                     at=s.time)
            continue
        event_type, text = SENSOR_EVENTS[s.action]
        docs.append(treatment(event_type, s.time, ctx.tz, identifier(ctx.serial, "cgm-session", s.key),
                              reason=text, notes=text, pump_event_id=s.key))
    return docs


# ---------------------------------------------------------------------------------- CGM alerts

def cgm_alert_documents(alerts, ctx):
    docs = []
    for a in alerts:
        if a.family == "Dexcom CGM" and a.alert_id == CGM_OUT_OF_RANGE:
            ctx.skip("CGM_ALERTS", "cgm-out-of-range", "Dexcom out-of-range alert at %s (signal loss, not synced)"
                     % ctx.local(a.time), at=a.time)
            continue
        if ctx.future(a.time):
            ctx.skip("CGM_ALERTS", "future", "CGM alert seq %s at %s: dated in the future" % (a.key, ctx.local(a.time)),
                     at=a.time)
            continue
        text = "%s Alert (%s)" % (a.family, a.name or "code %d" % a.alert_id)
        docs.append(treatment("CGM Alert", a.time, ctx.tz, identifier(ctx.serial, "cgm-alert", a.key),
                              reason=text, notes=text, pump_event_id=a.key))
    return docs


# ------------------------------------------------------------------------------------------ IOB

def newest_iob(records, ctx):
    best = None
    for r in records:
        value = getattr(r, "iob", None)
        if value is None or isinstance(r, R.OtherEvent) or ctx.future(r.time) or value < 0:
            continue
        if best is None or (r.time, r.seq) >= (best.time, best.seq):
            best = r
    return IobValue(time=best.time, iob=float(best.iob)) if best is not None else None
