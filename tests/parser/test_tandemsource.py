"""Tandem Source pump-log events (JSON and binary) -> typed records: every event kind of the
fixture day, Mobi and t:slim X2 specifics, unknown codes and malformed events."""
import base64
import dataclasses
import datetime as dt
import json

import pytest

from tconnectsync.parser.tandemsource import records as R
from tconnectsync.parser import tandemsource as ts
from tconnectsync.parser.tandemsource.events import catalog, decode_binary, decode_json, shortest_float32

from ._source import NEW_YORK, basal, ev, fixture_bytes, fixture_json, record, tandem_seconds

UTC = dt.timezone.utc


def parse_json(events, **kw):
    return ts.parse_pump_logs(events, NEW_YORK, **kw)


def by_seq(records):
    return {r.seq: r for r in records}


# ------------------------------------------------------------------------------- the fixture day

def test_binary_stream_matches_the_manifest():
    manifest = fixture_json("events-manifest.json")["events"]
    raws, warnings = decode_binary(fixture_bytes("pump-events.bin"))
    assert warnings == [] and len(raws) == len(manifest) == 107
    for raw, truth in zip(raws, manifest):
        assert (raw.code, raw.seq, raw.wall.isoformat()) == (truth["eventCode"], truth["sequenceNumber"],
                                                             truth["pumpDateTime"])
        assert raw.fields == truth["fields"], truth["sequenceNumber"]


def test_json_events_match_the_manifest():
    manifest = {e["sequenceNumber"]: e for e in fixture_json("events-manifest.json")["events"]}
    raws, warnings = decode_json(fixture_json("bff-pump-logs-response.json")["events"])
    assert warnings == [] and len(raws) == 106                       # all but event 81 (docs/tandem-source.md §5.2)
    assert {r.code for r in raws} == {e["eventCode"] for e in manifest.values()} - {81}
    for raw in raws:
        assert raw.fields == manifest[raw.seq]["fields"], raw.seq   # bitmask arrays -> the same integers


def test_json_binary_and_legacy_body_give_the_same_records():
    from_json, w1 = ts.parse(fixture_json("bff-pump-logs-response.json"), NEW_YORK)
    from_bin, w2 = ts.parse(fixture_bytes("pump-events.bin"), NEW_YORK)
    from_legacy, w3 = ts.parse(fixture_bytes("legacy-pumpevents-response.json").decode("utf-8"), NEW_YORK)
    assert w1 == w2 == w3 == []
    assert from_bin == from_legacy
    assert from_json == [r for r in from_bin if r.code != 81]


