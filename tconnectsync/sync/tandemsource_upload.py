"""The engine-side steps of the Tandem Source mapping that need to read Nightscout first.

``tandemsource_docs.source_documents`` stays pure; what it cannot decide alone it hands the engine
as ``ChunkResult.extra`` callables ``(engine, summary)`` built here:

* ``partials_handler``: documents that continue one an earlier chunk synced (a Sleep whose start
  was in the previous window, the extended part of a bolus requested yesterday) or that must not
  undo a later chunk's news (a mode or extended bolus still running at this chunk's end). Each
  ``Partial`` finds its stored document and merges; the result goes through ``engine._apply``
  like any treatment (identifier upsert, counted per feature).
* ``entries_handler``: CGM readings as ``entries`` (sgv), after reading what Nightscout already
  holds for their time range, so neither our readings nor another uploader's are doubled or
  overwritten.

(The profile step is ``tandemsource_profiles.profiles_handler``.)
"""
import bisect
import dataclasses
import datetime as dt
import logging
from typing import Callable, Optional

from .. import timeutil
from ..errors import NightscoutError

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
LOOKBACK = dt.timedelta(days=3)            # how far back a continued document may have started
SAME_READING_MS = 30 * 1000                # an existing sgv this close is the same reading
_SERVER_FIELDS = ("_id", "mills", "utcOffset")


def instant(doc):
    try:
        return timeutil.parse_iso_utc(doc["created_at"])
    except (KeyError, ValueError, AttributeError, TypeError):
        return None


def _counts(summary, feature):
    return summary.feature(feature)


# ------------------------------------------------------------------------------------ partials

@dataclasses.dataclass
class Partial:
    """A treatment to merge with what Nightscout holds: ``find(stored docs)`` picks the stored
    document (or None), ``merge(stored)`` returns the document to write (or None: nothing).

    Accounting: the Partials of one ``group`` (default: each its own) are one record read.
    Its first document written is that record's outcome (created/updated/unchanged); when
    none is written it is ``missing`` (a ``skips.Skip``) if nothing stored was found, else
    unchanged (Nightscout already says it). ``counted=False``: the record is counted elsewhere
    (e.g. merged into a document of this chunk); its documents here are extra."""
    feature: str
    time: dt.datetime
    merge: Callable[[Optional[dict]], Optional[dict]]
    find: Callable[[list], Optional[dict]]
    group: object = None
    counted: bool = True
    missing: object = None


def by_identifier(ident):
    def find(stored):
        return next((d for d in stored if d.get("identifier") == ident), None)
    return find


def newest_running(event_type, before, marker):
    """The newest of our ``event_type`` documents before ``before`` whose reason says it runs."""
    def find(stored):
        candidates = [d for d in stored if d.get("eventType") == event_type and d.get("identifier")
                      and str(d.get("reason", "")).endswith(marker) and instant(d) is not None
                      and instant(d) < before]
        return max(candidates, key=instant, default=None)
    return find


def partials_handler(partials):
    def run(engine, summary):
        ns = engine.clients.nightscout
        lo = min(p.time for p in partials) - LOOKBACK
        hi = max(p.time for p in partials) + dt.timedelta(seconds=1)
        stored = ns.treatments(lo, hi)
        desired, uncounted, groups = [], set(), {}
        for p in partials:
            groups.setdefault(id(p) if p.group is None else p.group, []).append(p)
        for members in groups.values():
            counted = any(p.counted for p in members)
            found, wrote = False, False
            for p in members:
                match = p.find(stored)
                found = found or match is not None
                doc = p.merge(match)
                if doc is None:
                    continue
                doc = {k: v for k, v in doc.items() if k not in _SERVER_FIELDS}
                if wrote or not counted:
                    uncounted.add(doc["identifier"])
                wrote = True
                desired.append((p.feature, doc))
            if counted and not wrote:
                missing = next((p.missing for p in members if p.missing is not None), None)
                if missing is not None and not found:
                    summary.skip(members[0].feature, missing)
                else:
                    summary.feature(members[0].feature).unchanged += 1     # Nightscout already says it
        engine._apply(desired, summary, uncounted=uncounted)
    run.partials = partials                     # for inspection (tests, --pretend listings)
    return run


# ------------------------------------------------------------------------------------- entries

def read_entries(ns, lo_ms, hi_ms):
    """Every sgv entry (any device) with ``lo_ms <= date <= hi_ms``, in one request."""
    params = [("find[date][$gte]", str(int(lo_ms))), ("find[date][$lte]", str(int(hi_ms))),
              ("find[type]", "sgv"), ("count", "1000000")]
    body = ns._call("GET", "api/v1/entries.json", "reading CGM entries", params=params)
    if not isinstance(body, list):
        raise NightscoutError("Nightscout answered reading CGM entries with %s instead of a list."
                              % type(body).__name__)
    return [e for e in body if isinstance(e, dict)]


def _entry_ms(entry):
    value = entry.get("date")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    for key in ("sysTime", "dateString"):
        if isinstance(entry.get(key), str):
            try:
                return timeutil.parse_iso_utc(entry[key]).timestamp() * 1000
            except ValueError:
                pass
    return None


def new_entries(entries, existing):
    """``entries`` without those Nightscout already holds (a sgv within SAME_READING_MS)."""
    have = sorted(ms for ms in (_entry_ms(e) for e in existing) if ms is not None)
    out = []
    for e in entries:
        i = bisect.bisect_left(have, e["date"] - SAME_READING_MS)
        if i < len(have) and have[i] <= e["date"] + SAME_READING_MS:
            continue
        out.append(e)
    return out


def entries_handler(entries):
    def run(engine, summary):
        counts = _counts(summary, "CGM")
        ns = engine.clients.nightscout
        existing = read_entries(ns, min(e["date"] for e in entries) - SAME_READING_MS,
                                max(e["date"] for e in entries) + SAME_READING_MS)
        fresh = new_entries(entries, existing)
        counts.unchanged += len(entries) - len(fresh)
        if not fresh:
            return
        if engine.pretend:
            summary.plan += [("create", "CGM", e) for e in fresh]
        else:
            size = getattr(ns, "batch_size", 1000)
            for i in range(0, len(fresh), size):
                batch = fresh[i:i + size]
                ns._call("POST", "api/v1/entries", "uploading %d CGM readings (%s to %s)"
                         % (len(batch), batch[0]["dateString"], batch[-1]["dateString"]), body=batch)
        counts.created += len(fresh)
    run.entries = entries
    return run
