"""Pump wall clock -> UTC for Tandem Source events: both US DST transitions (with and without the
pump's own clock-change events), late and early clock changes, a corrected clock, date changes,
the clockChanges list, and clock-change payloads that cannot be read."""
import datetime as dt

from tconnectsync.parser import tandemsource as ts
from tconnectsync.parser.tandemsource import records as R

from ._source import NEW_YORK, basal, ev, record, tandem_seconds, time_changed, z

TANDEM_DAY0 = dt.date(2008, 1, 1)


def times(events, **kw):
    records, warnings = ts.parse_pump_logs(events, NEW_YORK, **kw)
    assert warnings == [], warnings
    return {r.seq: z(r.time) for r in records}


def days(date):
    return (date - TANDEM_DAY0).days


# -------------------------------------------------------------------- no clock-change events

def test_spring_forward_2021_03_14_without_change_events():
    got = times([basal(1, "2021-03-14T01:30:00", 800), basal(2, "2021-03-14T01:55:00", 800),
                 basal(3, "2021-03-14T02:30:00", 800),     # does not exist: pump not moved on yet -> EST
                 basal(4, "2021-03-14T03:05:00", 800)])
    assert got == {1: "2021-03-14T06:30:00Z", 2: "2021-03-14T06:55:00Z", 3: "2021-03-14T07:30:00Z",
                   4: "2021-03-14T07:05:00Z"}


def test_fall_back_2021_11_07_without_change_events_uses_sequence_order():
    walls = ["00:55", "01:10", "01:40", "01:05", "01:35", "02:05"]
    events = [basal(i + 1, "2021-11-07T%s:00" % w, 800) for i, w in enumerate(walls)]
    got = times(list(reversed(events)))             # input order does not matter, sequence numbers do
    assert got == {1: "2021-11-07T04:55:00Z", 2: "2021-11-07T05:10:00Z", 3: "2021-11-07T05:40:00Z",
                   4: "2021-11-07T06:05:00Z", 5: "2021-11-07T06:35:00Z", 6: "2021-11-07T07:05:00Z"}


def test_repeated_hour_without_evidence_is_the_first_occurrence():
    assert times([basal(1, "2021-11-07T01:30:00", 800)]) == {1: "2021-11-07T05:30:00Z"}


# ---------------------------------------------------------------------- with clock changes

def test_fall_back_with_the_pumps_own_change_at_two():
    events = [basal(1, "2021-11-07T01:10:00", 800), basal(2, "2021-11-07T01:50:00", 800),
              time_changed(3, "2021-11-07T01:00:00", "02:00:00", "01:00:00"),
              basal(4, "2021-11-07T01:10:00", 800), basal(5, "2021-11-07T02:10:00", 800)]
    assert times(events) == {1: "2021-11-07T05:10:00Z", 2: "2021-11-07T05:50:00Z", 3: "2021-11-07T06:00:00Z",
                             4: "2021-11-07T06:10:00Z", 5: "2021-11-07T07:10:00Z"}


def test_fall_back_changed_late_in_the_morning():
    # The pump kept EDT until the user set it back at 09:00 pump time (08:00 EST, 13:00Z).
    events = [basal(1, "2021-11-07T01:30:00", 800), basal(2, "2021-11-07T02:30:00", 800),
              basal(3, "2021-11-07T08:55:00", 800), time_changed(4, "2021-11-07T08:00:00", "09:00:00", "08:00:00"),
              basal(5, "2021-11-07T08:05:00", 800)]
    got = times(events)
    assert got == {1: "2021-11-07T05:30:00Z", 2: "2021-11-07T06:30:00Z", 3: "2021-11-07T12:55:00Z",
                   4: "2021-11-07T13:00:00Z", 5: "2021-11-07T13:05:00Z"}
    assert list(got.values()) == sorted(got.values())           # real time never runs backwards


def test_spring_forward_changed_late():
    # The pump stayed on EST until 07:00 pump time (08:00 EDT, 12:00Z), then was set to 08:00.
    events = [basal(1, "2021-03-14T01:30:00", 800), basal(2, "2021-03-14T03:30:00", 800),
              time_changed(3, "2021-03-14T08:00:00", "07:00:00", "08:00:00"), basal(4, "2021-03-14T08:10:00", 800)]
    assert times(events) == {1: "2021-03-14T06:30:00Z", 2: "2021-03-14T08:30:00Z", 3: "2021-03-14T12:00:00Z",
                             4: "2021-03-14T12:10:00Z"}


