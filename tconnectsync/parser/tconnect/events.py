"""Therapy-events JSON (Control:IQ ``therapy_events``) -> boluses and readings, in event order."""
from ... import timeutil
from ...errors import TandemFormatError
from ..records import ParseWarning, Reading
from .common import (EVENTS, _Bad, _bolus, _bolus_values, _excerpt, _integer, _list, _naive, _nearest,
                     _request_id, _text)


def _sub(obj, key):
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad("%s is %s, not an object" % (key, _excerpt(value)))
    return value


def _event_bolus_fields(event):
    standard = _sub(event, "standard")
    if not standard:
        raise _Bad("standard is missing")
    delivered = _sub(standard, "insulinDelivered")
    if not delivered:
        raise _Bad("standard.insulinDelivered is missing (no delivery recorded yet)")
    bolex = _sub(event, "bolex")
    bolex_delivered = _sub(bolex, "insulinDelivered")
    return {
        "request_id": _request_id(standard.get("bolusRequestId")),
        "request": _naive(event.get("requestDateTime"), "requestDateTime", required=False),
        "description": _text(event.get("description"), "description"),
        "options": _text(event.get("bolusRequestOptions"), "bolusRequestOptions"),
        "total_requested": event.get("actualTotalBolusRequested"),
        "carbs": event.get("carbSize"), "bg": event.get("bg"),
        "user_override": event.get("userOverride"),
        "completion": _naive(delivered.get("completionDateTime"), "completionDateTime",
                             required=False),
        "delivered": delivered.get("value"),
        "status": _text(standard.get("completionStatusDesc"), "completionStatusDesc",
                        required=False),
        "complete": standard.get("bolusIsComplete"),
        "ext_size": bolex.get("size"),
        "ext_start": _naive(bolex.get("bolexStartDateTime"), "bolexStartDateTime", required=False),
        "ext_end": _naive(bolex_delivered.get("completionDateTime"), "bolex completionDateTime",
                          required=False),
        "ext_delivered": bolex_delivered.get("value"),
        "ext_status": _text(bolex.get("completionStatusDesc"), "bolex completionStatusDesc",
                            required=False),
        "ext_complete": bolex.get("extendedBolusIsComplete"),
        "duration": event.get("duration"), "standard_percent": event.get("standardPercent"),
    }


def _event_name(i, event):
    if not isinstance(event, dict):
        return "event[%d] %s" % (i, _excerpt(event))
    keys = [("type", event.get("type")), ("eventDateTime", event.get("eventDateTime"))]
    rid = event.get("standard", {}).get("bolusRequestId") if isinstance(
        event.get("standard"), dict) else None
    if rid is not None:
        keys.append(("bolusRequestId", rid))
    return "event[%d] (%s)" % (i, ", ".join("%s %s" % (k, _excerpt(v, 40)) for k, v in keys))


def parse_therapy_events(obj, tz):
    """Therapy-events JSON -> (boluses, readings, warnings), each list in event order."""
    if not isinstance(obj, dict) or "event" not in obj:
        raise TandemFormatError("%s: field 'event' is missing; Tandem may have changed this API."
                                % EVENTS)
    events = _list(obj, "event", EVENTS, "")
    warnings, naives = [], []
    for event in events:
        try:
            naives.append(_naive(event.get("eventDateTime"), "eventDateTime"))
        except (_Bad, AttributeError):
            naives.append(None)
    instants = timeutil.localize_sequence(naives, tz)

    boluses, readings = [], []
    for i, (event, at) in enumerate(zip(events, instants)):
        kind = event.get("type") if isinstance(event, dict) else None
        try:
            if not isinstance(event, dict):
                raise _Bad("not an object")
            if kind == "Basal":
                continue                              # known type, not used (basal: Control:IQ)
            if kind not in ("Bolus", "CGM", "BG"):
                raise _Bad("unknown event type %s" % (repr(kind) if isinstance(kind, str)
                                                      else _excerpt(kind)))
            if at is None:
                _naive(event.get("eventDateTime"), "eventDateTime")     # raises with the reason
            if kind == "CGM":
                egv = _sub(event, "egv")
                readings.append(Reading(time=at, kind="EGV", value=_integer(
                    egv.get("estimatedGlucoseValue"), "egv.estimatedGlucoseValue")))
            elif kind == "BG":
                readings.append(Reading(time=at, kind="BG", value=_integer(event.get("bg"), "bg")))
            else:
                fields = _event_bolus_fields(event)
                request = fields["request"]
                request_time = at if request is None else _nearest(request, tz, at)
                boluses.append(_bolus(fields, _bolus_values(fields), request_time, tz))
        except _Bad as err:
            warnings.append(ParseWarning(EVENTS, _event_name(i, event), str(err)))
    return boluses, readings, warnings
