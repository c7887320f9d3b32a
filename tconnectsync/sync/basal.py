"""BASAL: delivery segments and suspensions -> Nightscout ``Temp Basal`` treatments.

One document per delivery segment, keyed by its start. Suspensions without a segment of their
own become zero-rate segments lasting until delivery resumes (the next segment), cut at the
pump-local midnight (where Tandem cuts every segment) and at the time the data is known to
reach. So nothing overlaps, a running segment grows in place, and a re-run of any window gives
the same documents.
"""
import datetime as dt
import logging

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
    if data.segments:
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
            if end <= m.time:
                tally.skip("basal-instant", "%s suspension at %s: delivery resumed within the second"
                           % (m.reason, m.time.isoformat()))
                continue
            # A suspension that started inside a segment cuts it (delivery stopped).
            out.append((m.time, end, 0.0, "%s suspension" % m.reason))
        for s in seg_list:
            reason = KIND_REASON[s.kind]
            if s.start in suspended_at:
                reason = "%s (%s suspension)" % (reason, suspended_at[s.start])
            out.append((s.start, s.start + dt.timedelta(seconds=s.duration_s), s.rate, reason))
    elif data.csv_basal:
        rows = sorted(data.csv_basal, key=lambda r: r.time)
        for i, r in enumerate(rows):
            nxt = rows[i + 1].time if i + 1 < len(rows) else None
            end = min(x for x in (nxt, end_of_pump_day(r.time, tz), until) if x is not None)
            if end <= r.time:
                tally.skip("basal-instant", "CSV basal rate at %s: replaced within the second" % r.time.isoformat())
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
    """The basal records of a chunk: Control:IQ segments and suspensions, or the CSV's rates."""
    if data.segments:
        return len(data.segments) + len(data.suspensions)
    return len(data.csv_basal)


def documents(data, serial, tz, tally=None):
    docs = []
    for start, end, rate, reason in build_segments(data, tz, tally):
        duration = minutes((end - start).total_seconds())
        docs.append(treatment("Temp Basal", start, tz, identifier(serial, "basal", epoch(start)),
                              duration=duration, absolute=float(rate), rate=float(rate), reason=reason))
    return docs
