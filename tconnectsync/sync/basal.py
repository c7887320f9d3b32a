"""BASAL: delivery segments and suspensions -> Nightscout ``Temp Basal`` treatments (both backends).

t:connect (``documents``): one document per delivery segment, keyed by its start. Suspensions without a segment of their
own become zero-rate segments lasting until delivery resumes (the next segment), cut at the
pump-local midnight (where Tandem cuts every segment) and at the time the data is known to
reach. A suspension still active at midnight is repeated at 00:00 (``continuation``) and that
repeat starts the next day's zero-rate segment, also in a chunk that holds no delivery segment at
all (suspended all the time it covers). So nothing overlaps, a running segment grows in place, and
a re-run of any window, in any chunks, gives the same documents.

Tandem Source (``delivery_documents``): one document per 279 delivery row (suspensions 0 U/h),
keyed by its sequence number, lasting until the next row (or a suspension/resume without a row
of its own), the last one until the data ends (``ChunkContext.until``).
"""
import datetime as dt
import logging

from ..parser.tandemsource import records as R
from .documents import end_of_pump_day, epoch, identifier, minutes, treatment
from .skips import Skip

logger = logging.getLogger(__name__)

KIND_REASON = {"profile": "profileDelivery", "temp": "tempDelivery", "algorithm": "algorithmDelivery",
               "csv": "Unknown"}


def build_segments(data, tz, tally=None, quiet=False):
    """(start, end, rate, reason) tuples, sorted and non-overlapping, for one chunk.

    ``tally`` (a ``Tally``), if given, learns what became of each record read: a suspension
    that starts a segment is merged into it; records that give no segment are skipped."""
    tally = tally if tally is not None else Tally()
    until = data.data_until
    out = []
    # Control:IQ's segments and suspensions, whichever the chunk has: a chunk may hold only
    # suspensions (delivery suspended all its time, e.g. a 00:00 repeat up to the data's end).
    if data.segments or data.suspensions:
        segments = sorted(data.segments, key=lambda s: (s.start, s.kind))
        starts = {}
        for s in segments:
            if s.start in starts and quiet:
                continue
            if s.start in starts:
                logger.warning("Two basal segments start at %s (%s and %s); keeping the first",
                               s.start.isoformat(), starts[s.start].kind, s.kind)
                tally.skip("basal-duplicate", "basal segment at %s (%s): another starts at the same time"
                           % (s.start.isoformat(), s.kind))
                continue
            starts[s.start] = s
        marks = sorted(data.suspensions, key=lambda m: m.time)
        seg_list = sorted(starts.values(), key=lambda s: s.start)
        seg_starts = [s.start for s in seg_list]
        suspended_at = {}
        for m in marks:
            match = _near(seg_starts, m.time)
            if match is not None:
                suspended_at[match] = m.reason
                tally.merged += 1               # the segment starting then says it
                continue
            nxt = next((t for t in seg_starts if t > m.time), None)
            end = min(x for x in (nxt, end_of_pump_day(m.time, tz), until) if x is not None)
            if end <= m.time:                   # the next segment and midnight lie after it: the data ends here
                tally.skip("basal-pending", "%s suspension at %s: at the end of the data, no duration yet"
                           % (m.reason, m.time.isoformat()))
                continue
            # A suspension that started inside a segment cuts it (delivery stopped).
            out.append((m.time, end, 0.0, "%s suspension" % m.reason))
        for s in seg_list:
            reason = KIND_REASON[s.kind]
            if s.start in suspended_at:
                reason = "%s (%s suspension)" % (reason, suspended_at[s.start])
            out.append((s.start, s.start + dt.timedelta(seconds=s.duration_s), s.rate, reason))
    if data.csv_basal and not data.segments:      # pre-Control-IQ rates (ws2 CSV)
        rows = sorted(data.csv_basal, key=lambda r: r.time)
        for i, r in enumerate(rows):
            nxt = rows[i + 1].time if i + 1 < len(rows) else None
            end = min(x for x in (nxt, end_of_pump_day(r.time, tz), until) if x is not None)
            if nxt is not None and nxt <= r.time:
                tally.skip("basal-instant", "CSV basal rate at %s: replaced within the second" % r.time.isoformat())
                continue
            if end <= r.time:
                tally.skip("basal-pending", "CSV basal rate at %s: at the end of the data, no duration yet"
                           % r.time.isoformat())
                continue
            out.append((r.time, end, r.rate, "Unknown"))
    out.sort(key=lambda t: t[0])
    # No overlaps: an item that starts inside the previous one cuts it short.
    cleaned = []
    for item in out:
        if cleaned and item[0] < cleaned[-1][1]:
            prev = cleaned[-1]
            if item[0] == prev[0]:
                tally.skip("basal-instant", "basal at %s (%s): another segment starts at the same time"
                           % (item[0].isoformat(), item[3]))
                continue
            cleaned[-1] = (prev[0], item[0], prev[2], prev[3])
        cleaned.append(item)
    return cleaned


