"""Tandem's legacy wire data (Control:IQ JSON, ws2 CSV and JSONP, therapy-events JSON) to records.

Pure functions: data in, ``(records, warnings)`` out. A record that cannot be read faithfully is
skipped with a ``ParseWarning`` naming it; an answer whose overall shape is not the one we know
raises ``TandemFormatError`` naming the field. Every time becomes an aware UTC instant:

* pseudo epochs (Control:IQ ``x``, ws2 ``/Date(ms)/``) with ``timeutil.decode_pseudo_epoch``;
* naive wall-clock strings with ``timeutil.localize_sequence`` over the records *in event order*,
  so the repeated hour of a fall-back night resolves (see ``timeutil``). A bolus's other times
  (completion, extended start and end) are the occurrence at or after the time before them.

The CSV bolus section alone cannot order two boluses in the repeated hour (01:12 EDT and 01:47 EST
read the same as 01:12 and 01:47 EDT), so ``_csv_request_instants`` also uses what else the file
says: a completion time outside the repeated hour, or the IOB row the pump writes seconds after
a delivery (the IOB section is in event order, so its rows are unambiguous).
"""
import bisect
import csv
import html
import json
import math
import re

from .. import timeutil
from ..errors import TandemFormatError
from .records import (Activity, BasalSegment, Bolus, CiqTimeline, CsvBasalRate, CsvExport,
                      IobValue, ParseWarning, PumpEvent, Reading, SuspensionMark)

CIQ = "Control:IQ therapytimeline"
CSV = "ws2 therapytimeline2csv"
SUSPENSION = "ws2 basalsuspension"
EVENTS = "therapy events"

ACTIVITY_KINDS = {1: "Sleep", 2: "Exercise", 3: "AutoBolus", 4: "CarbOnly"}
SEGMENT_LISTS = (("tempDeliveryEvents", "temp"), ("algorithmDeliveryEvents", "algorithm"),
                 ("profileDeliveryEvents", "profile"))
NO_TIME = "0001-01-01T00:00:00"          # .NET DateTime.MinValue: "not applicable"
IOB_MARK_S = 5                           # the pump writes an IOB row ~2 s after a delivery
COMPLETION_WITHIN_S = 3600               # a standard bolus completes well within an hour

# Column orders documented in docs/tconnect.md §5.1, used only when a block's header row is unrecognised.
READING_COLUMNS = ["DeviceType", "SerialNumber", "Description", "EventDateTime",
                   "Readings (CGM / BGM)"]
IOB_COLUMNS = ["Type", "EventID", "EventDateTime", "IOB"]
BASAL_COLUMNS = ["Type", "EventDateTime", "BasalRate"]
BOLUS_COLUMNS = [
    "Type", "Description", "BG", "IOB", "BolusRequestID", "BolusCompletionID",
    "CompletionDateTime", "InsulinDelivered", "FoodDelivered", "CorrectionDelivered",
    "CompletionStatusID", "CompletionStatusDesc", "BolusIsComplete", "BolexCompletionID",
    "BolexSize", "BolexStartDateTime", "BolexCompletionDateTime", "BolexInsulinDelivered",
    "BolexIOB", "BolexCompletionStatusID", "BolexCompletionStatusDesc", "ExtendedBolusIsComplete",
    "EventDateTime", "RequestDateTime", "BolusType", "BolusRequestOptions", "StandardPercent",
    "Duration", "CarbSize", "UserOverride", "TargetBG", "CorrectionFactor", "FoodBolusSize",
    "CorrectionBolusSize", "ActualTotalBolusRequested", "IsQuickBolus",
    "EventHistoryReportEventDesc", "EventHistoryReportDetails", "NoteID", "IndexID", "Note"]
DEFAULT_COLUMNS = {"readings": READING_COLUMNS, "IOB": IOB_COLUMNS, "basal": BASAL_COLUMNS,
                   "bolus": BOLUS_COLUMNS}


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
# Control:IQ therapy timeline

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


# ---------------------------------------------------------------------------------------------
# ws2 JSONP: basalsuspension

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


# ---------------------------------------------------------------------------------------------
# ws2 CSV: therapytimeline2csv

def _section_of_header(names):
    if not names:
        return None
    if names[0] == "DeviceType":
        return "readings"
    if names[0] == "Type":
        if "BolusRequestID" in names or names[1:3] == ["Description", "BG"]:
            return "bolus"
        if "BasalRate" in names:
            return "basal"
        if "IOB" in names:
            return "IOB"
    return None


