"""The simulated pump's clock: pump wall time <-> UTC seconds, written for the sandbox alone.

The product reads pump times with its own code (``tconnectsync/timeutil.py``); the sandbox must
not share it, or a time bug in the product would be mirrored here and every test would pass. So
this module works differently: zones come from the standard library (``zoneinfo``), instants are
integer Unix seconds, and a wall time is resolved by trying the offsets in force around it.

A pump's clock is a wall clock that jumps. At the spring-forward change it jumps from 01:59:59
(America/New_York; 01:59:59 in Europe/Berlin) to 03:00:00, so the wall times in between never
appear on the pump; asked for one anyway, we read it with the offset in force *before* the jump
(the clock has not moved on yet). At the fall-back change it shows the repeated hour twice;
``second=True`` names the second showing.

A Tandem "pseudo epoch" (Control:IQ ``x``, ws2 ``/Date(...)/``) is the wall time read as if the
pump were in America/Los_Angeles, where Tandem's servers are.
"""
import datetime as dt
import functools
import zoneinfo

EPOCH = dt.datetime(1970, 1, 1)
TANDEM_SERVER_ZONE = "America/Los_Angeles"
_ONE_S = dt.timedelta(seconds=1)
_DAY_S = 86400


@functools.lru_cache(maxsize=64)
def zone(name):
    """The ``zoneinfo`` zone called ``name``; raises ``zoneinfo.ZoneInfoNotFoundError`` if unknown."""
    return zoneinfo.ZoneInfo(name)


def _zone(z):
    return zone(z) if isinstance(z, str) else z


def offset_s(ts, z):
    """The UTC offset (seconds) of zone ``z`` at UTC second ``ts`` (no ambiguity this way round)."""
    return int(dt.datetime.fromtimestamp(ts, _zone(z)).utcoffset().total_seconds())


def _as_utc_s(wall):
    """``wall`` (naive) read as if it were UTC, as whole seconds since the epoch."""
    return (wall - EPOCH) // _ONE_S


def occurrences(wall, z):
    """Every UTC second at which the pump's clock in ``z`` shows ``wall``, earliest first:
    one normally, two in the repeated hour of a fall-back night, none in a spring-forward gap."""
    z = _zone(z)
    w = _as_utc_s(wall)
    found = set()
    for probe in (w - _DAY_S, w, w + _DAY_S):
        candidate = w - offset_s(probe, z)
        if candidate + offset_s(candidate, z) == w:
            found.add(candidate)
    return sorted(found)


def utc_seconds(wall, z, second=False):
    """The UTC second at which the pump's clock in ``z`` shows naive ``wall``.

    ``second`` picks the second showing of a repeated wall time. A wall time inside a
    spring-forward gap is read with the offset before the jump.
    """
    z = _zone(z)
    found = occurrences(wall, z)
    if not found:
        w = _as_utc_s(wall)
        return w - offset_s(w - _DAY_S, z)
    return found[-1] if second else found[0]


def wall_of(ts, z):
    """(naive wall time the pump's clock in ``z`` shows at UTC second ``ts``, is it the second
    showing of that wall time?)."""
    z = _zone(z)
    wall = EPOCH + dt.timedelta(seconds=ts + offset_s(ts, z))
    found = occurrences(wall, z)
    return wall, len(found) > 1 and ts == found[-1]


def to_utc(ts):
    """The aware UTC datetime of UTC second ``ts``."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def pseudo_epoch(wall, second=False):
    """Tandem's pseudo epoch (Unix seconds) for pump wall time ``wall``: the wall time read in
    America/Los_Angeles (``second``: the second showing there, when Los Angeles repeats it)."""
    return utc_seconds(wall, TANDEM_SERVER_ZONE, second=second)


def today(zone_name, now=None):
    """The pump's calendar date in ``zone_name`` at aware ``now`` (default: the real now)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(zone(zone_name)).date()