def test_every_event_kind_of_the_fixture_day():
    records, _ = ts.parse(fixture_bytes("pump-events.bin"), NEW_YORK)
    r = by_seq(records)
    edt = lambda *a: dt.datetime(*a, tzinfo=dt.timezone(dt.timedelta(hours=-4))).astimezone(UTC)  # noqa: E731
    assert r[701003] == R.BasalDelivery(code=279, seq=701003, wall=dt.datetime(2026, 8, 12), time=edt(2026, 8, 12),
                                        rate_source=3, rate_source_name="Algorithm", rate=0.8, profile_rate=0.8,
                                        temp_rate=None, algorithm_rate=0.8)
    assert (r[701073].rate, r[701073].rate_source_name) == (0.0, "Suspended")
    assert isinstance(r[701011], R.BasalRateChange) and r[701011].rate == 1.0 and r[701011].idp == 1
    assert (r[701070].reason, r[701147].reason) == ("UserAborted", "TerminatedByAlarm")
    assert isinstance(r[701074], R.PumpResumed) and r[701074].time == edt(2026, 8, 12, 10, 40)
    m1, m2, m3 = r[701035], r[701036], r[701038]
    assert (m1.bolus_id, m1.bg, m1.carbs, m1.carb_ratio, m1.iob, m1.correction_included) == (1201, 145, 45, 10.0, 0.2, True)
    assert (m2.options, m2.options_name, m2.standard_percent, m2.user_override) == (0, "Standard Bolus", 100, False)
    assert m3.total_size == 5.0 and m3.correction_size == 0.5
    assert (r[701046].delivered, r[701046].status, r[701046].extended) == (5.0, "Completed", False)
    assert (r[701101].delivered, r[701101].extended, r[701101].bolus_id) == (3.0, True, 1202)
    assert (r[701092].extended, r[701092].size) == (True, 3.0)
    assert (r[701087].options_name, r[701087].duration_min, r[701087].standard_percent) == ("Extended Bolus", 120, 50)
    d = r[701042]
    assert (d.started, d.bolus_type, d.requested_now, d.correction, d.source) == (True, 0b11001, 5.0, 0.5, 1)
    assert r[701119].options_name == "Automatic Bolus" and r[701116].bolus_type == 2
    assert (r[701031].bg, r[701032].carbs) == (145, 45.0)
    assert (r[701144].alarm_id, r[701144].name) == (8, "EmptyCartridgeAlarm")
    assert r[701158].name == "ResumePumpAlarm"
    assert (r[701154].insulin_volume, r[701154].v2_volume) == (200, 200.0)
    assert (r[701155].prime_size, r[701155].status) == (-1.0, "Completed")
    assert r[701157].prime_size == 0.3
    assert (r[701004].action, r[701004].sleep_started_by_gui) == (1, True)
    assert (r[701134].action, r[701134].exercise_timed, r[701134].exercise_time_min) == (3, True, 60)
    assert r[701141].exercise_stopped_by_timer is True
    assert (r[701171].active_sleep_schedule, r[701171].sleep_started_by_gui) == (1, False)
    g = r[701018]
    assert (g.sensor, g.status, g.value, g.rate) == ("G7", 0, 128, 0.0)
    assert g.egv_wall == dt.datetime(2026, 8, 12, 6, 59, 57) and g.egv_time == edt(2026, 8, 12, 6, 59, 57)
    assert r[701063].rate == -0.2
    assert (r[701112].family, r[701112].name, r[701112].alert_id) == ("Dexcom CGM", "CgmHigh", 2)
    assert (r[701017].action, r[701017].sensor) == ("join", "G7")
    assert (r[701186].battery_percent, r[701186].battery_mv, r[701186].iob) == (61, 3900, 0.4)
    assert isinstance(r[701001], R.OtherEvent) and r[701001].name == "LID_NEW_DAY"
    assert all(isinstance(x.time.tzinfo, dt.timezone) for x in records)


def test_catalog_has_the_file_and_the_custom_definitions():
    defs = catalog()
    assert len(defs) == 55 + 4
    assert defs[279].field("commandedRateSource").name == "Commanded Rate Source"
    assert [(f.name, f.type, f.offset) for f in defs[81].fields] == [
        ("dailyTotalBasal", "float32", 0), ("lastBasalRate", "float32", 4), ("iob", "float32", 8),
        ("batteryLipoMilliVolts", "uint16", 12), ("batteryChargePercent", "uint8", 14),
        ("finalEventForDay", "uint8", 15)]


def test_float32_values_are_the_short_decimals():
    assert shortest_float32(0.30000001192092896) == 0.3
    assert shortest_float32(5.150000095367432) == 5.15


# ------------------------------------------------------------------------------ Mobi and t:slim

