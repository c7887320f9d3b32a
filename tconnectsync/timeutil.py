"""Pump wall-clock time to UTC instants.

Tandem pumps record their own wall-clock time; the legacy APIs expose it as naive ISO strings
(CSV, therapy events) or as "pseudo epochs" (the wall time read as if it were in
America/Los_Angeles, as Unix seconds or milliseconds). Nightscout wants UTC instants.

Naive strings cannot say which of the two repeated hours of a fall-back night they mean.
``localize_sequence`` resolves that from the order of the records: records come in event order,
so once the wall clock has stepped back inside the repeated hour, later records of that hour are
the second occurrence. With no such evidence the first occurrence is used.
"""
import datetime as dt

import pytz

UTC = dt.timezone.utc
TANDEM_SERVER_TZ = pytz.timezone("America/Los_Angeles")


def get_zone(name):
    """The pytz zone for ``name``; raises ``pytz.UnknownTimeZoneError`` for an unknown name."""
    return pytz.timezone(name)


def parse_naive(value):
    """Parse a naive ISO pump time ``YYYY-MM-DDTHH:MM:SS``; raises ValueError if malformed."""
    if not isinstance(value, str):
        raise ValueError("not a string: %r" % (value,))
    value = value.strip()
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        raise ValueError("expected a time without offset: %r" % value)
    return parsed


def is_ambiguous(naive, tz):
    """True when ``naive`` occurs twice in ``tz`` (the repeated hour of a fall-back night)."""
    try:
        tz.localize(naive, is_dst=None)
        return False
    except pytz.AmbiguousTimeError:
        return True
    except pytz.NonExistentTimeError:
        return False


def localize(naive, tz, second=False):
    """The UTC instant of pump wall time ``naive`` in ``tz``.

    ``second`` picks the second occurrence of an ambiguous (repeated) wall time. A wall time
    that does not exist (the spring-forward gap: the pump clock not yet moved on) is read with
    the offset in force before the change.
    """
    return local_aware(naive, tz, second).astimezone(UTC)


def local_aware(naive, tz, second=False):
    """Wall time ``naive`` in ``tz`` as an aware local datetime (its offset is the one in force
    then), with ``localize``'s rules for repeated and skipped wall times."""
    try:
        return tz.localize(naive, is_dst=None)
    except pytz.AmbiguousTimeError:
        return tz.localize(naive, is_dst=not second)
    except pytz.NonExistentTimeError:
        return tz.localize(naive, is_dst=False)


def localize_sequence(naives, tz):
    """UTC instants for wall times given in event order (see the module doc).

    ``naives`` may contain ``None`` (kept as ``None``).
    """
    out = []
    in_second = False          # we have seen the clock step back inside a repeated hour
    last_ambiguous = None
    for naive in naives:
        if naive is None:
            out.append(None)
            continue
        if is_ambiguous(naive, tz):
            if last_ambiguous is not None and naive.date() == last_ambiguous.date():
                if naive < last_ambiguous:
                    in_second = True
            else:
                in_second = False
            out.append(localize(naive, tz, second=in_second))
            last_ambiguous = naive
        else:
            if last_ambiguous is not None and naive > last_ambiguous + dt.timedelta(hours=2):
                last_ambiguous = None
                in_second = False
            out.append(localize(naive, tz))
    return out


def decode_pseudo_epoch(value, tz):
    """Decode a Control:IQ / ws2 pseudo epoch (seconds, or milliseconds if large) to UTC.

    The integer is a Unix time whose America/Los_Angeles wall-clock reading is the pump's
    wall-clock reading. The Los Angeles offset tells which occurrence of a repeated hour it is;
    that choice is carried over to ``tz``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number: %r" % (value,))
    seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
    la = dt.datetime.fromtimestamp(seconds, UTC).astimezone(TANDEM_SERVER_TZ)
    naive = la.replace(tzinfo=None)
    second = False
    if is_ambiguous(naive, TANDEM_SERVER_TZ):
        second = not bool(la.dst())
    return localize(naive, tz, second=second)


def encode_pseudo_epoch(naive, second=False):
    """The pseudo epoch (Unix seconds) for pump wall time ``naive`` (used by the sandbox)."""
    return int(localize(naive, TANDEM_SERVER_TZ, second=second).timestamp())


def to_wall(instant, tz):
    """The naive wall-clock reading of UTC ``instant`` in ``tz``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def iso_utc(instant):
    """``2021-10-20T11:44:05.000Z``: the form Nightscout stores, sortable as a string."""
    instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (instant.microsecond // 1000)


def parse_iso_utc(value):
    """Parse an ISO-8601 instant with offset or ``Z`` (as Nightscout answers) to aware UTC."""
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def day_bounds_utc(day, tz):
    """UTC instants of the start of ``day`` and of the day after, in pump wall time."""
    start = localize(dt.datetime.combine(day, dt.time()), tz)
    end = localize(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)
    return start, end


def split_days(start, end, days):
    """Consecutive inclusive (first, last) date ranges of at most ``days`` days covering [start, end]."""
    out = []
    first = start
    while first <= end:
        last = min(end, first + dt.timedelta(days=days - 1))
        out.append((first, last))
        first = last + dt.timedelta(days=1)
    return out
