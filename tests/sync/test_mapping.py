"""Records -> Nightscout documents: the fixes of docs/tconnect.md §12, as table tests."""
import datetime as dt

import pytest

from tconnectsync import timeutil
from tconnectsync.parser.records import (Activity, BasalSegment, Bolus, CsvBasalRate, PumpEvent,
                                         SuspensionMark)
from tconnectsync.sync import basal, bolus, pump_events
from tconnectsync.sync.documents import identifier
from tconnectsync.sync.tconnect import ChunkData

TZ = timeutil.get_zone("America/New_York")
SERIAL = "11111111"


def at(*args, second=False):
    return timeutil.localize(dt.datetime(*args), TZ, second=second)


def chunk(start, end, **kw):
    data = ChunkData(start=start, end=end, **kw)
    data.window_start = timeutil.day_bounds_utc(start, TZ)[0]
    data.window_end = timeutil.day_bounds_utc(end, TZ)[1]
    return data


def seg(start, minutes, rate, kind="profile"):
    return BasalSegment(start=start, duration_s=minutes * 60, rate=rate, kind=kind)


def test_controliq_suspension_marks_its_segment():
    t = at(2021, 10, 20, 1, 16, 17)
    data = chunk(dt.date(2021, 10, 20), dt.date(2021, 10, 20),
                 segments=[seg(t - dt.timedelta(minutes=5), 5, 0.79, "algorithm"), seg(t, 25, 0, "algorithm"),
                           seg(t + dt.timedelta(minutes=25), 5, 0.35, "algorithm")],
                 suspensions=[SuspensionMark(t, "control-iq")])
    docs = basal.documents(data, SERIAL, TZ)
    d = [d for d in docs if d["created_at"] == "2021-10-20T01:16:17-04:00"][0]
    assert d["reason"] == "algorithmDelivery (control-iq suspension)"
    assert d["absolute"] == 0.0 and d["rate"] == 0.0 and d["duration"] == 25.0
    assert d["eventType"] == "Temp Basal" and d["enteredBy"] == "Pump (tconnectsync)"
    assert d["identifier"] == identifier(SERIAL, "basal", int(t.timestamp()))
    assert len(docs) == 3


def test_manual_suspension_becomes_zero_rate_until_resume():
    data = chunk(dt.date(2021, 10, 20), dt.date(2021, 10, 20),
                 segments=[seg(at(2021, 10, 20, 15, 0), 70.0833, 0.95), seg(at(2021, 10, 20, 16, 48, 30), 60, 1.0)],
                 suspensions=[SuspensionMark(at(2021, 10, 20, 16, 10, 5), "manual")])
    docs = basal.documents(data, SERIAL, TZ)
    susp = [d for d in docs if d["reason"] == "manual suspension"]
    assert len(susp) == 1
    assert susp[0]["created_at"] == "2021-10-20T16:10:05-04:00"
    assert susp[0]["duration"] == pytest.approx(38.42, abs=0.01)
    assert susp[0]["absolute"] == 0.0
    # the segment before it is cut at the suspension: nothing overlaps
    spans = sorted((timeutil.parse_iso_utc(d["created_at"]), d["duration"]) for d in docs)
    for (s1, m1), (s2, _) in zip(spans, spans[1:]):
        assert s1 + dt.timedelta(minutes=m1) <= s2 + dt.timedelta(seconds=1)


def test_suspension_across_midnight_does_not_overlap():
    """The old tool added a second, overlapping zero-rate basal from the 00:00 continuation."""
    data = chunk(dt.date(2021, 11, 6), dt.date(2021, 11, 7),
                 segments=[seg(at(2021, 11, 6, 22, 0), 100.2, 0.85), seg(at(2021, 11, 7, 0, 25, 40), 60, 0.8)],
                 suspensions=[SuspensionMark(at(2021, 11, 6, 23, 40, 12), "manual"),
                              SuspensionMark(at(2021, 11, 7, 0, 0), "manual", continuation=True)])
    docs = basal.documents(data, SERIAL, TZ)
    susp = sorted((d for d in docs if "suspension" in d["reason"]), key=lambda d: d["created_at"])
    assert [d["created_at"] for d in susp] == ["2021-11-06T23:40:12-04:00", "2021-11-07T00:00:00-04:00"]
    assert susp[0]["duration"] == pytest.approx(19.8, abs=0.01)
    assert susp[1]["duration"] == pytest.approx(25.67, abs=0.01)