def test_mobi_phone_bolus_cartridge_and_cannula():
    events = [
        ev(64, 10, "2026-05-14T08:00:00", bolusId=77, bolusType=3, correctionBolusIncluded=0, carbAmount=30, bg=0,
           carbRatio=0, iob=0.0),
        ev(65, 11, "2026-05-14T08:00:00", bolusId=77, options=4, standardPercent=100, duration=0, isf=0,
           targetBg=0, userOverride=0, declinedCorrection=0, selectedIob=1, spareB6=0),
        ev(280, 12, "2026-05-14T08:00:05", bolusId=77, bolusDeliveryStatus=1, bolusType=[0, 4], bolusSource=8,
           remoteId=0, requestedNow=3000, requestedLater=0, extendedDurationRequested=0, deliveredTotal=0,
           correction=0),
        ev(20, 13, "2026-05-14T08:01:00", bolusId=77, completionStatus=3, insulinDelivered=3.0,
           insulinRequested=3.0, iob=3.1),
        ev(33, 20, "2026-05-14T09:00:00", insulinVolume=180, v2Volume=0),
        ev(61, 21, "2026-05-14T09:05:00", primeSize=0.5, completionStatus=3, infusionSetType=2),
    ]
    records, warnings = parse_json(events)
    assert warnings == []
    r = by_seq(records)
    assert r[10].bolus_type == 3 and r[10].carb_ratio == 0.0
    assert (r[11].options, r[11].options_name, r[11].isf, r[11].target_bg) == (4, "BLE Standard Bolus", 0, 0)
    assert (r[12].source, r[12].bolus_type) == (8, 0b10001)
    assert (r[20].insulin_volume, r[20].v2_volume) == (180, 0.0)
    assert r[21].prime_size == 0.5                                   # infusionSetType ignored


def test_libre_readings_and_sessions():
    t = "2026-05-14T10:00:00"
    events = [
        ev(372, 1, t, rate=-15, cgmDataType=[0], glucoseValueStatus=0, currentGlucoseDisplayValue=101, rssi=-60,
           algorithmState=100, egvTimeStamp=tandem_seconds("2026-05-14T09:59:00"), interval=0, egvInfoBitmask=[0]),
        ev(480, 2, t, rate=7, cgmDataType=[5], glucoseValueStatus=1, currentGlucoseDisplayValue=0, rssi=-60,
           algorithmState=100, egvTimeStamp=tandem_seconds(t), interval=0, egvInfoBitmask=[0]),
        ev(477, 3, t, sessionStartTime=0, sessionJoinTime=0, sessionDuration=15, sessionJoinReason=0),
        ev(486, 4, t, sessionStartTime=0, sessionStopTime=0, sessionDuration=15, sessionStopReason=0),
        ev(460, 5, t, dalertId=3, sensorType=2, faultLocatorData=0, param1=0, param2=0.0),
    ]
    records, warnings = parse_json(events)
    assert warnings == []
    r = by_seq(records)
    assert (r[1].sensor, r[1].rate, r[1].value) == ("Libre 2", -1.5, 101)
    assert (r[2].sensor, r[2].status) == ("Libre 3", 1)
    assert [(r[3].action, r[3].sensor), (r[4].action, r[4].sensor)] == [("join", "Libre 3"), ("stop", "Libre 3")]
    assert (r[5].family, r[5].name) == ("Libre CGM", "CgmLow")


def test_tslim_g6_reading_sessions_and_alert_binary():
    data = b"".join([
        record(256, 1, "2026-05-14T10:00:00", glucoseValueStatus=1, currentGlucoseDisplayValue=0,
               EGV_TimeStamp=tandem_seconds("2026-05-14T09:59:58")),
        record(212, 2, "2026-05-14T10:01:00"), record(213, 3, "2026-05-14T10:02:00"),
        record(214, 4, "2026-05-14T10:03:00"),
        record(369, 5, "2026-05-14T10:04:00", DalertID=11, SensorType=1),
        record(171, 6, "2026-05-14T10:05:00", DalertID=99),
        record(6, 7, "2026-05-14T10:06:00", MalfID=0x1234),
        record(5, 8, "2026-05-14T10:07:00", AlarmID=40),
    ])
    records, warnings = ts.parse(data, NEW_YORK)
    assert warnings == []
    r = by_seq(records)
    assert (r[1].sensor, r[1].status, r[1].value) == ("G6", 1, 0)
    assert [r[i].action for i in (2, 3, 4)] == ["start", "join", "stop"]
    assert (r[5].name, r[6].family, r[6].name) == ("CgmSensorFail", "CGM", None)
    assert (r[7].malfunction, r[7].alarm_id, r[7].name) == (True, 0x1234, "Malfunction")
    assert r[8].name == "DefaultAlarm40"


