"""The JSON parsers on constructed input: Control:IQ timeline, JSONP, basalsuspension and
therapy events, including every malformed case."""
import copy
import json

import pytest

from tconnectsync.errors import TandemFormatError
from tconnectsync.parser import tconnect as parse

from ._data import MAIN, NEW_YORK, load, z

# --- Control:IQ therapy timeline -------------------------------------------------------------


def timeline(**parts):
    obj = {"basal": {"profileRates": [], "tempDeliveryEvents": [], "algorithmDeliveryEvents": [],
                     "profileDeliveryEvents": []},
           "events": [], "suspensionDeliveryEvents": [], "softwareUpdates": [], "pumpFeatures": []}
    for key, value in parts.items():
        if key.endswith("DeliveryEvents") and key != "suspensionDeliveryEvents":
            obj["basal"][key] = value
        else:
            obj[key] = value
    return obj


GOOD_SEGMENT = {"y": 0.8, "duration": 300, "x": 1634713200}          # 10-20 00:00 EDT


def test_ciq_one_of_each():
    result, warnings = parse.parse_ciq_timeline(timeline(
        tempDeliveryEvents=[{"y": 1.5, "duration": 3600, "x": 1634783400}],
        algorithmDeliveryEvents=[{"y": 0, "duration": 1500, "x": 1634717777}],
        profileDeliveryEvents=[GOOD_SEGMENT],
        suspensionDeliveryEvents=[{"suspendReason": "control-iq", "continuation": None,
                                   "x": 1634717777},
                                  {"suspendReason": "control-iq", "continuation": "previous",
                                   "x": 1634799600}],
        events=[{"continuation": None, "duration": 2700, "eventType": t,
                 "timeZoneId": "America/Los_Angeles", "x": 1634776200 + t} for t in (1, 2, 3, 4)],
    ), NEW_YORK)
    assert warnings == []
    assert [(z(s.start), s.duration_s, s.rate, s.kind) for s in result.segments] == [
        ("2021-10-20T04:00:00Z", 300.0, 0.8, "profile"),
        ("2021-10-20T05:16:17Z", 1500.0, 0.0, "algorithm"),
        ("2021-10-20T23:30:00Z", 3600.0, 1.5, "temp")]
    assert [(z(s.time), s.reason, s.continuation) for s in result.suspensions] == [
        ("2021-10-20T05:16:17Z", "control-iq", False), ("2021-10-21T04:00:00Z", "control-iq", True)]
    assert [a.kind for a in result.activities] == ["Sleep", "Exercise", "AutoBolus", "CarbOnly"]
    assert z(result.activities[0].start) == "2021-10-20T21:30:01Z"


def test_ciq_absent_lists_are_empty():
    result, warnings = parse.parse_ciq_timeline({"basal": {}}, NEW_YORK)
    assert (result.segments, result.suspensions, result.activities, warnings) == ([], [], [], [])
    result, _ = parse.parse_ciq_timeline({"basal": {"tempDeliveryEvents": None}, "events": None},
                                         NEW_YORK)
    assert result.segments == [] and result.activities == []


def test_ciq_suspensions_inside_basal_are_accepted():
    result, _ = parse.parse_ciq_timeline({"basal": {"suspensionDeliveryEvents": [
        {"suspendReason": "manual", "continuation": None, "x": 1634771405}]}}, NEW_YORK)
    assert [(z(s.time), s.reason) for s in result.suspensions] == [
        ("2021-10-20T20:10:05Z", "manual")]


@pytest.mark.parametrize("obj, field", [
    ([], "not a JSON object"),
    (None, "not a JSON object"),
    ("<html>", "not a JSON object"),
    ({}, "'basal' is missing"),
    ({"basal": []}, "'basal' is not an object"),
    ({"basal": {"tempDeliveryEvents": {}}}, "'basal.tempDeliveryEvents'"),
    ({"basal": {}, "events": "none"}, "'events'"),
])
def test_ciq_wrong_shape_raises(obj, field):
    with pytest.raises(TandemFormatError, match=field):
        parse.parse_ciq_timeline(obj, NEW_YORK)