def _section_of_row(values):
    first = values[0].strip() if values else ""
    if first in ("Bolus", "Basal", "IOB"):
        return first.lower() if first != "IOB" else "IOB"
    if "Insulin Pump" in first or (len(values) > 2 and values[2].strip() in ("EGV", "BG")):
        return "readings"
    return None


def _split_blocks(text):
    """Blocks of (line number, values) rows, split at blank lines; csv handles the quoting."""
    blocks, block = [], []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line.strip():
            if block:
                blocks.append(block)
            block = []
            continue
        try:
            values = next(csv.reader([line], skipinitialspace=True))
        except (csv.Error, StopIteration):
            values = [line]
        block.append((number, [v.strip() for v in values]))
    if block:
        blocks.append(block)
    return blocks


def _csv_rows(kind, block, warnings):
    """Rows of one section as (line, dict by column name), dropping rows too short to map."""
    names = block[0][1]
    rows = block[1:]
    if _section_of_header(names) != kind:
        # no recognisable header: map by the documented order (the first line may be data)
        if _section_of_row(names) == kind:
            rows = block
        warnings.append(ParseWarning("%s (%s section)" % (CSV, kind), "header line %d %s"
                                     % (block[0][0], _excerpt(",".join(block[0][1]))),
                                     "unrecognised header; columns taken in the documented order"))
        names = DEFAULT_COLUMNS[kind]
    out = []
    for number, values in rows:
        if len(values) < len(names):
            warnings.append(ParseWarning("%s (%s section)" % (CSV, kind), "line %d %s"
                                         % (number, _excerpt(",".join(values))),
                                         "%d values, expected %d" % (len(values), len(names))))
            continue
        row = {}
        for name, value in zip(names, values):
            row.setdefault(name, value)
        out.append((number, row))
    return out


def _row_name(number, row, *keys):
    shown = ", ".join("%s %s" % (k, row[k]) for k in keys if row.get(k))
    return "line %d (%s)" % (number, shown) if shown else "line %d" % number


def _reading_value(row):
    for name, value in row.items():
        if name.startswith("Readings"):
            return value
    raise _Bad("no Readings column")


def _timed_rows(kind, rows, build, tz, warnings):
    """Records from (line, row) pairs whose EventDateTime is localized in file order."""
    source = "%s (%s section)" % (CSV, kind)
    ready = []
    for number, row in rows:
        try:
            ready.append((_naive(row.get("EventDateTime"), "EventDateTime"), build(row)))
        except _Bad as err:
            warnings.append(ParseWarning(source, _row_name(number, row, "EventDateTime"), str(err)))
    instants = timeutil.localize_sequence([naive for naive, _ in ready], tz)
    return [make(instant) for instant, (_, make) in zip(instants, ready)]


def _reading(row):
    kind = row.get("Description")
    if kind not in ("EGV", "BG"):
        raise _Bad("Description %r is neither EGV nor BG" % kind)
    value = _integer(_reading_value(row), "Readings (CGM / BGM)")
    return lambda t: Reading(time=t, value=value, kind=kind)


def _iob(row):
    value = _number(row.get("IOB"), "IOB")
    return lambda t: IobValue(time=t, iob=value)


def _basal(row):
    rate = _number(row.get("BasalRate"), "BasalRate")
    return lambda t: CsvBasalRate(time=t, rate=rate)


def _csv_bolus_fields(row):
    return {
        "request_id": _request_id(row.get("BolusRequestID")),
        "request": _naive(row.get("RequestDateTime"), "RequestDateTime", required=False)
        or _naive(row.get("EventDateTime"), "EventDateTime"),
        "description": _text(row.get("Description"), "Description"),
        "options": _text(row.get("BolusRequestOptions"), "BolusRequestOptions"),
        "total_requested": row.get("ActualTotalBolusRequested"),
        "carbs": row.get("CarbSize"), "bg": row.get("BG"), "user_override": row.get("UserOverride"),
        "completion": _naive(row.get("CompletionDateTime"), "CompletionDateTime", required=False),
        "delivered": row.get("InsulinDelivered"),
        "status": _text(row.get("CompletionStatusDesc"), "CompletionStatusDesc", required=False),
        "complete": row.get("BolusIsComplete"),
        "ext_size": row.get("BolexSize"),
        "ext_start": _naive(row.get("BolexStartDateTime"), "BolexStartDateTime", required=False),
        "ext_end": _naive(row.get("BolexCompletionDateTime"), "BolexCompletionDateTime",
                          required=False),
        "ext_delivered": row.get("BolexInsulinDelivered"),
        "ext_status": _text(row.get("BolexCompletionStatusDesc"), "BolexCompletionStatusDesc",
                            required=False),
        "ext_complete": row.get("ExtendedBolusIsComplete"),
        "duration": row.get("Duration"), "standard_percent": row.get("StandardPercent"),
    }


