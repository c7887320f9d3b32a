"""parser/tconnect on the fixture windows: every record kind, exact instants, the CSV export and
the therapy events agreeing on readings."""
import dataclasses
import datetime as dt
import functools

import pytest

from tconnectsync.parser import tconnect as parse
from tconnectsync.parser.records import Bolus

from ._data import DST, MAIN, NEW_YORK, PRE_CIQ, WINDOWS, load, text, utc, z


@functools.lru_cache(maxsize=None)
def ciq(window):
    timeline, warnings = parse.parse_ciq_timeline(load(window, "controliq_therapytimeline.json"),
                                                  NEW_YORK)
    assert warnings == []
    return timeline


@functools.lru_cache(maxsize=None)
def csv_export(window):
    export, warnings = parse.parse_therapytimeline_csv(text(window, "ws2_therapytimeline2csv.csv"),
                                                       NEW_YORK)
    assert warnings == []
    return export


@functools.lru_cache(maxsize=None)
def therapy_events(window):
    boluses, readings, warnings = parse.parse_therapy_events(load(window, "therapyevents.json"),
                                                             NEW_YORK)
    assert warnings == []
    return boluses, readings


def suspensions(window, name="ws2_basalsuspension.jsonp"):
    events, warnings = parse.parse_basalsuspension(parse.parse_jsonp(text(window, name)), NEW_YORK)
    assert warnings == []
    return events


# --- Control:IQ therapy timeline -------------------------------------------------------------

@pytest.mark.parametrize("window, kinds", [
    (MAIN, {"profile": 21, "algorithm": 50, "temp": 2}),
    (DST, {"profile": 17, "algorithm": 33, "temp": 1}),
])
def test_ciq_segment_counts(window, kinds):
    segments = ciq(window).segments
    assert {k: sum(s.kind == k for s in segments) for k in kinds} == kinds
    assert len(segments) == sum(kinds.values())
    assert segments == sorted(segments, key=lambda s: s.start)


@pytest.mark.parametrize("window, start, duration, rate, kind", [
    (MAIN, "2021-10-20T04:00:00Z", 2477, 0.8, "profile"),          # 00:00 EDT, cut at midnight
    (MAIN, "2021-10-20T05:16:17Z", 1500, 0.0, "algorithm"),        # x 1634717777: CIQ suspension
    (MAIN, "2021-10-20T23:30:00Z", 3600, 1.5, "temp"),             # 150 % temp 19:30 EDT
    (MAIN, "2021-10-21T13:30:00Z", 1200, 0.0, "temp"),             # 0 u/h temp 09:30 EDT
    (DST, "2021-11-07T06:15:05Z", 1200, 0.0, "algorithm"),         # x 1636276505: 01:15:05 EST
    (DST, "2021-11-07T21:00:00Z", 5400, 0.6, "temp"),              # 16:00 EST
    (DST, "2021-11-08T03:00:00Z", 5700, 0.85, "profile"),          # 22:00 EST, still running
])
def test_ciq_segments(window, start, duration, rate, kind):
    wanted = (utc(start), float(duration), rate, kind)
    assert wanted in [(s.start, s.duration_s, s.rate, s.kind) for s in ciq(window).segments]


def test_ciq_repeated_hour_segments_are_distinct_instants():
    starts = [s.start for s in ciq(DST).segments if s.kind == "algorithm"]
    assert len(set(starts)) == len(starts)
    # 01:xx EDT (first) and 01:xx EST (second occurrence) both present
    assert utc("2021-11-07T05:20:41Z") in starts          # x 1636272041: 01:20:41 EDT
    assert utc("2021-11-07T06:05:05Z") in starts          # x 1636275905: 01:05:05 EST


@pytest.mark.parametrize("window, expected", [
    (MAIN, [("2021-10-20T05:16:17Z", "control-iq", False),
            ("2021-10-20T20:10:05Z", "manual", False), ("2021-10-21T17:06:02Z", "alarm", False)]),
    (DST, [("2021-11-06T17:55:30Z", "site-cart", False),
           ("2021-11-07T03:40:12Z", "manual", False), ("2021-11-07T04:00:00Z", "manual", True),
           ("2021-11-07T06:15:05Z", "control-iq", False)]),
])
def test_ciq_suspensions(window, expected):
    assert [(z(s.time), s.reason, s.continuation) for s in ciq(window).suspensions] == expected