def _near(sorted_times, t):
    """The first of ``sorted_times`` within a second of ``t`` (a record and its row share the second)."""
    for s in sorted_times:
        if abs((s - t).total_seconds()) <= 1:
            return s
    return None


class Tally:
    """What became of the records a legacy mapper read, other than its documents."""

    def __init__(self):
        self.merged = 0
        self.skipped = []

    def skip(self, key, text):
        self.skipped.append(Skip(key, text))


def records_read(data):
    """The basal records of a chunk: Control:IQ segments and suspensions, and the CSV's rates
    when Control:IQ has no segments (what ``build_segments`` reads)."""
    return len(data.segments) + len(data.suspensions) + (0 if data.segments else len(data.csv_basal))


def temp_basal(start, end, rate, reason, tz, ident, **extra):
    """The ``Temp Basal`` of a segment: ``rate`` (U/h) from ``start`` to ``end`` (aware)."""
    return treatment("Temp Basal", start, tz, ident, duration=minutes((end - start).total_seconds()),
                     absolute=float(rate), rate=float(rate), reason=reason, **extra)


def documents(data, serial, tz, tally=None):
    docs = []
    for start, end, rate, reason in build_segments(data, tz, tally):
        docs.append(temp_basal(start, end, rate, reason, tz, identifier(serial, "basal", epoch(start))))
    return docs


def delivery_documents(records, ctx):
    """Tandem Source: ``Temp Basal`` segments from 279 rows, plus 11/12 that have no row of their own."""
    rows = [r for r in records if isinstance(r, R.BasalDelivery)]
    row_times = sorted(r.time for r in rows)
    marks = []                                          # (time, seq, rate or None, reason, record)
    for r in rows:
        marks.append((r.time, r.seq, r.rate, r.rate_source_name or None, r))
    for r in records:
        if not isinstance(r, (R.PumpSuspended, R.PumpResumed)):
            continue
        if _near(row_times, r.time) is not None:
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
        if i + 1 < len(marks):
            end = min(marks[i + 1][0], ctx.until)
        else:
            end = ctx.until
            ctx.open_at_end(start)                      # its end is the data's: more data may move it
        if end <= start:
            if i + 1 < len(marks) and marks[i + 1][0] <= start:
                ctx.skip("BASAL", "basal-instant", "basal event %d seq %s at %s: replaced within the same second"
                         % (rec.code, rec.key, ctx.local(start)), at=start)
            else:                               # the newest, at the data's end: a later run has its duration
                ctx.skip("BASAL", "basal-pending", "basal event %d seq %s at %s: at the end of the data, no "
                         "duration yet" % (rec.code, rec.key, ctx.local(start)), at=start)
            continue
        kind = "basal-delivery" if isinstance(rec, R.BasalDelivery) else "basal-suspension"
        docs.append(temp_basal(start, end, rate, reason, ctx.tz, identifier(ctx.serial, kind, rec.key),
                               pump_event_id=rec.key))
    return docs
