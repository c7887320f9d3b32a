"""PUMP_EVENTS (and CGM_ALERTS): alarms, suspensions, fills, Control-IQ modes, CGM sessions and alerts.

The one mapper of these for both backends. t:connect (``documents``): ws2 basalsuspension rows give site changes and suspensions (each its own document, keyed by
time and kind: the empty-cartridge and the user suspensions no longer hide each other).
Control:IQ activity events give Sleep / Exercise (with their duration, updated in place while
they run) and AutoBolus / CarbOnly activity; Tandem repeats at 00:00 a mode still active at
midnight, handed to the engine as a ``spanning.Spanning`` (MIDNIGHT_REPEAT).

Tandem Source (``event_documents``, ``mode_documents``, ``session_documents``,
``cgm_alert_documents``, over ``parser/tandemsource`` records and a ``documents.ChunkContext``):
alarms (resume-pump reminders skipped: the suspension is the event), suspend/resume, cartridge
(``Insulin Change``), cannula (``Site Change``) and tubing (``Note``) fills, Sleep/Exercise with
their duration (a mode still running, or stopped after an earlier chunk wrote it, is a
``Spanning``), CGM sessions (``Sensor Start``/``Sensor Stop``) and ``CGM Alert``s.
"""
import datetime as dt
import logging

from ..parser.records import ParseWarning
from ..parser.tandemsource import records as R
from .documents import epoch, identifier, minutes, treatment
from .skips import Skip
from .spanning import RUNNING, Key, Rule, Spanning

logger = logging.getLogger(__name__)

SUSPEND_REASONS = {
    "site-cart": ("Site Change", "Site/Cartridge Change"),
    "alarm": ("Basal Suspension", "Empty Cartridge/Pump Shutdown"),
    "manual": ("Basal Suspension", "User Suspended"),
    "temp-profile": ("Basal Suspension", "Temp Rate 0 U/h"),
}
# Known reasons with no document of their own.
IGNORED_REASONS = {"previous", "basal-profile"}

ACTIVITY_TYPES = {"Sleep": "Sleep", "Exercise": "Exercise", "AutoBolus": "Activity", "CarbOnly": "Activity"}

RESUME_REMINDER_ALARMS = (18, 23)          # Tandem Source "resume pump" reminders: the suspension is the event
CGM_OUT_OF_RANGE = 14                      # Dexcom "out of range": signal loss noise
FILLS = {R.CartridgeFilled: "Insulin Change", R.CannulaFilled: "Site Change", R.TubingFilled: "Note"}
SENSOR_EVENTS = {"start": ("Sensor Start", "CGM Session Started"), "join": ("Sensor Start", "CGM Session Joined"),
                 "stop": ("Sensor Stop", "CGM Session Stopped")}


def documents(data, serial, tz, warnings, spanning=None, tally=None):
    """t:connect documents for the chunk; midnight repeats go to ``spanning`` (``Spanning``s); what
    became of the records that give no document goes to ``tally`` (a ``basal.Tally``)."""
    from .basal import Tally
    spanning = [] if spanning is None else spanning
    tally = tally if tally is not None else Tally()
    docs = []
    for ev in sorted(data.pump_events, key=lambda e: e.time):
        if ev.continuation:
            tally.merged += 1                   # the midnight repeat of an event already listed
            continue
        if ev.reason in IGNORED_REASONS:
            tally.skip("ws2-marker", "ws2 suspension row at %s: %s (not an event)" % (ev.time.isoformat(), ev.reason))
            continue
        mapping = SUSPEND_REASONS.get(ev.reason)
        if mapping is None:
            warnings.append(ParseWarning("ws2 basalsuspension", "event at %s" % ev.time.isoformat(),
                                         "unknown SuspendReason %r" % ev.reason))
            continue
        event_type, text = mapping
        docs.append(treatment(event_type, ev.time, tz, identifier(serial, "event", ev.reason, epoch(ev.time)),
                              reason=text, notes=text))
    activities = sorted(data.activities, key=lambda a: a.start)
    for i, act in enumerate(activities):
        event_type = ACTIVITY_TYPES.get(act.kind)
        if event_type is None:
            warnings.append(ParseWarning("Control:IQ therapytimeline", "activity at %s" % act.start.isoformat(),
                                         "unknown activity kind %r" % act.kind))
            continue
        if act.continuation and _continues(activities[:i], act):
            tally.merged += 1                   # the midnight repeat of a mode this chunk has
            continue
        doc = treatment(event_type, act.start, tz, identifier(serial, "activity", act.kind, epoch(act.start)),
                        reason=act.kind, notes=act.kind, duration=minutes(act.duration_s))
        if act.continuation:
            # Tandem repeats a mode still active at midnight; the engine drops this repeat when
            # Nightscout already holds the original (synced with the previous chunk).
            spanning.append(Spanning("PUMP_EVENTS", act.start, Key(identifier=doc["identifier"], event_type=event_type,
                                                                   before=act.start, covering=True),
                                     Rule.MIDNIGHT_REPEAT, doc=doc))
        else:
            docs.append(doc)
    return docs


def _continues(earlier, act):
    """True when an earlier record of the same kind already covers this midnight repeat."""
    for prev in earlier:
        if prev.kind == act.kind and prev.start + dt.timedelta(seconds=prev.duration_s) >= act.start:
            return True
    return False


def event_documents(records, ctx):
    """Tandem Source alarms, suspensions, resumes and fills."""
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
                    facts = dict(kind=kind, stop=ev.time, until=ctx.until, key=ev.key,
                                 by_timer=kind == "Exercise" and ev.action == 4 and bool(ev.exercise_stopped_by_timer))
                    docs.append(Spanning("PUMP_EVENTS", ev.time, Key(event_type=kind, before=ev.time, running=RUNNING,
                                                                  closed_by=ev.key),
                                         Rule.CLOSE_MODE, facts=facts, group=("stop", ev.key),
                                         counted=not closed_here, missing=missing))
        else:
            ctx.skip("PUMP_EVENTS", "mode-other", "user mode change seq %s at %s: action %d (not synced)"
                     % (ev.key, ctx.local(ev.time), ev.action), at=ev.time)
    for kind, start in open_.items():
        if start is not None:
            doc = _mode_doc(kind, start, None, ctx)
            if doc is not None:
                ctx.open_at_end(start.time)             # still running where the data ends
                docs.append(Spanning("PUMP_EVENTS", start.time, Key(identifier=doc["identifier"]), Rule.KEEP_CLOSED,
                                     doc=doc))
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
                     notes=reason, duration=duration, pump_event_id=",".join(r.key for r in (start, stop) if r is not None))


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