def test_running_suspension_lasts_until_known_data_only():
    data = chunk(dt.date(2021, 10, 20), dt.date(2021, 10, 20),
                 segments=[seg(at(2021, 10, 20, 9, 0), 60, 1.1)],
                 suspensions=[SuspensionMark(at(2021, 10, 20, 10, 0), "manual")],
                 iob=[])
    data.readings = []
    from tconnectsync.parser.records import Reading
    data.readings = [Reading(at(2021, 10, 20, 10, 20), 120, "EGV")]
    docs = basal.documents(data, SERIAL, TZ)
    s = [d for d in docs if d["reason"] == "manual suspension"][0]
    assert s["duration"] == 20.0         # until the last known data, not until midnight


def test_zero_temp_rate_is_kept():
    data = chunk(dt.date(2021, 10, 21), dt.date(2021, 10, 21),
                 segments=[seg(at(2021, 10, 21, 9, 30), 20, 0.0, "temp"), seg(at(2021, 10, 21, 9, 50), 10, 1.1)])
    docs = basal.documents(data, SERIAL, TZ)
    assert docs[0]["reason"] == "tempDelivery" and docs[0]["absolute"] == 0.0 and docs[0]["duration"] == 20.0


def test_csv_basal_durations_are_not_shifted():
    """Pre-Control-IQ rows: each rate lasts until the next row (the old tool used the gap before)."""
    rows = [CsvBasalRate(at(2020, 1, 14, 0, 0), 0.8), CsvBasalRate(at(2020, 1, 14, 6, 0), 1.1),
            CsvBasalRate(at(2020, 1, 14, 22, 0), 0.85)]
    data = chunk(dt.date(2020, 1, 14), dt.date(2020, 1, 14), csv_basal=rows)
    data.readings = []
    from tconnectsync.parser.records import Reading
    data.readings = [Reading(at(2020, 1, 14, 23, 57), 100, "EGV")]
    docs = basal.documents(data, SERIAL, TZ)
    assert [(d["created_at"][11:19], d["duration"], d["absolute"]) for d in docs] == [
        ("00:00:00", 360.0, 0.8), ("06:00:00", 960.0, 1.1), ("22:00:00", 117.0, 0.85)]


def make_bolus(**kw):
    base = dict(request_id="7001", request_time=at(2021, 10, 20, 7, 42, 10), description="Standard/Correction",
                options="Standard/Correction", automatic=False, total_requested=6.41, carbs=45, bg=141,
                user_override=False, completion_time=at(2021, 10, 20, 7, 44, 5), delivered=6.41,
                status="Completed", complete=True)
    base.update(kw)
    return Bolus(**base)


def test_standard_bolus():
    [d] = bolus.documents([make_bolus()], SERIAL, TZ)
    assert d["eventType"] == "Combo Bolus" and d["insulin"] == 6.41 and d["carbs"] == 45
    assert d["created_at"] == "2021-10-20T07:44:05-04:00"
    assert d["notes"] == "Standard/Correction" and d["glucose"] == 141
    assert d["identifier"] == identifier(SERIAL, "bolus", "7001")


def test_partial_override_and_aborted_boluses():
    skipped = []
    docs = bolus.documents([
        make_bolus(request_id="1", description="Standard", total_requested=3.0, delivered=1.45,
                   status="Terminated by Alarm", carbs=0, bg=None),
        make_bolus(request_id="2", user_override=True),
        make_bolus(request_id="3", description="Standard", total_requested=0.5, delivered=0.0,
                   status="User Aborted", complete=False)], SERIAL, TZ, skipped)
    notes = {d["identifier"]: d["notes"] for d in docs}
    assert notes[identifier(SERIAL, "bolus", "1")] == "Standard (Terminated by Alarm: requested 3.00 units)"
    assert notes[identifier(SERIAL, "bolus", "2")] == "Standard/Correction (Override)"
    assert len(docs) == 2 and len(skipped) == 1 and "no insulin delivered" in skipped[0]