def _csv_request_instants(items, iob_times, tz):
    """Request instants for bolus ``fields`` sorted by request id (see the module doc)."""
    baseline = timeutil.localize_sequence([f["request"] for f in items], tz)
    out, previous = [], None
    for fields, base in zip(items, baseline):
        options = _candidates(fields["request"], tz)
        chosen = base
        if len(options) > 1:
            done = _completion_evidence(fields["completion"], iob_times, tz)
            fits = [r for r in options
                    if done is not None and 0 <= (done - r).total_seconds() < COMPLETION_WITHIN_S]
            if len(fits) == 1:
                chosen = fits[0]
            elif previous is not None and base < previous:
                chosen = next((r for r in options if r >= previous), base)
        out.append(chosen)
        previous = chosen
    return out


def _completion_evidence(naive, iob_times, tz):
    """The completion instant when the file pins it down: a time outside any repeated hour, or
    the one reading of a repeated time followed within seconds by an IOB row; else None."""
    if naive is None:
        return None
    options = _candidates(naive, tz)
    if len(options) == 1:
        return options[0]
    marked = []
    for option in options:
        i = bisect.bisect_left(iob_times, option)
        if i < len(iob_times) and (iob_times[i] - option).total_seconds() <= IOB_MARK_S:
            marked.append(option)
    return marked[0] if len(marked) == 1 else None


def _is_report_header(first):
    return bool(first) and (first[0].startswith("Tandem Diabetes Care")
                            or "Therapy Timeline" in first[0])


def _looks_like_export(blocks):
    return any(_is_report_header(b[0][1]) or _section_of_header(b[0][1]) for b in blocks)


def parse_therapytimeline_csv(text, tz):
    """ws2 ``therapytimeline2csv`` text -> (CsvExport, warnings). Boluses in request-id order."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise TandemFormatError("%s: expected text, got %s." % (CSV, type(text).__name__))
    text = text.lstrip("\ufeff")
    blocks = _split_blocks(text)
    if text.lstrip().startswith("<") or not _looks_like_export(blocks):
        raise TandemFormatError("%s: the answer is not a t:connect therapy timeline export (it "
                                "starts %r); Tandem may have changed this API or sent an error "
                                "page." % (CSV, text.strip()[:40]))
    warnings = []
    sections = {"readings": [], "IOB": [], "basal": [], "bolus": []}
    for block in blocks:
        first = block[0][1]
        if _is_report_header(first):
            continue
        kind = _section_of_header(first) or _section_of_row(first) or (
            _section_of_row(block[1][1]) if len(block) > 1 else None)
        if kind is None:
            warnings.append(ParseWarning(CSV, "block at line %d %s" % (block[0][0], _excerpt(
                ",".join(first))), "unrecognised section"))
            continue
        sections[kind] += _csv_rows(kind, block, warnings)

    readings = _timed_rows("readings", sections["readings"], _reading, tz, warnings)
    iob = _timed_rows("IOB", sections["IOB"], _iob, tz, warnings)
    basal = _timed_rows("basal", sections["basal"], _basal, tz, warnings)

    source = "%s (bolus section)" % CSV
    items = []
    for number, row in sections["bolus"]:
        try:
            fields = _csv_bolus_fields(row)
            items.append((fields, _bolus_values(fields)))
        except _Bad as err:
            warnings.append(ParseWarning(source, _row_name(
                number, row, "BolusRequestID", "RequestDateTime"), str(err)))
    items.sort(key=lambda item: int(item[0]["request_id"]))
    requests = _csv_request_instants([f for f, _ in items], sorted(v.time for v in iob), tz)
    boluses = [_bolus(f, v, r, tz) for (f, v), r in zip(items, requests)]
    return CsvExport(readings=readings, iob=iob, basal=basal, boluses=boluses), warnings


# ---------------------------------------------------------------------------------------------
# therapy-events JSON

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
