"""ws2 JSONP: the ``cb(...)`` wrapper, and the ``basalsuspension`` answer inside it -> pump events."""
import json
import re

from ...errors import TandemFormatError
from ..records import ParseWarning, PumpEvent
from .common import SUSPENSION, _Bad, _excerpt, _list, _pseudo_epoch


def parse_jsonp(text, callback="cb"):
    """The JSON inside ``cb(...)`` (whitespace and a trailing ``;`` tolerated)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise TandemFormatError("ws2: expected a JSONP text, got %s." % type(text).__name__)
    match = re.match(r"\s*%s\s*\((.*)\)\s*;?\s*\Z" % re.escape(callback), text, re.DOTALL)
    if not match:
        raise TandemFormatError("ws2: the answer is not JSONP of the form %s(...) (it starts %r); "
                                "Tandem may have changed this API." % (callback, text[:40]))
    try:
        return json.loads(match.group(1))
    except ValueError as err:
        raise TandemFormatError("ws2: the JSONP body is not valid JSON (%s)." % err) from None


_NET_DATE = re.compile(r"\s*/Date\((-?\d+)(?:[+-]\d{4})?\)/\s*\Z")


def parse_basalsuspension(obj, tz):
    """ws2 ``basalsuspension`` JSON (after ``parse_jsonp``) -> (PumpEvents, warnings)."""
    if not isinstance(obj, dict) or "BasalSuspension" not in obj:
        raise TandemFormatError("%s: field 'BasalSuspension' is missing; Tandem may have changed "
                                "this API." % SUSPENSION)
    events, warnings = [], []
    for i, row in enumerate(_list(obj, "BasalSuspension", SUSPENSION, "")):
        try:
            if not isinstance(row, dict):
                raise _Bad("not an object")
            stamp = row.get("EventDateTime")
            match = _NET_DATE.match(stamp) if isinstance(stamp, str) else None
            if not match:
                raise _Bad("EventDateTime %s is not /Date(<ms>-0000)/" % _excerpt(stamp))
            time = _pseudo_epoch(int(match.group(1)), "EventDateTime", tz)
            reason = row.get("SuspendReason")
            if not isinstance(reason, str) or not reason.strip():
                raise _Bad("SuspendReason is %s" % _excerpt(reason))
        except _Bad as err:
            warnings.append(ParseWarning(SUSPENSION, "BasalSuspension[%d] %s" % (i, _excerpt(row)),
                                         str(err)))
            continue
        reason = reason.strip()
        continuation = reason == "previous" or row.get("Continuation") not in (None, "")
        events.append(PumpEvent(time=time, reason=reason, continuation=continuation))
    events.sort(key=lambda e: e.time)
    return events, warnings
