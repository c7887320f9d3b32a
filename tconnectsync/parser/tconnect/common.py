"""What every legacy t:connect format shares: the source names, the value readers, the DST
helpers and the source-neutral bolus builder.

Value readers raise ``_Bad`` (one record cannot be read; the message says why); the format modules
turn it into a ``ParseWarning`` naming the record. Times: a naive wall-clock string becomes a UTC
instant with ``timeutil``; a time that can mean two instants (the repeated hour of a fall-back
night) is read against an anchor (``_at_or_after``, ``_nearest``).
"""
import html
import json
import math

from ... import timeutil
from ...errors import TandemFormatError
from ..records import Bolus

CIQ = "Control:IQ therapytimeline"
CSV = "ws2 therapytimeline2csv"
SUSPENSION = "ws2 basalsuspension"
EVENTS = "therapy events"

NO_TIME = "0001-01-01T00:00:00"          # .NET DateTime.MinValue: "not applicable"


class _Bad(ValueError):
    """One record cannot be read; the message says why."""


# ---------------------------------------------------------------------------------------------
# value helpers (shared by all formats)

def _excerpt(value, limit=100):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _finite(value):
    try:
        return math.isfinite(value)
    except OverflowError:                  # an int too large for a float
        return False


def _number(value, name):
    """A finite float from a JSON number or a numeric string; _Bad otherwise."""
    if isinstance(value, bool) or value is None:
        raise _Bad("%s is %s, not a number" % (name, _excerpt(value)))
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _Bad("%s %r is not a number" % (name, value)) from None
    if not isinstance(value, (int, float)):
        raise _Bad("%s is %s, not a number" % (name, _excerpt(value)))
    if not _finite(value):
        raise _Bad("%s is %r" % (name, value))
    return float(value)


def _optional_number(value, name):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _number(value, name)


def _integer(value, name):
    number = _number(value, name)
    if number != int(number):
        raise _Bad("%s %r is not a whole number" % (name, value))
    return int(number)


def _request_id(value):
    """``7001.000`` / ``7001`` -> ``'7001'`` (the same key in both bolus sources)."""
    if isinstance(value, str) and not value.strip():
        raise _Bad("BolusRequestID is empty")
    return str(_integer(value, "BolusRequestID"))


def _flag(value, name):
    """``'1'``/``1`` -> True, ``'0'``/``0`` -> False, empty/absent -> None."""
    number = _optional_number(value, name)
    return None if number is None else number == 1


def _text(value, name, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Bad("%s is %s, not text" % (name, _excerpt(value)))
    return html.unescape(value).strip()


def _naive(value, name, required=True):
    """A naive pump time; None for empty / ``0001-01-01T00:00:00`` unless required."""
    if value is None or (isinstance(value, str) and value.strip() in ("", NO_TIME)):
        if required:
            raise _Bad("%s is missing" % name)
        return None
    try:
        return timeutil.parse_naive(value)
    except ValueError:
        raise _Bad("%s %s is not a pump time" % (name, _excerpt(value))) from None


def _pseudo_epoch(value, name, tz):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        raise _Bad("%s is %s, not a number" % (name, _excerpt(value)))
    try:
        return timeutil.decode_pseudo_epoch(value, tz)
    except (ValueError, OverflowError, OSError):
        raise _Bad("%s %r is out of range" % (name, value)) from None


def _candidates(naive, tz):
    """The UTC instants a wall time can mean: two inside a repeated hour, else one."""
    first = timeutil.localize(naive, tz)
    second = timeutil.localize(naive, tz, second=True)
    return [first] if first == second else [first, second]


def _at_or_after(naive, tz, anchor):
    """The earliest reading of ``naive`` not before ``anchor`` (the latest if all are before)."""
    if naive is None:
        return None
    options = _candidates(naive, tz)
    if anchor is None:
        return options[0]
    later = [c for c in options if c >= anchor]
    return later[0] if later else options[-1]


def _nearest(naive, tz, anchor):
    options = _candidates(naive, tz)
    return min(options, key=lambda c: abs((c - anchor).total_seconds()))


def _list(container, key, source, prefix):
    """``container[key]`` as a list: absent or null -> []; another type -> TandemFormatError."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TandemFormatError("%s: field '%s%s' is %s, not a list; Tandem may have changed this "
                                "API." % (source, prefix, key, type(value).__name__))
    return value


# ---------------------------------------------------------------------------------------------
# Boluses (both sources)

def _bolus_values(fields):
    """Source-neutral bolus ``fields`` (values as sent, times naive) converted; _Bad if one is
    unreadable. Times stay naive until ``_bolus`` knows the request instant."""
    description, options = fields["description"], fields["options"]
    bg = _optional_number(fields["bg"], "BG")
    return dict(
        request_id=fields["request_id"],
        description=description,
        options=options,
        automatic="Automatic" in options or "Automatic" in description,
        total_requested=_number(fields["total_requested"], "ActualTotalBolusRequested"),
        carbs=_integer(fields["carbs"], "CarbSize"),
        bg=None if bg is None else _integer(bg, "BG"),
        user_override=bool(_flag(fields["user_override"], "UserOverride")),
        delivered=_number(fields["delivered"], "InsulinDelivered"),
        status=fields["status"] or "",
        complete=bool(_flag(fields["complete"], "BolusIsComplete")),
        extended="extended" in description.lower(),
        extended_requested=_optional_number(fields["ext_size"], "BolexSize"),
        extended_delivered=_optional_number(fields["ext_delivered"], "BolexInsulinDelivered"),
        extended_status=fields["ext_status"] or None,
        extended_complete=_flag(fields["ext_complete"], "ExtendedBolusIsComplete"),
        duration_min=_optional_number(fields["duration"], "Duration"),
        standard_percent=_optional_number(fields["standard_percent"], "StandardPercent"),
    )


def _bolus(fields, values, request_time, tz):
    """The Bolus: each later time is the reading at or after the time before it."""
    completion = _at_or_after(fields["completion"], tz, request_time)
    ext_start = _at_or_after(fields["ext_start"], tz, completion or request_time)
    ext_end = _at_or_after(fields["ext_end"], tz, ext_start or completion or request_time)
    return Bolus(request_time=request_time, completion_time=completion, extended_start=ext_start,
                 extended_end=ext_end, **values)
