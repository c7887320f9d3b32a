"""Daylight-saving changes in every wire format: US spring-forward and fall-back, and a non-US
zone (Europe/Berlin, whose own fall-back is 2021-10-31)."""
import datetime as dt

import pytest

from tconnectsync import timeutil
from tconnectsync.parser import tconnect as parse

from ._data import (BERLIN, BOLUS_HEADER, IOB_HEADER, NEW_YORK, READINGS_HEADER, bolus_row,
                    export, iob_row, reading_row, step, z)


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


def auto_bolus(request_id, time, completion, **kw):
    return bolus_row(request_id, time, completion, BG="", Description="Automatic Bolus/Correction",
                     BolusRequestOptions="Automatic Bolus/Correction", **kw)


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


def test_csv_boluses_out_of_wall_order_by_request_id():
    """Request ids order the boluses: 01:50 then 01:10 means the 01:10 is the EST one."""
    result = csv(NEW_YORK, [BOLUS_HEADER, auto_bolus("7431", "2021-11-07T01:10:00",
                                                     "2021-11-07T01:11:00"),
                            auto_bolus("7430", "2021-11-07T01:50:00", "2021-11-07T01:51:00")])
    assert [(b.request_id, z(b.request_time), z(b.completion_time)) for b in result.boluses] == [
        ("7430", "2021-11-07T05:50:00Z", "2021-11-07T05:51:00Z"),
        ("7431", "2021-11-07T06:10:00Z", "2021-11-07T06:11:00Z")]


def test_csv_bolus_without_evidence_is_the_first_hour():
    [bolus] = csv(NEW_YORK, [BOLUS_HEADER, auto_bolus("7431", "2021-11-07T01:47:10",
                                                      "2021-11-07T01:48:06")]).boluses
    assert z(bolus.request_time) == "2021-11-07T05:47:10Z"


def test_csv_bolus_placed_by_the_iob_row_after_its_delivery():
    iob_times = step("2021-11-07T01:00:19", 5, 12) * 2
    iob_rows = [iob_row(t, "0.50") for t in iob_times]
    iob_rows.insert(22, iob_row("2021-11-07T01:48:08", "1.06", event_id="9"))   # second pass
    result = csv(NEW_YORK, [IOB_HEADER] + iob_rows,
                 [BOLUS_HEADER, auto_bolus("7431", "2021-11-07T01:47:10", "2021-11-07T01:48:06")])
    [bolus] = result.boluses
    assert (z(bolus.request_time), z(bolus.completion_time)) == ("2021-11-07T06:47:10Z",
                                                                 "2021-11-07T06:48:06Z")


def test_csv_bolus_placed_by_a_completion_after_the_repeated_hour():
    [bolus] = csv(NEW_YORK, [BOLUS_HEADER, bolus_row("7440", "2021-11-07T01:59:50",
                                                     "2021-11-07T02:00:40")]).boluses
    assert (z(bolus.request_time), z(bolus.completion_time)) == ("2021-11-07T06:59:50Z",
                                                                 "2021-11-07T07:00:40Z")


def test_completion_is_never_before_its_request():
    """Requested 01:58 EDT, completed 01:01 on the wall clock: that is 01:01 EST."""
    [bolus] = csv(NEW_YORK, [BOLUS_HEADER, bolus_row("7441", "2021-11-07T01:58:00",
                                                     "2021-11-07T01:01:00")]).boluses
    assert (z(bolus.request_time), z(bolus.completion_time)) == ("2021-11-07T05:58:00Z",
                                                                 "2021-11-07T06:01:00Z")


def test_extended_part_after_the_standard_part():
    [bolus] = csv(NEW_YORK, [BOLUS_HEADER, bolus_row(
        "7442", "2021-11-07T01:40:00", "2021-11-07T01:41:00", Description="Extended 50.00%/0.00",
        BolexSize="1.00", BolexStartDateTime="2021-11-07T01:41:00",
        BolexCompletionDateTime="2021-11-07T01:11:00", BolexInsulinDelivered="1.00",
        BolexCompletionStatusDesc="Completed", ExtendedBolusIsComplete="1", Duration="30")]).boluses
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

def test_spring_forward_csv():
    times = ["2021-03-14T01:52:33", "2021-03-14T01:57:33", "2021-03-14T03:02:33",
             "2021-03-14T03:07:33"]
    result = csv(NEW_YORK, [READINGS_HEADER] + [reading_row(t, 120) for t in times],
                 [BOLUS_HEADER, bolus_row("8001", "2021-03-14T01:59:10", "2021-03-14T03:00:20")])
    assert [z(r.time) for r in result.readings] == [
        "2021-03-14T06:52:33Z", "2021-03-14T06:57:33Z", "2021-03-14T07:02:33Z",
        "2021-03-14T07:07:33Z"]
    [bolus] = result.boluses
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


def test_berlin_csv_bolus_in_the_second_hour():
    iob_rows = [iob_row(t, "0.50") for t in step("2021-10-31T02:00:19", 5, 12) * 2]
    iob_rows.insert(16, iob_row("2021-10-31T02:20:42", "1.20", event_id="9"))  # second pass
    result = csv(BERLIN, [IOB_HEADER] + iob_rows,
                 [BOLUS_HEADER, bolus_row("8100", "2021-10-31T02:19:00", "2021-10-31T02:20:40"),
                  bolus_row("8101", "2021-10-31T02:40:00", "2021-10-31T02:41:00")])
    assert [(z(b.request_time), z(b.completion_time)) for b in result.boluses] == [
        ("2021-10-31T01:19:00Z", "2021-10-31T01:20:40Z"),
        ("2021-10-31T01:40:00Z", "2021-10-31T01:41:00Z")]     # later request id: not earlier


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