def test_corrected_clock_keeps_times_in_order():
    # The clock ran an hour fast; at 14:00 pump time (13:00 EDT) the user set it to 13:00.
    events = [basal(1, "2026-08-12T13:30:00", 800), time_changed(2, "2026-08-12T13:00:00", "14:00:00", "13:00:00"),
              basal(3, "2026-08-12T13:05:00", 900)]
    assert times(events) == {1: "2026-08-12T16:30:00Z", 2: "2026-08-12T17:00:00Z", 3: "2026-08-12T17:05:00Z"}


def test_wrong_date_corrected_with_a_date_change():
    events = [basal(1, "2026-08-13T10:00:00", 800),
              ev(14, 2, "2026-08-12T10:30:00", datePrior=days(dt.date(2026, 8, 13)),
                 dateAfter=days(dt.date(2026, 8, 12)), rawRtcTime=0),
              basal(3, "2026-08-12T10:35:00", 900)]
    assert times(events) == {1: "2026-08-12T14:00:00Z", 2: "2026-08-12T14:30:00Z", 3: "2026-08-12T14:35:00Z"}


def test_clock_changes_list_of_the_whole_history():
    # DST changes made on time in March and November 2026; the window is in August (EDT).
    history = [time_changed(100, "2026-03-08T03:00:00", "02:00:00", "03:00:00"),
               time_changed(900, "2026-11-01T01:00:00", "02:00:00", "01:00:00")]
    body = {"events": [basal(500, "2026-08-12T12:00:00", 800)], "clockChanges": history}
    assert times(body) == {500: "2026-08-12T16:00:00Z"}
    # and the same from the separate argument
    assert times([basal(500, "2026-08-12T12:00:00", 800)], clock_changes=history) == {500: "2026-08-12T16:00:00Z"}


def test_payload_in_seconds_after_midnight_is_understood_too():
    events = [basal(1, "2021-11-07T01:50:00", 800),
              time_changed(2, "2021-11-07T01:00:00", "02:00:00", "01:00:00", unit=1),
              basal(3, "2021-11-07T01:10:00", 800)]
    assert times(events) == {1: "2021-11-07T05:50:00Z", 2: "2021-11-07T06:00:00Z", 3: "2021-11-07T06:10:00Z"}


def test_change_stamped_before_it_happened():
    # The event's own time may be the reading before the change.
    events = [basal(1, "2021-11-07T01:50:00", 800),
              time_changed(2, "2021-11-07T02:00:00", "02:00:00", "01:00:00"),
              basal(3, "2021-11-07T01:10:00", 800)]
    assert times(events) == {1: "2021-11-07T05:50:00Z", 2: "2021-11-07T06:00:00Z", 3: "2021-11-07T06:10:00Z"}


def test_unreadable_change_is_warned_and_not_used():
    events = [basal(1, "2021-11-07T01:50:00", 800),
              ev(13, 2, "2021-11-07T01:00:00", timePrior=123, timeAfter=456, rawRtcTime=0),
              basal(3, "2021-11-07T01:10:00", 800)]
    records, warnings = ts.parse_pump_logs(events, NEW_YORK)
    assert len(warnings) == 1 and "event 13 seq 2" in warnings[0].record and "not used" in warnings[0].reason
    change = [r for r in records if isinstance(r, R.ClockChange)][0]
    assert change.delta_s is None
    # the per-event reading: the wall clock stepped back inside the repeated hour
    assert {r.seq: z(r.time) for r in records}[3] == "2021-11-07T06:10:00Z"


def test_clock_change_record_values():
    records, _ = ts.parse_pump_logs([time_changed(2, "2021-11-07T01:00:00", "02:00:00", "01:00:00")], NEW_YORK)
    c = records[0]
    assert (c.kind, c.delta_s, c.prior_wall, c.after_wall) == (
        "time", -3600.0, dt.datetime(2021, 11, 7, 2), dt.datetime(2021, 11, 7, 1))


def test_binary_stream_with_an_inline_change_and_a_cgm_reading():
    data = b"".join([
        record(279, 1, "2021-11-07T08:50:00", Commanded_Rate=800),
        record(399, 2, "2021-11-07T08:55:00", currentGlucoseDisplayValue=120,
               EGV_TimeStamp=tandem_seconds("2021-11-07T08:54:57")),
        record(13, 3, "2021-11-07T08:00:00", TimePrior=9 * 3600 * 1000, TimeAfter=8 * 3600 * 1000),
        record(279, 4, "2021-11-07T08:05:00", Commanded_Rate=900),
    ])
    records, warnings = ts.parse(data, NEW_YORK)
    assert warnings == []
    r = {x.seq: x for x in records}
    assert z(r[1].time) == "2021-11-07T12:50:00Z" and z(r[4].time) == "2021-11-07T13:05:00Z"
    assert z(r[2].egv_time) == "2021-11-07T12:54:57Z"           # the reading follows its record's clock