# --------------------------------------------------------------------------- unknown and malformed

def test_codes_without_a_definition_are_ignored_and_counted_never_warned(caplog):
    events = [basal(1, "2026-05-14T00:00:00", 800), ev(562, 2, "2026-05-14T00:01:00", x=1),
              ev(562, 3, "2026-05-14T00:02:00"), ev(8, 4, "2026-05-14T00:03:00"), ev(562, 5, "2026-05-14T00:04:00"),
              ev(4000, 6, "2026-05-14T00:05:00")]
    with caplog.at_level("DEBUG", logger="tconnectsync.parser.tandemsource.events"):
        records, warnings = parse_json(events)
    assert warnings == []
    assert [(type(r).__name__, r.seq) for r in records] == [("BasalDelivery", 1)] + [
        ("IgnoredEvent", seq) for seq in (2, 3, 4, 5, 6)]
    r = by_seq(records)
    assert (r[2].reason, r[4].reason, r[6].reason) == ("asked for, no public definition", "not asked for",
                                                       "no definition")
    assert r[4].time == dt.datetime(2026, 5, 14, 4, 3, tzinfo=UTC)
    assert ts.ignored_counts(records) == {562: 3, 8: 1, 4000: 1}
    lines = [rec.getMessage() for rec in caplog.records]
    assert all(rec.levelname == "DEBUG" for rec in caplog.records) and len(lines) == 3
    assert any("ignored 3 events of code 562 (asked for, no public definition), the first event 562 seq 2"
               in line for line in lines)


def test_every_code_tandem_is_known_to_send_without_a_definition_is_ignored():
    from tconnectsync.api.tandemsource.client import DEFAULT_EVENT_CODES
    undefined = sorted(c for c in DEFAULT_EVENT_CODES if c not in catalog())
    assert undefined == [57, 69, 558, 559, 562, 563, 564, 565, 566]
    events = [ev(code, i, "2026-05-14T00:%02d:00" % i) for i, code in enumerate(undefined + [8, 27], 1)]
    records, warnings = parse_json(events)
    assert warnings == [] and ts.ignored_counts(records) == {c: 1 for c in undefined + [8, 27]}


def test_code_without_a_definition_in_the_binary_stream_is_ignored():
    data = record(279, 1, "2026-05-14T00:00:00", Commanded_Rate=800) + \
        bytes.fromhex("0fff") + (tandem_seconds("2026-05-14T00:01:00")).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(16)
    records, warnings = ts.parse(data, NEW_YORK)
    assert warnings == []
    assert records[0].rate == 0.8 and isinstance(records[1], R.IgnoredEvent) and records[1].code == 4095
    assert ts.ignored_counts(records) == {4095: 1}


def test_a_broken_event_of_a_decoded_kind_still_warns_next_to_ignored_ones():
    events = [ev(562, 1, "2026-05-14T00:00:00"), ev(279, 2, "2026-05-14T00:05:00", commandedRateSource=3),
              ev(27, 3, "2026-05-14T00:06:00")]
    records, warnings = parse_json(events)
    assert len(warnings) == 1 and warnings[0].record.startswith("event 279 seq 2")
    assert ts.ignored_counts(records) == {562: 1, 27: 1}


# ------------------------------------------------------------------------------ 81 daily basal

