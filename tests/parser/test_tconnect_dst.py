"""Daylight-saving changes in every wire format: US spring-forward and fall-back, and a non-US
zone (Europe/Berlin, whose own fall-back is 2021-10-31)."""
import datetime as dt

import pytest

from tconnectsync import timeutil
from tconnectsync.parser import tconnect as parse

from ._data import BERLIN, NEW_YORK, READINGS_HEADER, export, reading_row, step, z


def csv(tz, *sections):
    result, warnings = parse.parse_therapytimeline_csv(export(*sections), tz)
    assert warnings == []
    return result


def pseudo(naive, second=False):
    return timeutil.encode_pseudo_epoch(dt.datetime.fromisoformat(naive), second=second)


def ciq_segments(tz, *xs):
    obj = {"basal": {"algorithmDeliveryEvents": [{"y": 1.0, "duration": 300, "x": x} for x in xs]}}
    result, warnings = parse.parse_ciq_timeline(obj, tz)
    assert warnings == []
    return [z(s.start) for s in result.segments]


def json_bolus(request, completion, **extra):
    """A therapy-events bolus requested and completed at these wall times."""
    event = {"type": "Bolus", "description": "Standard", "bolusRequestOptions": "Standard",
             "eventDateTime": request, "requestDateTime": request,
             "actualTotalBolusRequested": 1, "carbSize": 8, "userOverride": 0,
             "duration": 0, "standardPercent": 100,
             "standard": {"insulinDelivered": {"completionDateTime": completion, "value": 1},
                          "completionStatusDesc": "Completed", "bolusIsComplete": 1,
                          "bolusRequestId": 9001}}
    event.update(extra)
    boluses, _, warnings = parse.parse_therapy_events({"event": [event]}, NEW_YORK)
    assert warnings == []
    return boluses[0]


def repeated_hour(day, hour):
    """Wall times every 5 min at :m2:33 from (hour-1):52:33 through the repeated hour twice."""
    before = ["%sT%02d:52:33" % (day, hour - 1), "%sT%02d:57:33" % (day, hour - 1)]
    hour_rows = step("%sT%02d:02:33" % (day, hour), 5, 12)
    return before + hour_rows + hour_rows + ["%sT%02d:02:33" % (day, hour + 1)]


# --- US fall-back (2021-11-07, America/New_York) ------------------------------------------------

def test_ciq_pseudo_epochs_tell_the_two_hours_apart():
    assert ciq_segments(NEW_YORK, 1636272905, 1636276505) == [
        "2021-11-07T05:15:05Z", "2021-11-07T06:15:05Z"]


def test_ws2_milliseconds_tell_the_two_hours_apart():
    events, _ = parse.parse_basalsuspension({"BasalSuspension": [
        {"EventDateTime": "/Date(1636272905000-0000)/", "SuspendReason": "manual"},
        {"EventDateTime": "/Date(1636276505000-0000)/", "SuspendReason": "manual"}]}, NEW_YORK)
    assert [z(e.time) for e in events] == ["2021-11-07T05:15:05Z", "2021-11-07T06:15:05Z"]


def test_csv_readings_in_the_repeated_hour():
    times = repeated_hour("2021-11-07", 1)
    rows = [reading_row(t, 100 + i) for i, t in enumerate(times)]
    result = csv(NEW_YORK, [READINGS_HEADER] + rows)
    instants = [r.time for r in result.readings]
    assert {b - a for a, b in zip(instants, instants[1:])} == {dt.timedelta(minutes=5)}
    assert z(instants[2]) == "2021-11-07T05:02:33Z" and z(instants[14]) == "2021-11-07T06:02:33Z"


def test_completion_is_never_before_its_request():
    """Requested 01:58 EDT, completed 01:01 on the wall clock: that is 01:01 EST."""
    bolus = json_bolus("2021-11-07T01:58:00", "2021-11-07T01:01:00")
    assert (z(bolus.request_time), z(bolus.completion_time)) == ("2021-11-07T05:58:00Z",
                                                                 "2021-11-07T06:01:00Z")


def test_extended_part_after_the_standard_part():
    bolus = json_bolus("2021-11-07T01:40:00", "2021-11-07T01:41:00",
                       description="Extended 50.00%/0.00", duration=30, bolex={
                           "size": 1, "bolexStartDateTime": "2021-11-07T01:41:00",
                           "insulinDelivered": {"completionDateTime": "2021-11-07T01:11:00",
                                                "value": 1},
                           "completionStatusDesc": "Completed", "extendedBolusIsComplete": 1})
    assert [z(t) for t in (bolus.request_time, bolus.completion_time, bolus.extended_start,
                           bolus.extended_end)] == [
        "2021-11-07T05:40:00Z", "2021-11-07T05:41:00Z", "2021-11-07T05:41:00Z",
        "2021-11-07T06:11:00Z"]


