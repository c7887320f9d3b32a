"""PUMP_EVENTS: site/cartridge changes, suspensions and Control-IQ activity modes.

ws2 basalsuspension rows give site changes and suspensions (each its own document, keyed by
time and kind: the empty-cartridge and the user suspensions no longer hide each other).
Control:IQ activity events give Sleep / Exercise (with their duration, updated in place while
they run) and AutoBolus / CarbOnly activity.
"""
import datetime as dt
import logging

from ..parser.records import ParseWarning
from .documents import epoch, identifier, minutes, treatment

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


def documents(data, serial, tz, warnings, continuations=None, tally=None):
    """Documents for the chunk; identifiers of midnight repeats go to ``continuations``; what
    became of the records that give no document goes to ``tally`` (a ``basal.Tally``)."""
    from .basal import Tally
    continuations = [] if continuations is None else continuations
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
            continuations.append(doc["identifier"])
        docs.append(doc)
    return docs


def _continues(earlier, act):
    """True when an earlier record of the same kind already covers this midnight repeat."""
    for prev in earlier:
        if prev.kind == act.kind and prev.start + dt.timedelta(seconds=prev.duration_s) >= act.start:
            return True
    return False