MALFORMED_CIQ = [   # (list, bad item, words in the reason)
    ("algorithmDeliveryEvents", {"y": 0.8, "duration": 300}, "x is null"),
    ("algorithmDeliveryEvents", {"y": 0.8, "duration": 300, "x": "1634713200"}, "x is"),
    ("algorithmDeliveryEvents", {"y": 0.8, "duration": 300, "x": True}, "x is"),
    ("profileDeliveryEvents", {"y": None, "duration": 300, "x": 1634713200}, "y is"),
    ("profileDeliveryEvents", {"y": "0.8", "duration": "x", "x": 1634713200}, "duration"),
    ("profileDeliveryEvents", {"y": float("nan"), "duration": 300, "x": 1634713200}, "y is nan"),
    ("tempDeliveryEvents", {"y": 1.5, "duration": -60, "x": 1634713200}, "negative duration"),
    ("tempDeliveryEvents", {"y": -1, "duration": 60, "x": 1634713200}, "negative rate"),
    ("tempDeliveryEvents", {"y": 1, "duration": 60, "x": 1e30}, "out of range"),
    ("tempDeliveryEvents", [1, 2, 3], "not an object"),
    ("suspensionDeliveryEvents", {"continuation": None, "x": 1634713200}, "suspendReason"),
    ("suspensionDeliveryEvents", {"suspendReason": "manual", "x": None}, "x is null"),
    ("events", {"duration": 60, "eventType": 7, "x": 1634713200}, "unknown eventType 7"),
    ("events", {"duration": 60, "eventType": "1", "x": 1634713200}, "unknown eventType"),
    ("events", {"duration": 60, "x": 1634713200}, "unknown eventType null"),
    ("events", {"duration": None, "eventType": 1, "x": 1634713200}, "duration"),
    ("events", {"duration": float("inf"), "eventType": 1, "x": 1634713200}, "duration"),
]


@pytest.mark.parametrize("key, item, reason", MALFORMED_CIQ)
def test_ciq_malformed_record_is_skipped_with_a_warning(key, item, reason):
    good = {"suspensionDeliveryEvents": {"suspendReason": "manual", "x": 1634713200},
            "events": {"duration": 60, "eventType": 1, "x": 1634713200}}.get(key, GOOD_SEGMENT)
    obj = json.loads(json.dumps(timeline(**{key: [good, item]})))      # through a real decode
    result, warnings = parse.parse_ciq_timeline(obj, NEW_YORK)
    assert len(result.segments) + len(result.suspensions) + len(result.activities) == 1
    [warning] = warnings
    assert warning.source == "Control:IQ therapytimeline"
    assert warning.record.startswith(("%s[1] " % key, "basal.%s[1] " % key)), warning
    assert reason in warning.reason, warning


# --- JSONP ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    'cb({"BasalSuspension":[]})',
    '  cb({"BasalSuspension":[]});\n',
    'cb ( {"BasalSuspension":[]} ) ;',
    b'cb({"BasalSuspension":[]})',
])
def test_jsonp_accepted(body):
    assert parse.parse_jsonp(body) == {"BasalSuspension": []}


def test_jsonp_other_callback():
    assert parse.parse_jsonp("jQuery123([1])", callback="jQuery123") == [1]


@pytest.mark.parametrize("body", [
    '{"BasalSuspension":[]}',
    'cb({"BasalSuspension":[]}',
    'cb({"BasalSuspension":[}])',
    'cb()',
    'xcb({})',
    '<html><body>Web Page Blocked!</body></html>',
    '',
    None,
])
def test_jsonp_broken(body):
    with pytest.raises(TandemFormatError):
        parse.parse_jsonp(body)


# --- ws2 basalsuspension ----------------------------------------------------------------------

def test_basalsuspension_rows():
    events, warnings = parse.parse_basalsuspension({"BasalSuspension": [
        {"EventDateTime": "/Date(1634771405000-0000)/", "SuspendReason": "manual"},
        {"EventDateTime": "/Date(1634799600000-0000)/", "SuspendReason": "previous",
         "Continuation": "continuation"},
        {"EventDateTime": "/Date(1634799600000+0100)/", "SuspendReason": "manual",
         "Continuation": "continuation"},
        {"EventDateTime": "/Date(1634846762000)/", "SuspendReason": "brand-new-reason"},
    ]}, NEW_YORK)
    assert warnings == []
    assert [(z(e.time), e.reason, e.continuation) for e in events] == [
        ("2021-10-20T20:10:05Z", "manual", False), ("2021-10-21T04:00:00Z", "previous", True),
        ("2021-10-21T04:00:00Z", "manual", True),
        ("2021-10-21T17:06:02Z", "brand-new-reason", False)]


