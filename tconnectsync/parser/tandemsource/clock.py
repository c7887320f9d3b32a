"""Pump wall-clock times of Tandem Source events -> UTC instants, honouring the pump's clock changes.

The pump clock is a zone-less wall clock the user sets by hand; it does not follow DST by itself
(docs/tandem-source.md §8). Its reading is "the time in TIMEZONE_NAME" only as far as the user keeps it so.
The pump logs every change of its clock: event 13 (time) and 14 (date), delivered in the
``clockChanges`` list (the whole history) or inline in the binary stream. So:

* Without any usable clock change, every wall time is read in TIMEZONE_NAME
  (``timeutil.localize_sequence`` over the events in sequence order: the repeated hour of a
  fall-back night is the first occurrence until the wall clock is seen to step back).
* With clock changes, the offset between the pump clock and UTC is constant between two changes.
  The newest change is anchored to TIMEZONE_NAME (TIMEZONE_NAME is the zone the pump is set to
  *now*; right after the user sets the clock it reads that zone's time); every earlier stretch's
  offset follows from the size of the change that ended it. A user who moves the clock back at
  08:00 instead of 02:00 on a fall-back day, or corrects a clock that ran an hour fast, gets every
  event at its real instant, and times stay in sequence order (no negative durations).

Payload units of 13/14 are undocumented (docs/tandem-source.md §9). A change is used only when one reading
of its payload agrees with the event's own time stamp (which may be the time before or after the
change): 13 as milliseconds or seconds after midnight, or Tandem-epoch seconds; 14 as days since
2008-01-01, or Tandem-epoch seconds. Otherwise it is reported and ignored.
"""
import bisect
import datetime as dt

from ... import timeutil
from ..records import ParseWarning
from .events import TANDEM_EPOCH, event_name

UTC = dt.timezone.utc
CLOCK_CODES = (13, 14)
MATCH_S = 120                    # the event's own time is within 2 min of one side of the change


def _tod(wall):
    return wall.replace(hour=0, minute=0, second=0, microsecond=0)


def _candidates(raw):
    """(prior_wall, after_wall) for each plausible reading of a clock-change payload."""
    f = raw.fields
    midnight = _tod(raw.wall)
    out = []
    if raw.code == 13:
        prior, after = f.get("TimePrior"), f.get("TimeAfter")
        if not isinstance(prior, int) or not isinstance(after, int):
            return out
        for scale in (1000.0, 1.0):                     # ms, then s after midnight
            if max(prior, after) / scale < 86400 + 1:
                out.append((midnight + dt.timedelta(seconds=prior / scale),
                            midnight + dt.timedelta(seconds=after / scale)))
        out.append((TANDEM_EPOCH + dt.timedelta(seconds=prior), TANDEM_EPOCH + dt.timedelta(seconds=after)))
    elif raw.code == 14:
        prior, after = f.get("DatePrior"), f.get("DateAfter")
        if not isinstance(prior, int) or not isinstance(after, int):
            return out
        if max(prior, after) < 100000:                  # days since 2008-01-01
            time_of_day = raw.wall - midnight
            out.append((TANDEM_EPOCH + dt.timedelta(days=prior) + time_of_day,
                        TANDEM_EPOCH + dt.timedelta(days=after) + time_of_day))
        out.append((TANDEM_EPOCH + dt.timedelta(seconds=prior), TANDEM_EPOCH + dt.timedelta(seconds=after)))
    return out


def read_change(raw):
    """(delta_s, prior_wall, after_wall) of a clock-change event, or None if it cannot be read."""
    for prior, after in _candidates(raw):
        near = lambda t: abs((raw.wall - t).total_seconds()) <= MATCH_S  # noqa: E731
        if near(prior) or near(after):
            return (after - prior).total_seconds(), prior, after
    return None


def zone_offset(naive, tz, back=False):
    """The UTC offset of wall time ``naive`` in ``tz``; ``back`` picks the second occurrence of a
    repeated wall time (the clock was just set back into it)."""
    return timeutil.local_aware(naive, tz, second=back).utcoffset()


def resolve(raws, tz, changes=()):
    """UTC instants for ``raws`` (sorted by sequence), plus ``{(group, seq): (delta, prior, after)}``
    of the usable clock changes and the warnings for unusable ones.

    ``changes`` are extra raw clock-change events (the ``clockChanges`` list); events 13/14 among
    ``raws`` count as well.
    """
    warnings = []
    found = {}
    for raw in list(changes) + [r for r in raws if r.code in CLOCK_CODES]:
        key = (raw.group, raw.seq)
        if key in found or raw.code not in CLOCK_CODES:
            continue
        reading = read_change(raw)
        if reading is None:
            found[key] = None
            warnings.append(ParseWarning("Tandem pump clock", event_name(raw.code, raw.seq, raw.wall, raw.group),
                                         "clock change %s does not match the event's own time; not used"
                                         % {k: v for k, v in sorted(raw.fields.items()) if k != "RawRTCTime"}))
        elif reading[0] == 0:
            found[key] = None                           # set to the same time: nothing changed
        else:
            found[key] = reading
    usable = sorted((k, v) for k, v in found.items() if v is not None)
    if not usable:
        return timeutil.localize_sequence([r.wall for r in raws], tz), {}, warnings
    keys = [k for k, _ in usable]
    # offsets[i]: pump clock minus UTC for events before change i (i = len: after the newest)
    delta, _, after = usable[-1][1]
    offsets = [None] * (len(usable) + 1)
    offsets[-1] = zone_offset(after, tz, back=delta < 0)
    for i in range(len(usable) - 1, -1, -1):
        offsets[i] = offsets[i + 1] - dt.timedelta(seconds=usable[i][1][0])
    readings = dict(usable)
    out = []
    for raw in raws:
        key = (raw.group, raw.seq)
        if key in readings:                             # the change itself: its "after" reading
            i = bisect.bisect_right(keys, key)
            out.append((readings[key][2] - offsets[i]).replace(tzinfo=UTC))
            continue
        i = bisect.bisect_left(keys, key)
        out.append((raw.wall - offsets[i]).replace(tzinfo=UTC))
    return out, readings, warnings
