"""Tandem Source pump events -> the ChunkResult of one chunk (docs/tandem-source.md §7.4, §8).

``source_documents(events, features, serial, tz, now=None)`` is the Tandem Source backend's
assembly: it parses the events (``parser/tandemsource``: typed records, boluses grouped into
``records.Bolus``), hands each feature's records to its one mapper (``basal``, ``bolus``,
``pump_events``, ``cgm``, ``profiles``; the same mappers as t:connect's where the records are the
same), keeps what this chunk owns, and counts. Records that span chunks (a mode or extended
bolus still running, a stop or completion whose start an earlier chunk wrote) are handed to the
engine as ``spanning.Spanning`` data. It is pure; the engine reads Nightscout and writes.
"""
import dataclasses
import datetime as dt
import logging
import re

from .. import timeutil
from ..parser.tandemsource import records as R
from ..parser import tandemsource
from ..parser.records import IobValue
from ..parser.tandemsource.boluses import boluses as read_boluses
from . import basal, pump_events
from .backend import ChunkResult
from .bolus import bolus_time, combo_bolus
from .cgm import entry_documents
from .documents import ChunkContext, identifier
from .profiles import profile_documents
from .skips import Skip
from .spanning import Key, Rule, Spanning

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc

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
    ctx = ChunkContext(str(serial), tz, now, until, owned=owned)
    result = ChunkResult()
    _sort_warnings([w for w in warnings if ctx.owns(w.time)], features, result)
    owned_records = [r for r in records if ctx.owns(r.time)]
    result.ignored = tandemsource.ignored_counts(owned_records)
    by_type = {}
    for r in records:
        by_type.setdefault(type(r), []).append(r)

    def add(feature, docs):
        for doc in docs:
            if not ctx.owns(doc.time if isinstance(doc, Spanning) else _doc_instant(doc)):
                continue
            if isinstance(doc, Spanning):
                result.spanning.append(doc)
            else:
                result.treatments.append((feature, doc))

    if "BASAL" in features:
        result.fetched["BASAL"] = _count(owned_records, FEATURE_CODES["BASAL"] - {3})
        add("BASAL", basal.delivery_documents(records, ctx))
    if "BOLUS" in features:
        boluses = read_boluses(records)
        result.fetched["BOLUS"] = sum(1 for b in boluses if ctx.owns(bolus_owner(b)))
        add("BOLUS", bolus_documents(boluses, ctx))
    if "PUMP_EVENTS" in features:
        docs = pump_events.event_documents(records, ctx)
        docs += pump_events.mode_documents(by_type.get(R.UserModeChange, []), ctx)
        docs += pump_events.session_documents(by_type.get(R.CgmSession, []), ctx, "PUMP_EVENTS")
        result.fetched["PUMP_EVENTS"] = _count(owned_records, FEATURE_CODES["PUMP_EVENTS"])
        add("PUMP_EVENTS", docs)
    if "CGM_ALERTS" in features:
        docs = pump_events.cgm_alert_documents(by_type.get(R.CgmAlert, []), ctx)
        codes = set(tandemsource.CGM_ALERT_FAMILIES)
        if "PUMP_EVENTS" not in features:
            docs += pump_events.session_documents(by_type.get(R.CgmSession, []), ctx, "CGM_ALERTS")
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
    result.skipped = ctx.skipped
    result.merged = ctx.merged
    result.open_at_end = ctx.open
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


# --------------------------------------------------------------------------------------- BOLUS

def bolus_owner(b):
    """The instant that decides which chunk a bolus belongs to: its document's time (delivery
    completed, or the extended part started), else when it was first logged."""
    if b.extended_only:
        return b.extended_end
    return bolus_time(b) or b.request_time


def bolus_documents(boluses, ctx):
    """Combo Boluses (``bolus.combo_bolus``); a bolus this chunk cannot decide alone is a Spanning:
    one whose request an earlier chunk read (carbs and BG unknown here), or whose extended part
    still runs (merged with Nightscout's, so a re-run of this chunk never undoes later news), or
    whose extended part completes after an earlier chunk wrote the bolus (CLOSE_EXTENDED)."""
    docs = []
    for b in boluses:
        ident = identifier(ctx.serial, "bolus", b.request_id)
        if b.extended_only:
            facts = dict(delivered=b.extended_delivered, status=b.extended_status, key=b.event_keys[0])
            docs.append(Spanning("BOLUS", b.extended_end, Key(identifier=ident), Rule.CLOSE_EXTENDED, facts=facts,
                                 missing=Skip("bolus-orphan", "extended part of bolus %s completed %s: the bolus itself "
                                              "is neither in this window nor in Nightscout"
                                              % (b.request_id, ctx.local(b.extended_end)))))
            continue
        doc, skip = combo_bolus(b, ctx.serial, ctx.tz, now=ctx.now)
        if doc is None:
            ctx.skip("BOLUS", skip.key, skip, at=bolus_owner(b))
            continue
        running = b.extended and not b.extended_complete
        if running:
            ctx.open_at_end(bolus_owner(b))
        if not b.request_seen or running:
            docs.append(Spanning("BOLUS", bolus_owner(b), Key(identifier=ident), Rule.GROWING_BOLUS, doc=doc,
                                 facts=dict(request_seen=b.request_seen)))
        else:
            docs.append(doc)
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