def test_daily_basal_81_battery_in_the_current_layout_from_bytes():
    # header: code 81, time, seq; body: three float32, then millivolts (uint16 @12), percent (@14),
    # final-event flag (@15) -- offsets count from the body, i.e. record bytes 22, 24 and 25.
    header = bytes.fromhex("0051") + tandem_seconds("2026-05-14T23:59:59").to_bytes(4, "big") + \
        (77).to_bytes(4, "big")
    body = bytes.fromhex("41aaf5c3" "3f4ccccd" "3ecccccd" "0ef6" "37" "01")      # 21.37, 0.8, 0.4, 3830, 55, 1
    records, warnings = ts.parse(header + body, NEW_YORK)
    assert warnings == []
    (r,) = records
    assert isinstance(r, R.DailyBasal) and r.seq == 77
    assert (r.total_basal, r.last_rate, r.iob) == (21.37, 0.8, 0.4)
    assert (r.battery_mv, r.battery_percent, r.final_event) == (3830, 55, True)
    records, _ = ts.parse(header + body[:14] + bytes([101, 0]), NEW_YORK)
    assert (records[0].battery_percent, records[0].battery_mv, records[0].final_event) == (None, 3830, False)


def test_daily_basal_81_from_pump_logs_json():
    records, warnings = parse_json([ev(81, 1, "2026-05-14T23:59:59", dailyTotalBasal=22.3535, lastBasalRate=0.8,
                                       iob=3.9823, batteryLipoMilliVolts=3830, batteryChargePercent=55,
                                       finalEventForDay=0)])
    assert warnings == []
    assert (records[0].battery_mv, records[0].battery_percent, records[0].final_event) == (3830, 55, False)


@pytest.mark.parametrize("bad, reason", [
    (ev(279, 2, "2026-05-14T00:05:00", commandedRateSource=3, commandedRate="800"), "Commanded Rate is \"800\""),
    (ev(279, 2, "2026-05-14T00:05:00", commandedRateSource=True, commandedRate=800), "not a number"),
    (ev(279, 2, "2026-05-14T00:05:00", commandedRateSource=3, commandedRate=800.5), "not a whole number"),
    (ev(279, 2, "2026-05-14T00:05:00", commandedRateSource=3, commandedRate=70000), "outside uint16"),
    (ev(279, 2, "2026-05-14T00:05:00", commandedRateSource=3), "Commanded Rate is missing"),
    (ev(20, 2, "2026-05-14T00:05:00", completionStatus=3, insulinDelivered=1.0), "BolusID is missing"),
    (ev(20, 2, "2026-05-14T00:05:00", bolusId=1, insulinDelivered="1.0"), "InsulinDelivered"),
    (ev(229, 2, "2026-05-14T00:05:00", requestedAction=1, activeSleepSchedule=[9]), "not a bit position"),
    (ev(229, 2, "2026-05-14T00:05:00", requestedAction=1, activeSleepSchedule=["a"]), "not a bit position"),
    (dict(ev(279, 2, "2026-05-14T00:05:00"), eventProperties=[1, 2]), "eventProperties is [1, 2]"),
    (dict(ev(279, 2, "2026-05-14T00:05:00"), pumpDateTime="yesterday"), "not a date and time"),
    (dict(ev(279, 2, "2026-05-14T00:05:00"), pumpDateTime=12345), "not a string"),
    (dict(ev(279, 2, "2026-05-14T00:05:00"), pumpDateTime="2026-05-14T00:05:00+02:00"), "has an offset"),
    (dict(ev(279, 2, "2026-05-14T00:05:00"), sequenceNumber="2"), "sequenceNumber"),
    (dict(ev(279, 2, "2026-05-14T00:05:00"), eventCode=None), "eventCode"),
    ("not an event", "not an object"),
    (ev(399, 2, "2026-05-14T00:05:00", glucoseValueStatus=0, currentGlucoseDisplayValue=120,
        egvTimeStamp=tandem_seconds("2026-05-17T00:05:00")), "too far"),
])
def test_a_malformed_json_event_is_a_warning_not_an_exception(bad, reason):
    good = [basal(1, "2026-05-14T00:00:00", 800), basal(3, "2026-05-14T00:10:00", 900)]
    records, warnings = parse_json([good[0], bad, good[1]])
    assert [r.seq for r in records] == [1, 3]
    assert len(warnings) == 1, warnings
    assert reason in warnings[0].reason
    if isinstance(bad, dict) and isinstance(bad.get("sequenceNumber"), int) and isinstance(bad.get("eventCode"), int):
        assert warnings[0].record.startswith("event %d seq 2" % bad["eventCode"])


