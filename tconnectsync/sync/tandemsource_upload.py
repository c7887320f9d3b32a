"""What the Tandem Source mapping cannot decide alone, as data for the engine.

``Partial``: a treatment to merge with the document Nightscout holds (a Sleep whose start an
earlier sync wrote, the extended part of a bolus requested before the data read, a mode or
extended bolus still running at the data's end that must not undo later news): a key (``find``)
and a merge rule (``merge``). ``new_entries``: CGM readings Nightscout does not hold yet. The
engine runs both (``engine_steps``); nothing here reads or writes Nightscout.
"""
import bisect
import dataclasses
import datetime as dt
import logging
from typing import Callable, Optional

from .. import timeutil

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


# ------------------------------------------------------------------------------------- entries

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
