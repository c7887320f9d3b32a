"""CGM: pump-logged sensor readings -> Nightscout ``entries`` (sgv).

The pump's "high" and "low" readings become 401 and 39 (what Nightscout shows as HIGH/LOW);
readings the pump hid (invalid status, no value) and future-dated ones are skipped with a
reason; a reading logged twice is one entry. The engine leaves out readings Nightscout already
holds from any uploader (``engine_steps.entries``).
"""
from .documents import ENTERED_BY, identifier


def sgv_value(reading):
    """The sgv to upload, or None (with the reason) for a reading that must not be shown."""
    status, value = reading.status, reading.value
    if status == 1:
        return 401, None
    if status == 2:
        return 39, None
    if status != 0:
        return None, "status %d (not a valid reading)" % status
    if value <= 0:
        return None, "no value"
    return max(39, min(401, value)), None


def entry_documents(readings, ctx):
    out, seen = [], set()
    for r in sorted(readings, key=lambda r: (r.group, r.seq)):
        value, why = sgv_value(r)
        when = ctx.local(r.egv_time)
        if value is None:
            ctx.skip("CGM", "cgm-hidden", "%s reading seq %s at %s: %s" % (r.sensor, r.key, when, why))
            continue
        if ctx.future(r.egv_time):
            ctx.skip("CGM", "future", "%s reading seq %s at %s: dated in the future" % (r.sensor, r.key, when))
            continue
        date = int(round(r.egv_time.timestamp() * 1000))
        if date in seen:
            ctx.merge("CGM")                    # the same reading logged twice (backfill)
            continue
        seen.add(date)
        out.append({"type": "sgv", "sgv": int(value), "date": date, "dateString": when, "device": ENTERED_BY,
                    "identifier": identifier(ctx.serial, "sgv", r.key), "pump_event_id": r.key})
    return out