@pytest.mark.parametrize("row, reason", [
    ({"EventDateTime": "/Date(abc-0000)/", "SuspendReason": "manual"}, "EventDateTime"),
    ({"EventDateTime": "2021-10-20T16:10:05", "SuspendReason": "manual"}, "EventDateTime"),
    ({"EventDateTime": 1634771405000, "SuspendReason": "manual"}, "EventDateTime"),
    ({"SuspendReason": "manual"}, "EventDateTime"),
    ({"EventDateTime": "/Date(1634771405000-0000)/"}, "SuspendReason"),
    ({"EventDateTime": "/Date(1634771405000-0000)/", "SuspendReason": 3}, "SuspendReason"),
    ({"EventDateTime": "/Date(99999999999999999999-0000)/", "SuspendReason": "manual"},
     "out of range"),
    ("manual", "not an object"),
])
def test_basalsuspension_bad_row(row, reason):
    good = {"EventDateTime": "/Date(1634846762000-0000)/", "SuspendReason": "alarm"}
    events, warnings = parse.parse_basalsuspension({"BasalSuspension": [row, good]}, NEW_YORK)
    assert [e.reason for e in events] == ["alarm"]
    [warning] = warnings
    assert warning.source == "ws2 basalsuspension"
    assert warning.record.startswith("BasalSuspension[0]")
    assert reason in warning.reason


@pytest.mark.parametrize("obj", [[], {}, {"BasalIQTech": []}, None, {"BasalSuspension": {}}])
def test_basalsuspension_wrong_shape(obj):
    with pytest.raises(TandemFormatError, match="BasalSuspension"):
        parse.parse_basalsuspension(obj, NEW_YORK)


def test_basalsuspension_null_list():
    assert parse.parse_basalsuspension({"BasalSuspension": None}, NEW_YORK) == ([], [])


# --- therapy events ---------------------------------------------------------------------------

def main_events():
    return load(MAIN, "therapyevents.json")["event"]


def bolus_event(request_id):
    return copy.deepcopy(next(e for e in main_events() if e["type"] == "Bolus"
                              and e["standard"]["bolusRequestId"] == request_id))


def cgm_event():
    return copy.deepcopy(next(e for e in main_events() if e["type"] == "CGM"))


def events_of(*events):
    return parse.parse_therapy_events({"event": list(events)}, NEW_YORK)


def test_therapy_event_basal_type_is_ignored_silently():
    basal = {"type": "Basal", "description": "NDE", "eventDateTime": "2021-10-20T07:00:00",
             "eventTypeId": 90, "basalRate": {"duration": 300, "percent": 100, "value": 0.8}}
    boluses, readings, warnings = events_of(basal, cgm_event())
    assert (boluses, len(readings), warnings) == ([], 1, [])


def test_html_escapes_are_undone():
    event = bolus_event(7006)
    event["description"] = "Extended 50.00&#37;/0.00"
    [bolus], _, warnings = events_of(event)
    assert warnings == [] and bolus.description == "Extended 50.00%/0.00" and bolus.extended


def test_absent_request_time_falls_back_to_event_time():
    event = bolus_event(7001)
    event["requestDateTime"] = "0001-01-01T00:00:00"
    [bolus], _, _ = events_of(event)
    assert z(bolus.request_time) == "2021-10-20T11:42:10Z"


def test_request_id_as_text_or_float():
    first, second = bolus_event(7001), bolus_event(7002)
    first["standard"]["bolusRequestId"] = "7001.000"
    second["standard"]["bolusRequestId"] = 7002.0
    boluses, _, warnings = events_of(first, second)
    assert [b.request_id for b in boluses] == ["7001", "7002"] and warnings == []


def test_bolus_without_bg_or_iob():
    event = bolus_event(7003)
    del event["bg"], event["iob"]
    [bolus], _, _ = events_of(event)
    assert bolus.bg is None