def test_json_numbers_as_floats_and_missing_optional_fields_are_fine():
    records, warnings = parse_json([ev(279, 1, "2026-05-14T00:00:00", commandedRateSource=1.0, commandedRate=800.0)])
    assert warnings == [] and records[0].rate == 0.8 and records[0].profile_rate is None
    records, warnings = parse_json([dict(ev(12, 2, "2026-05-14T00:00:00Z"), sequenceGroup=None)])
    assert warnings and "sequenceGroup" in warnings[0].reason
    del_group = ev(12, 2, "2026-05-14T00:00:00Z")
    del del_group["sequenceGroup"]
    records, warnings = parse_json([del_group])
    assert warnings == [] and records[0].group == 0 and records[0].wall == dt.datetime(2026, 5, 14)


def test_truncated_binary_record():
    good = record(279, 1, "2026-05-14T00:00:00", Commanded_Rate=800) + \
        record(279, 2, "2026-05-14T00:05:00", Commanded_Rate=900)
    cut = record(20, 3, "2026-05-14T00:06:00", BolusID=5, InsulinDelivered=1.0)[:17]
    records, warnings = ts.parse(good + cut, NEW_YORK)
    assert [r.seq for r in records] == [1, 2]
    assert len(warnings) == 1
    assert "event 20 seq 3" in warnings[0].record and "truncated record: 17 of 26 bytes" in warnings[0].reason
    records, warnings = ts.parse(good + b"\x01\x17\x00", NEW_YORK)
    assert len(records) == 2 and "3 trailing bytes" in warnings[0].record


def test_legacy_body_that_is_not_base64():
    records, warnings = ts.parse('"not base64!!"', NEW_YORK)
    assert records == [] and "not base64" in warnings[0].reason
    data = record(279, 1, "2026-05-14T00:00:00", Commanded_Rate=800)
    records, warnings = ts.parse(json.dumps(base64.b64encode(data).decode()), NEW_YORK)
    assert warnings == [] and records[0].rate == 0.8


def test_answer_shapes():
    events = [basal(1, "2026-05-14T00:00:00", 800)]
    as_text, warnings = ts.parse(json.dumps({"events": events, "clockChanges": []}), NEW_YORK)
    assert warnings == [] and [r.seq for r in as_text] == [1]
    records, warnings = ts.parse({"evts": events}, NEW_YORK)
    assert records == [] and "has no events list (keys: evts)" in warnings[0].reason
    records, warnings = ts.parse({"events": {"a": 1}}, NEW_YORK)
    assert records == [] and "not a list" in warnings[0].reason
    records, warnings = ts.parse("{broken", NEW_YORK)
    assert records == [] and "not JSON" in warnings[0].reason


def test_duplicates_are_dropped_and_conflicts_warned():
    a = basal(1, "2026-05-14T00:00:00", 800)
    records, warnings = parse_json([a, dict(a), basal(1, "2026-05-14T00:00:00", 900)])
    assert [r.rate for r in records] == [0.8]
    assert len(warnings) == 1 and "seen twice" in warnings[0].reason


def test_events_come_out_in_sequence_order_and_records_pass_through():
    events = [basal(5, "2026-05-14T00:10:00", 900), basal(2, "2026-05-14T00:00:00", 800)]
    records, _ = parse_json(events)
    assert [r.seq for r in records] == [2, 5]
    again, warnings = ts.parse(list(reversed(records)), NEW_YORK)
    assert again == records and warnings == []


def test_records_are_frozen():
    records, _ = parse_json([basal(1, "2026-05-14T00:00:00", 800)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        records[0].rate = 1.0