@pytest.mark.parametrize("window, expected", [
    (MAIN, [("2021-10-20T04:30:14Z", 23388, "Sleep"), ("2021-10-20T21:30:00Z", 2700, "Exercise"),
            ("2021-10-21T04:30:14Z", 23388, "Sleep")]),
    (DST, [("2021-11-06T04:30:14Z", 23388, "Sleep"), ("2021-11-06T14:00:00Z", 2700, "Exercise"),
           ("2021-11-07T04:30:14Z", 26988, "Sleep")]),       # 00:30:14 EDT -> 07:00:02 EST
])
def test_ciq_activities(window, expected):
    got = [(z(a.start), a.duration_s, a.kind) for a in ciq(window).activities]
    assert got == expected
    assert not any(a.continuation for a in ciq(window).activities)


# --- ws2 basalsuspension ----------------------------------------------------------------------

@pytest.mark.parametrize("window, name, expected", [
    (MAIN, "ws2_basalsuspension.jsonp", [
        ("2021-10-20T20:10:05Z", "manual", False), ("2021-10-21T13:30:00Z", "temp-profile", False),
        ("2021-10-21T17:06:02Z", "alarm", False), ("2021-10-21T17:41:27Z", "site-cart", False),
        ("2021-10-21T17:52:09Z", "site-cart", False),
        ("2021-10-22T01:14:37Z", "basal-profile", False)]),
    (MAIN, "ws2_basalsuspension_filterbasal.jsonp", [
        ("2021-10-21T17:41:27Z", "site-cart", False),
        ("2021-10-21T17:52:09Z", "site-cart", False)]),
    (DST, "ws2_basalsuspension.jsonp", [
        ("2021-11-06T18:03:11Z", "site-cart", False), ("2021-11-06T18:12:45Z", "site-cart", False),
        ("2021-11-07T03:40:12Z", "manual", False), ("2021-11-07T04:00:00Z", "previous", True)]),
    (PRE_CIQ, "ws2_basalsuspension.jsonp", [("2020-01-15T16:20:40Z", "manual", False)]),
    (PRE_CIQ, "ws2_basalsuspension_filterbasal.jsonp", []),
])
def test_basalsuspension(window, name, expected):
    assert [(z(e.time), e.reason, e.continuation) for e in suspensions(window, name)] == expected


def test_basaliqtech_placeholder_is_jsonp():
    assert parse.parse_jsonp(text(MAIN, "ws2_basaliqtech.jsonp")) == {"BasalIQTech": []}


# --- ws2 CSV: readings, IOB, basal ------------------------------------------------------------

@pytest.mark.parametrize("window, egv, bg, iob, basal", [
    (MAIN, 576, 1, 584, 0),
    (DST, 583, 1, 591, 0),
    (PRE_CIQ, 576, 0, 578, 14),
])
def test_csv_counts(window, egv, bg, iob, basal):
    export = csv_export(window)
    kinds = [r.kind for r in export.readings]
    assert (kinds.count("EGV"), kinds.count("BG")) == (egv, bg)
    assert len(export.iob) == iob
    assert len(export.basal) == basal


@pytest.mark.parametrize("window", WINDOWS)
def test_csv_egv_every_five_minutes_in_utc(window):
    """Holds across the fall-back night: the repeated 01:xx readings are distinct instants."""
    times = [r.time for r in csv_export(window).readings if r.kind == "EGV"]
    assert {b - a for a, b in zip(times, times[1:])} == {dt.timedelta(minutes=5)}


def test_csv_repeated_hour_readings():
    readings = [r for r in csv_export(DST).readings if r.kind == "EGV"]
    at_0102 = [r for r in readings if r.time in (utc("2021-11-07T05:02:33Z"),
                                                 utc("2021-11-07T06:02:33Z"))]
    assert len(at_0102) == 2 and at_0102[0].value != at_0102[1].value
    start, end = utc("2021-11-07T05:00:00Z"), utc("2021-11-07T07:00:00Z")
    repeated = [r for r in readings if start <= r.time < end]
    assert len(repeated) == 24


def test_csv_fingerstick_and_iob():
    export = csv_export(MAIN)
    assert [(z(r.time), r.value) for r in export.readings if r.kind == "BG"] == [
        ("2021-10-20T11:41:52Z", 141)]
    assert export.iob[0].time == utc("2021-10-20T04:00:19Z")
    assert (z(export.iob[1].time), export.iob[1].iob) == ("2021-10-20T04:05:19Z", 0.0)
    marks = {z(v.time): v.iob for v in export.iob}
    assert marks["2021-10-20T11:44:07Z"] == 6.41          # EventID 9 row after bolus 7001


def test_csv_iob_repeated_hour_increases():
    times = [v.time for v in csv_export(DST).iob]
    assert all(a < b for a, b in zip(times, times[1:]))


def test_csv_pre_ciq_basal():
    rows = [(z(r.time), r.rate) for r in csv_export(PRE_CIQ).basal]
    assert rows[0] == ("2020-01-14T05:00:00Z", 0.8)
    assert ("2020-01-14T20:00:00Z", 0.5) in rows          # temp 15:00 EST
    assert ("2020-01-15T16:20:40Z", 0.0) in rows          # manual suspension 11:20:40 EST
    assert [t for t, _ in rows] == sorted(t for t, _ in rows)