def test_extended_bolus_complete_reports_both_parts():
    b = make_bolus(request_id="7004", description="Extended 50.00%/0.00", options="Extended", total_requested=5.0,
                   carbs=40, bg=None, completion_time=at(2021, 10, 20, 18, 31, 40), delivered=2.5, extended=True,
                   extended_requested=2.5, extended_start=at(2021, 10, 20, 18, 31, 40),
                   extended_end=at(2021, 10, 20, 20, 31, 40), extended_delivered=2.5, extended_status="Completed",
                   extended_complete=True, duration_min=120, standard_percent=50)
    [d] = bolus.documents([b], SERIAL, TZ)
    assert d["insulin"] == 2.5 and d["enteredinsulin"] == 5.0
    assert d["duration"] == 120.0 and d["relative"] == 1.25
    assert d["splitNow"] == 50 and d["splitExt"] == 50
    assert "2.50 U now + 2.50 U over 120 min" in d["notes"]


def test_extended_bolus_in_progress_then_complete_keeps_identifier():
    running = make_bolus(request_id="7439", description="Extended 50.00%/0.00", options="Extended",
                         total_requested=4.0, delivered=2.0, extended=True, extended_requested=2.0,
                         extended_start=at(2021, 11, 7, 23, 11, 21), extended_complete=False, duration_min=60)
    [d1] = bolus.documents([running], SERIAL, TZ)
    assert "in progress" in d1["notes"] and d1["insulin"] == 2.0 and d1["enteredinsulin"] == 4.0
    done = make_bolus(**{**running.__dict__, "extended_end": at(2021, 11, 8, 0, 11, 21), "extended_delivered": 1.2,
                         "extended_status": "User Aborted", "extended_complete": True})
    [d2] = bolus.documents([done], SERIAL, TZ)
    assert d2["identifier"] == d1["identifier"] and d2["created_at"] == d1["created_at"]
    assert d2["enteredinsulin"] == 3.2 and "user aborted" in d2["notes"]


def test_pump_events_do_not_hide_each_other():
    data = chunk(dt.date(2021, 10, 20), dt.date(2021, 10, 21), pump_events=[
        PumpEvent(at(2021, 10, 20, 16, 10, 5), "manual"), PumpEvent(at(2021, 10, 21, 9, 30), "temp-profile"),
        PumpEvent(at(2021, 10, 21, 13, 6, 2), "alarm"), PumpEvent(at(2021, 10, 21, 13, 41, 27), "site-cart"),
        PumpEvent(at(2021, 10, 21, 13, 52, 9), "site-cart"), PumpEvent(at(2021, 10, 21, 21, 14, 37), "basal-profile"),
        PumpEvent(at(2021, 10, 22, 0, 0), "previous", continuation=True), PumpEvent(at(2021, 10, 21, 22, 0), "weird")],
        activities=[Activity(at(2021, 10, 20, 0, 30, 14), 23388, "Sleep"),
                    Activity(at(2021, 10, 20, 17, 30), 2700, "Exercise"), Activity(at(2021, 10, 20, 19, 0), 60, "Dance")])
    warnings = []
    docs = pump_events.documents(data, SERIAL, TZ, warnings)
    kinds = sorted((d["eventType"], d["reason"]) for d in docs)
    assert kinds == sorted([("Basal Suspension", "User Suspended"), ("Basal Suspension", "Temp Rate 0 U/h"),
                            ("Basal Suspension", "Empty Cartridge/Pump Shutdown"),
                            ("Site Change", "Site/Cartridge Change"), ("Site Change", "Site/Cartridge Change"),
                            ("Sleep", "Sleep"), ("Exercise", "Exercise")])
    assert [d["duration"] for d in docs if d["eventType"] == "Sleep"] == [389.8]
    assert len(warnings) == 2 and {"weird" in str(w) or "Dance" in str(w) for w in warnings} == {True}