def test_in_progress_extended_bolus():
    event = bolus_event(7006)
    event["bolex"] = {"size": 2.5, "bolexStartDateTime": "2021-10-20T18:31:40", "iob": 0,
                      "completionStatusId": 0, "extendedBolusIsComplete": 0,
                      "insulinRequested": 0, "bolexCompletionId": 0}
    [bolus], _, _ = events_of(event)
    assert (bolus.extended, bolus.extended_complete, bolus.extended_requested) == (True, False, 2.5)
    assert z(bolus.extended_start) == "2021-10-20T22:31:40Z"
    assert (bolus.extended_end, bolus.extended_delivered, bolus.extended_status) == (None,) * 3


def _set(path, value):
    def change(event):
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return change


MALFORMED_EVENTS = [   # (change to bolus 7006, words in the reason)
    (_set("standard", KeyError), "standard is missing"),
    (_set("standard.insulinDelivered", KeyError), "insulinDelivered is missing"),
    (_set("standard.insulinDelivered.value", "lots"), "InsulinDelivered"),
    (_set("standard.insulinDelivered.completionDateTime", "soon"), "completionDateTime"),
    (_set("standard.bolusRequestId", None), "BolusRequestID"),
    (_set("standard", [1]), "standard is"),
    (_set("bolex.size", "big"), "BolexSize"),
    (_set("bolex.bolexStartDateTime", "20-10-2021 18:31"), "bolexStartDateTime"),
    (_set("carbSize", None), "CarbSize"),
    (_set("actualTotalBolusRequested", float("nan")), "ActualTotalBolusRequested"),
    (_set("eventDateTime", "2021-10-20T18:30:12Z"), "eventDateTime"),
    (_set("eventDateTime", None), "eventDateTime"),
    (_set("description", None), "description"),
]


@pytest.mark.parametrize("change, reason", MALFORMED_EVENTS)
def test_malformed_bolus_event(change, reason):
    event = bolus_event(7006)
    change(event)
    boluses, readings, warnings = events_of(cgm_event(), event, bolus_event(7007))
    assert [b.request_id for b in boluses] == ["7007"] and len(readings) == 1
    [warning] = warnings
    assert warning.source == "therapy events" and warning.record.startswith("event[1] (type Bolus")
    assert reason in warning.reason, warning


@pytest.mark.parametrize("event, reason", [
    ({"type": "Alarm", "eventDateTime": "2021-10-20T07:00:00"}, "unknown event type 'Alarm'"),
    ({"type": None, "eventDateTime": "2021-10-20T07:00:00"}, "unknown event type null"),
    ({"eventDateTime": "2021-10-20T07:00:00"}, "unknown event type null"),
    ({"type": "CGM", "eventDateTime": "2021-10-20T07:00:00", "egv": {}}, "estimatedGlucoseValue"),
    ({"type": "CGM", "eventDateTime": "2021-10-20T07:00:00"}, "estimatedGlucoseValue"),
    ({"type": "CGM", "eventDateTime": "2021-10-20T07:00:00",
      "egv": {"estimatedGlucoseValue": "x"}}, "estimatedGlucoseValue"),
    ({"type": "CGM", "eventDateTime": "bad", "egv": {"estimatedGlucoseValue": 120}},
     "eventDateTime"),
    ({"type": "BG", "eventDateTime": "2021-10-20T07:00:00"}, "bg"),
    ("CGM", "not an object"),
])
def test_malformed_or_unknown_event(event, reason):
    boluses, readings, warnings = events_of(event, cgm_event(), bolus_event(7001))
    assert len(boluses) == 1 and len(readings) == 1
    [warning] = warnings
    assert warning.record.startswith("event[0]") and reason in warning.reason, warning


@pytest.mark.parametrize("obj", [[], None, {}, {"events": []}, {"event": "x"}])
def test_therapy_events_wrong_shape(obj):
    with pytest.raises(TandemFormatError, match="event"):
        parse.parse_therapy_events(obj, NEW_YORK)


def test_therapy_events_null_list():
    assert parse.parse_therapy_events({"event": None}, NEW_YORK) == ([], [], [])