# --- boluses ----------------------------------------------------------------------------------

COMMON = dict(extended=False, extended_requested=None, extended_start=None, extended_end=None,
              extended_delivered=None, extended_status=None, extended_complete=None,
              duration_min=0.0, standard_percent=100.0)

BOLUSES = [   # (window, request id, expected fields; times as 'Z' strings)
    (MAIN, "7001", dict(request_time="2021-10-20T11:42:10Z", completion_time="2021-10-20T11:44:05Z",
                        description="Standard/Correction", options="Standard/Correction",
                        automatic=False, total_requested=6.41, carbs=45, bg=141,
                        user_override=False, delivered=6.41, status="Completed", complete=True,
                        **COMMON)),
    (MAIN, "7003", dict(request_time="2021-10-20T19:02:41Z", completion_time="2021-10-20T19:04:12Z",
                        description="Automatic Bolus/Correction",
                        options="Automatic Bolus/Correction", automatic=True, total_requested=0.95,
                        carbs=0, bg=195, user_override=False, delivered=0.95, status="Completed",
                        complete=True, **COMMON)),
    (MAIN, "7006", dict(request_time="2021-10-20T22:30:12Z", completion_time="2021-10-20T22:31:40Z",
                        description="Extended 50.00%/0.00", options="Extended", automatic=False,
                        total_requested=5.0, carbs=40, bg=142, user_override=False, delivered=2.5,
                        status="Completed", complete=True, extended=True, extended_requested=2.5,
                        extended_start="2021-10-20T22:31:40Z", extended_end="2021-10-21T00:31:40Z",
                        extended_delivered=2.5, extended_status="Completed",
                        extended_complete=True, duration_min=120.0, standard_percent=50.0)),
    (MAIN, "7007", dict(request_time="2021-10-21T12:05:20Z", user_override=True, bg=179,
                        delivered=6.0, total_requested=6.0, carbs=30)),
    (MAIN, "7010", dict(request_time="2021-10-21T16:31:05Z", completion_time="2021-10-21T16:31:11Z",
                        status="User Aborted", complete=False, delivered=0.0,
                        total_requested=0.5)),
    (MAIN, "7012", dict(request_time="2021-10-21T17:05:10Z", completion_time="2021-10-21T17:06:02Z",
                        status="Terminated by Alarm", complete=False, delivered=1.45,
                        total_requested=3.0, carbs=24)),
    (DST, "7430", dict(request_time="2021-11-07T05:12:40Z", completion_time="2021-11-07T05:13:52Z",
                       automatic=True, delivered=0.85)),       # 01:12:40 EDT
    (DST, "7431", dict(request_time="2021-11-07T06:47:10Z", completion_time="2021-11-07T06:48:06Z",
                       automatic=True, delivered=0.6)),        # 01:47:10 EST (second 01:xx)
    (DST, "7439", dict(request_time="2021-11-08T04:10:30Z", completion_time="2021-11-08T04:11:21Z",
                       delivered=2.0, complete=True, extended=True, extended_requested=2.0,
                       extended_start="2021-11-08T04:11:21Z", extended_end=None,
                       extended_delivered=None, extended_status=None, extended_complete=False,
                       duration_min=60.0, standard_percent=50.0, total_requested=4.0)),
    (PRE_CIQ, "3120", dict(request_time="2020-01-14T12:55:30Z",
                           completion_time="2020-01-14T12:57:48Z", delivered=6.25, bg=158)),
]


def _as_z(bolus):
    return {k: (z(v) if isinstance(v, dt.datetime) else v)
            for k, v in dataclasses.asdict(bolus).items()}


@pytest.mark.parametrize("window, request_id, expected", BOLUSES,
                         ids=["%s-%s" % (w[7:17], r) for w, r, _ in BOLUSES])
def test_bolus_fields(window, request_id, expected):
    boluses = therapy_events(window)[0]
    [bolus] = [b for b in boluses if b.request_id == request_id]
    got = _as_z(bolus)
    assert {k: got[k] for k in expected} == expected
    assert isinstance(bolus, Bolus)


@pytest.mark.parametrize("window, count", [(MAIN, 9), (DST, 8), (PRE_CIQ, 2)])
def test_bolus_counts(window, count):
    ids = [b.request_id for b in therapy_events(window)[0]]
    assert len(ids) == len(set(ids)) == count


@pytest.mark.parametrize("window", WINDOWS)
def test_both_sources_give_identical_readings(window):
    from_json = therapy_events(window)[1]
    assert from_json == csv_export(window).readings