def test_therapy_events_use_the_whole_event_order():
    cgm = [{"type": "CGM", "eventDateTime": t, "egv": {"estimatedGlucoseValue": 120}}
           for t in repeated_hour("2021-11-07", 1)]
    bolus_json = {"type": "Bolus", "description": "Standard", "bolusRequestOptions": "Standard",
                  "eventDateTime": "2021-11-07T01:20:00", "requestDateTime": "2021-11-07T01:20:00",
                  "actualTotalBolusRequested": 1, "carbSize": 8, "userOverride": 0,
                  "duration": 0, "standardPercent": 100,
                  "standard": {"insulinDelivered": {"completionDateTime": "2021-11-07T01:21:00",
                                                    "value": 1},
                               "completionStatusDesc": "Completed", "bolusIsComplete": 1,
                               "bolusRequestId": 9001}}
    events = cgm[:17] + [bolus_json] + cgm[17:]              # after the second 01:17:33
    boluses, readings, warnings = parse.parse_therapy_events({"event": events}, NEW_YORK)
    assert warnings == [] and len(readings) == len(cgm)
    assert (z(boluses[0].request_time), z(boluses[0].completion_time)) == (
        "2021-11-07T06:20:00Z", "2021-11-07T06:21:00Z")


# --- US spring-forward (2021-03-14, America/New_York) --------------------------------------------

def test_spring_forward_csv_readings_and_json_bolus():
    times = ["2021-03-14T01:52:33", "2021-03-14T01:57:33", "2021-03-14T03:02:33",
             "2021-03-14T03:07:33"]
    result = csv(NEW_YORK, [READINGS_HEADER] + [reading_row(t, 120) for t in times])
    assert [z(r.time) for r in result.readings] == [
        "2021-03-14T06:52:33Z", "2021-03-14T06:57:33Z", "2021-03-14T07:02:33Z",
        "2021-03-14T07:07:33Z"]
    bolus = json_bolus("2021-03-14T01:59:10", "2021-03-14T03:00:20")
    assert (z(bolus.request_time), z(bolus.completion_time)) == ("2021-03-14T06:59:10Z",
                                                                 "2021-03-14T07:00:20Z")


def test_spring_forward_clock_not_yet_moved():
    """A wall time in the gap (pump clock not moved yet) reads with the offset before the change,
    in the CSV and in Control:IQ alike."""
    result = csv(NEW_YORK, [READINGS_HEADER, reading_row("2021-03-14T02:30:00", 120)])
    assert z(result.readings[0].time) == "2021-03-14T07:30:00Z"
    assert ciq_segments(NEW_YORK, pseudo("2021-03-14T02:30:00")) == ["2021-03-14T07:30:00Z"]


def test_spring_forward_ciq():
    xs = [pseudo("2021-03-14T01:55:00"), pseudo("2021-03-14T03:00:00")]
    assert ciq_segments(NEW_YORK, *xs) == ["2021-03-14T06:55:00Z", "2021-03-14T07:00:00Z"]


# --- Europe/Berlin (fall-back 2021-10-31 03:00 CEST -> 02:00 CET) --------------------------------

def test_berlin_csv_readings_in_its_repeated_hour():
    times = repeated_hour("2021-10-31", 2)
    rows = [reading_row(t, 100 + i) for i, t in enumerate(times)]
    result = csv(BERLIN, [READINGS_HEADER] + rows)
    instants = [r.time for r in result.readings]
    assert {b - a for a, b in zip(instants, instants[1:])} == {dt.timedelta(minutes=5)}
    assert [z(instants[i]) for i in (0, 2, 14, 26)] == [
        "2021-10-30T23:52:33Z", "2021-10-31T00:02:33Z", "2021-10-31T01:02:33Z",
        "2021-10-31T02:02:33Z"]


def test_berlin_ciq_and_its_limit():
    assert ciq_segments(BERLIN, 1634713200) == ["2021-10-19T22:00:00Z"]     # 10-20 00:00 CEST
    # Los Angeles has no repeated hour on 2021-10-31, so a pseudo epoch cannot name Berlin's
    # second 02:30: it decodes to the first (docs/tconnect.md §12: the decoding assumes US DST rules).
    assert ciq_segments(BERLIN, pseudo("2021-10-31T02:30:00")) == ["2021-10-31T00:30:00Z"]


@pytest.mark.parametrize("tz, naive, expected", [
    (NEW_YORK, "2021-10-20T00:00:00", "2021-10-20T04:00:00Z"),
    (BERLIN, "2021-10-20T00:00:00", "2021-10-19T22:00:00Z"),
    (timeutil.get_zone("UTC"), "2021-11-07T01:30:00", "2021-11-07T01:30:00Z"),
])
def test_same_wall_time_in_every_format(tz, naive, expected):
    csv_time = csv(tz, [READINGS_HEADER, reading_row(naive, 120)]).readings[0].time
    json_time = parse.parse_therapy_events({"event": [
        {"type": "BG", "eventDateTime": naive, "bg": 120}]}, tz)[1][0].time
    assert z(csv_time) == z(json_time) == ciq_segments(tz, pseudo(naive))[0] == expected
