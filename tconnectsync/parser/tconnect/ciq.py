"""Control:IQ ``therapytimeline`` JSON -> basal segments, suspensions and activities."""
from ...errors import TandemFormatError
from ..records import Activity, BasalSegment, CiqTimeline, ParseWarning, SuspensionMark
from .common import CIQ, _Bad, _excerpt, _list, _number, _pseudo_epoch

ACTIVITY_KINDS = {1: "Sleep", 2: "Exercise", 3: "AutoBolus", 4: "CarbOnly"}
SEGMENT_LISTS = (("tempDeliveryEvents", "temp"), ("algorithmDeliveryEvents", "algorithm"),
                 ("profileDeliveryEvents", "profile"))


def parse_ciq_timeline(obj, tz):
    """Control:IQ ``therapytimeline`` JSON -> (CiqTimeline, warnings). Records sorted by time."""
    if not isinstance(obj, dict):
        raise TandemFormatError("%s: the answer is %s, not a JSON object; Tandem may have changed "
                                "this API." % (CIQ, type(obj).__name__))
    basal = obj.get("basal")
    if not isinstance(basal, dict):
        raise TandemFormatError("%s: field 'basal' is %s; Tandem may have changed this API."
                                % (CIQ, "missing" if basal is None else "not an object"))
    warnings, segments, suspensions, activities = [], [], [], []

    def read(items, label, build, out):
        for i, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise _Bad("not an object")
                out.append(build(item))
            except _Bad as err:
                name = "%s[%d] %s" % (label, i, _excerpt(item))
                warnings.append(ParseWarning(CIQ, name, str(err)))

    def start(item):
        return _pseudo_epoch(item.get("x"), "x", tz)

    def duration(item):
        seconds = _number(item.get("duration"), "duration")
        if seconds < 0:
            raise _Bad("negative duration %r" % item.get("duration"))
        return seconds

    for key, kind in SEGMENT_LISTS:
        def segment(item, kind=kind):
            rate = _number(item.get("y"), "y")
            if rate < 0:
                raise _Bad("negative rate %r" % item.get("y"))
            return BasalSegment(start=start(item), duration_s=duration(item), rate=rate, kind=kind)
        read(_list(basal, key, CIQ, "basal."), "basal." + key, segment, segments)

    def suspension(item):
        reason = item.get("suspendReason")
        if not isinstance(reason, str) or not reason.strip():
            raise _Bad("suspendReason is %s" % _excerpt(reason))
        return SuspensionMark(time=start(item), reason=reason.strip(),
                              continuation=item.get("continuation") == "previous")
    # Observed at the top level; accepted inside ``basal`` too.
    owner, prefix = (obj, "") if "suspensionDeliveryEvents" in obj else (basal, "basal.")
    read(_list(owner, "suspensionDeliveryEvents", CIQ, prefix), "suspensionDeliveryEvents",
         suspension, suspensions)

    def activity(item):
        code = item.get("eventType")
        if isinstance(code, bool) or not isinstance(code, int) or code not in ACTIVITY_KINDS:
            raise _Bad("unknown eventType %s (known: 1 Sleep, 2 Exercise, 3 AutoBolus, "
                       "4 CarbOnly)" % _excerpt(code))
        return Activity(start=start(item), duration_s=duration(item), kind=ACTIVITY_KINDS[code],
                        continuation=item.get("continuation") == "previous")
    read(_list(obj, "events", CIQ, ""), "events", activity, activities)

    segments.sort(key=lambda s: s.start)
    suspensions.sort(key=lambda s: s.time)
    activities.sort(key=lambda a: a.start)
    return CiqTimeline(segments=segments, suspensions=suspensions, activities=activities), warnings
