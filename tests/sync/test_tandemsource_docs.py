"""Tandem Source events -> Nightscout documents: per feature, DST and clock changes, idempotency,
and a comparison with what tconnectsync 3.0.3 uploaded for the fixture day (docs/tandem-source.md §7.4, §8)."""
import datetime as dt

from tconnectsync import nightscout, timeutil
from tconnectsync.parser.records import IobValue
from tconnectsync.sync.documents import identifier
from tconnectsync.sync import spanning
from tconnectsync.sync.engine import plan_treatments
from tconnectsync.sync.tandemsource_docs import source_documents
from tconnectsync.sync.profiles import profile_store

from tests.parser._source import (NEW_YORK, SERIAL, basal, ev, fixture_bytes, fixture_json,
                                  tandem_seconds, time_changed)

UTC = dt.timezone.utc
ALL = ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS", "PROFILES", "CGM", "CGM_ALERTS")
FIXTURE_NOW = dt.datetime(2026, 8, 13, 4, 0, tzinfo=UTC)          # 2026-08-13 00:00 EDT


def docs_of(result, feature=None):
    return [d for f, d in result.treatments if feature is None or f == feature]


def partial_docs(result, stored=()):
    """The documents the engine would write for the spanning records into a Nightscout holding ``stored``."""
    out = []
    for p in result.spanning:
        doc, _ = spanning.resolve(p, spanning.find(p.key, list(stored)))
        if doc is not None:
            out.append((p.feature, doc))
    return out


def partials_of(result):
    return list(result.spanning)


def by_event(docs, event_type):
    return [d for d in docs if d["eventType"] == event_type]


def at(text, tz=NEW_YORK):
    return timeutil.localize(dt.datetime.fromisoformat(text), tz)


def run(events, features=ALL, now=FIXTURE_NOW, **kw):
    return source_documents(events, features, SERIAL, NEW_YORK, now=now, **kw)


# ---------------------------------------------------------------------------------- BASAL

def test_basal_segments_do_not_overlap_and_the_last_runs_until_the_data_ends():
    events = [basal(1, "2026-08-12T10:00:00", 800), basal(2, "2026-08-12T10:05:00", 850),
              basal(3, "2026-08-12T10:05:00", 900),             # same second: the later row wins
              basal(4, "2026-08-12T10:20:00", 0, source=0), ev(12, 5, "2026-08-12T10:30:00"),
              basal(6, "2026-08-12T10:30:00", 1000), ev(90, 7, "2026-08-12T10:42:00")]
    docs = docs_of(run(events, ("BASAL",)))
    got = [(d["created_at"], d["duration"], d["absolute"], d["reason"]) for d in docs]
    assert got == [("2026-08-12T10:00:00-04:00", 5.0, 0.8, "Algorithm"),
                   ("2026-08-12T10:05:00-04:00", 15.0, 0.9, "Algorithm"),
                   ("2026-08-12T10:20:00-04:00", 10.0, 0.0, "Suspended"),
                   ("2026-08-12T10:30:00-04:00", 12.0, 1.0, "Algorithm")]
    assert all(d["eventType"] == "Temp Basal" and d["rate"] == d["absolute"] for d in docs)
    assert docs[0]["identifier"] == identifier(SERIAL, "basal-delivery", 1)
    assert docs[0]["enteredBy"] == "Pump (tconnectsync)" and docs[0]["pump_event_id"] == "1"


def test_running_segment_grows_in_place():
    events = [basal(1, "2026-08-12T10:00:00", 800)]
    early = docs_of(run(events + [ev(90, 2, "2026-08-12T10:10:00")], ("BASAL",)))
    later = docs_of(run(events + [ev(90, 3, "2026-08-12T10:40:00")], ("BASAL",)))
    assert early[0]["identifier"] == later[0]["identifier"]
    assert (early[0]["duration"], later[0]["duration"]) == (10.0, 40.0)
    # the duration never runs past "now" (a pump clock ahead cannot stretch it)
    capped = docs_of(run(events + [ev(90, 3, "2026-08-12T23:00:00")], ("BASAL",), now=at("2026-08-12T11:00:00")))
    assert capped[0]["duration"] == 60.0


def test_a_suspension_without_a_delivery_row_is_zero_until_resume():
    events = [basal(1, "2026-08-12T10:00:00", 800), ev(11, 2, "2026-08-12T10:15:00", suspendReason=0),
              ev(12, 3, "2026-08-12T10:40:00"), basal(4, "2026-08-12T10:50:00", 900),
              ev(90, 5, "2026-08-12T11:00:00")]
    docs = docs_of(run(events, ("BASAL",)))
    got = [(d["created_at"][11:19], d["duration"], d["absolute"], d.get("reason")) for d in docs]
    # after the resume the rate is not logged until the next row: nothing is guessed for 10:40-10:50
    assert got == [("10:00:00", 15.0, 0.8, "Algorithm"), ("10:15:00", 25.0, 0.0, "Suspended"),
                   ("10:50:00", 10.0, 0.9, "Algorithm")]
    assert docs[1]["identifier"] == identifier(SERIAL, "basal-suspension", 2)


def test_basal_across_the_fall_back_night():
    events = [basal(1, "2021-11-07T00:30:00", 800), basal(2, "2021-11-07T01:30:00", 900),
              basal(3, "2021-11-07T01:10:00", 1000), basal(4, "2021-11-07T02:00:00", 700),
              ev(90, 5, "2021-11-07T02:30:00")]
    docs = docs_of(run(events, ("BASAL",), now=at("2021-11-08T00:00:00")))
    got = [(d["created_at"], d["duration"]) for d in docs]
    assert got == [("2021-11-07T00:30:00-04:00", 60.0), ("2021-11-07T01:30:00-04:00", 40.0),
                   ("2021-11-07T01:10:00-05:00", 50.0), ("2021-11-07T02:00:00-05:00", 30.0)]


def test_basal_across_the_spring_forward_night():
    events = [basal(1, "2021-03-14T01:30:00", 800), basal(2, "2021-03-14T03:10:00", 900),
              ev(90, 3, "2021-03-14T03:40:00")]
    docs = docs_of(run(events, ("BASAL",), now=at("2021-03-15T00:00:00")))
    assert [(d["created_at"], d["duration"]) for d in docs] == [("2021-03-14T01:30:00-05:00", 40.0),
                                                                ("2021-03-14T03:10:00-04:00", 30.0)]


def test_basal_around_a_pump_clock_correction():
    # Clock an hour fast until 14:00 pump time, then set to 13:00: no negative or overlapping segments.
    events = [basal(1, "2026-08-12T13:30:00", 800), time_changed(2, "2026-08-12T13:00:00", "14:00:00", "13:00:00"),
              basal(3, "2026-08-12T13:05:00", 900), ev(90, 4, "2026-08-12T13:35:00")]
    docs = docs_of(run(events, ("BASAL",)))
    assert [(d["created_at"], d["duration"]) for d in docs] == [("2026-08-12T12:30:00-04:00", 35.0),
                                                                ("2026-08-12T13:05:00-04:00", 30.0)]


# ---------------------------------------------------------------------------------- BOLUS

def bolus_events(bid, seq, t, *, carbs=0, bg=0, options=0, percent=100, duration=0, delivered=None, status=3,
                 total=None, override=0, declined=0, done="2026-08-12T12:01:00"):
    total = total if total is not None else delivered
    out = [ev(64, seq, t, bolusId=bid, bolusType=1, correctionBolusIncluded=0, carbAmount=carbs, bg=bg,
              carbRatio=10000, iob=0.0),
           ev(65, seq + 1, t, bolusId=bid, options=options, standardPercent=percent, duration=duration, isf=50,
              targetBg=110, userOverride=override, declinedCorrection=declined),
           ev(66, seq + 2, t, bolusId=bid, foodBolusSize=total, correctionBolusSize=0.0, totalBolusSize=total)]
    if delivered is not None:
        out.append(ev(20, seq + 3, done, bolusId=bid, completionStatus=status, insulinDelivered=delivered,
                      insulinRequested=total, iob=1.0))
    return out


def test_standard_bolus_with_carbs_and_bg():
    docs = docs_of(run(bolus_events(7, 10, "2026-08-12T12:00:00", carbs=40, bg=180, delivered=4.5, override=1,
                                    declined=1), ("BOLUS",)))
    assert docs == [{"eventType": "Combo Bolus", "created_at": "2026-08-12T12:01:00-04:00",
                     "enteredBy": "Pump (tconnectsync)", "identifier": identifier(SERIAL, "bolus", 7),
                     "insulin": 4.5, "carbs": 40, "glucose": 180, "units": "mg/dl",
                     "notes": "Standard Bolus (Override) (Declined Correction)", "pump_event_id": "13,10,11,12"}]


def test_aborted_bolus_keeps_its_partial_amount_and_says_so():
    result = run(bolus_events(8, 10, "2026-08-12T12:00:00", delivered=1.2, total=3.0, status=0), ("BOLUS",))
    doc = docs_of(result)[0]
    assert doc["insulin"] == 1.2 and doc["notes"] == "Standard Bolus (User Aborted: requested 3.00 units)"


def test_bolus_without_insulin_or_not_yet_delivered_is_skipped_with_a_reason():
    result = run(bolus_events(9, 10, "2026-08-12T12:00:00", delivered=0.0, total=3.0, status=0)
                 + bolus_events(10, 20, "2026-08-12T12:30:00", total=2.0), ("BOLUS",))
    assert docs_of(result) == []
    assert result.fetched["BOLUS"] == 2
    assert [s.split(":")[0] for s in result.skipped["BOLUS"]] == ["bolus 9 at 2026-08-12T12", "bolus 10 requested 2026-08-12T12"]
    assert "no insulin delivered (User Aborted)" in result.skipped["BOLUS"][0]
    assert "not delivered yet" in result.skipped["BOLUS"][1]


def test_extended_bolus_running_then_completed_is_one_document_updated_in_place():
    start = bolus_events(11, 10, "2026-08-12T12:00:00", carbs=60, options=1, percent=40, duration=180,
                         delivered=2.0, total=5.0, done="2026-08-12T12:00:40")
    start += [ev(59, 20, "2026-08-12T12:00:05", bolusId=11, bolexSize=3.0, iob=0.0)]
    running = run(start + [ev(90, 30, "2026-08-12T13:00:00")], ("BOLUS",))
    assert docs_of(running) == []                                   # merged with Nightscout by the handler
    (feature, doc), = partial_docs(running)
    assert feature == "BOLUS"
    assert (doc["insulin"], doc["duration"], doc["relative"], doc["enteredinsulin"], doc["splitNow"],
            doc["splitExt"]) == (2.0, 180.0, 1.0, 5.0, 40, 60)
    assert doc["notes"] == "Extended Bolus (Extended: 2.00 U now, 3.00 U over 180 min in progress)"
    done = run(start + [ev(21, 31, "2026-08-12T15:00:05", bolusId=11, completionStatus=3, insulinDelivered=2.5,
                           insulinRequested=3.0, iob=1.0)], ("BOLUS",))
    (final,) = docs_of(done)
    assert final["identifier"] == doc["identifier"] and final["created_at"] == doc["created_at"]
    assert (final["insulin"], final["duration"], final["relative"], final["enteredinsulin"]) == (2.0, 180.0, 0.833, 4.5)
    assert final["notes"] == "Extended Bolus (Extended: 2.00 U now + 2.50 U over 180 min, completed)"
    # the running document never replaces a completed one Nightscout already holds
    stored = dict(final, created_at="2026-08-12T16:00:40.000Z", _id="6b01ffacc4e66efa81b22b01")
    assert partial_docs(running, [stored]) == []


def test_extended_part_completing_in_a_later_chunk_updates_the_stored_bolus():
    tail = [ev(21, 31, "2026-08-13T01:00:05", bolusId=11, completionStatus=3, insulinDelivered=3.0,
               insulinRequested=3.0, iob=1.0)]
    stored = {"eventType": "Combo Bolus", "created_at": "2026-08-13T03:40:00.000Z", "enteredBy": "Pump (tconnectsync)",
              "identifier": identifier(SERIAL, "bolus", 11), "insulin": 2, "carbs": 60, "duration": 180,
              "relative": 1, "enteredinsulin": 5, "splitNow": 40, "splitExt": 60, "_id": "6b01ffacc4e66efa81b22b02",
              "notes": "Extended Bolus (Extended: 2.00 U now, 3.00 U over 180 min in progress)",
              "pump_event_id": "13,10,11,12"}
    result = run(tail, ("BOLUS",), now=dt.datetime(2026, 8, 14, tzinfo=UTC))
    (_, doc), = partial_docs(result, [stored])
    assert (doc["carbs"], doc["insulin"], doc["enteredinsulin"], doc["relative"]) == (60, 2, 5.0, 1.0)
    assert doc["notes"] == "Extended Bolus (Extended: 2.00 U now + 3.00 U over 180 min, completed)"
    assert doc["pump_event_id"] == "13,31,10,11,12" and "_id" not in doc
    assert partial_docs(result, []) == []
    (partial,) = partials_of(result)
    assert partial.missing.key == "bolus-orphan" and "neither in this window nor in Nightscout" in partial.missing


# ---------------------------------------------------------------------------- PUMP_EVENTS

def test_alarms_fills_suspend_resume():
    events = [ev(5, 1, "2026-08-12T18:00:00", alarmId=2), ev(5, 2, "2026-08-12T18:01:00", alarmId=23),
              ev(6, 3, "2026-08-12T18:02:00", malfId=4660), ev(11, 4, "2026-08-12T18:03:00", suspendReason=6),
              ev(11, 5, "2026-08-12T18:03:30", suspendReason=9), ev(12, 6, "2026-08-12T18:04:00"),
              ev(33, 7, "2026-08-12T18:05:00", insulinVolume=0, v2Volume=150.4),
              ev(61, 8, "2026-08-12T18:06:00", primeSize=0.1, completionStatus=0),
              ev(63, 9, "2026-08-12T18:07:00", primeSize=12.0, completionStatus=3)]
    result = run(events, ("PUMP_EVENTS",))
    got = [(d["eventType"], d["reason"], d.get("notes")) for d in docs_of(result)]
    assert got == [("Alarm", "OcclusionAlarm", "OcclusionAlarm"), ("Alarm", "Malfunction", "Malfunction (code 4660)"),
                   ("Basal Suspension", "AutoSuspendByPlgs", "AutoSuspendByPlgs"),
                   ("Basal Suspension", "SuspendReason9", "SuspendReason9"),
                   ("Basal Resume", "Basal resumed", "Basal resumed"),
                   ("Insulin Change", "Cartridge Filled (150u filled)", "Cartridge Filled (150u filled)"),
                   ("Site Change", "Cannula Filled (0.1u primed) (User Aborted)",
                    "Cannula Filled (0.1u primed) (User Aborted)"),
                   ("Note", "Tubing Filled (12u primed)", "Tubing Filled (12u primed)")]
    assert "ResumePumpAlarm2" in result.skipped["PUMP_EVENTS"][0]
    idents = [d["identifier"] for d in docs_of(result)]
    assert len(set(idents)) == len(idents)


def user_mode(seq, when, action, gui=0, schedule=(), timed=0, by_timer=0):
    return ev(229, seq, when, requestedAction=action, sleepStartedByGui=gui, activeSleepSchedule=list(schedule),
              exerciseChoice=timed, exerciseStoppedByTimer=by_timer, exerciseTime=30 if timed else 0)


def test_sleep_and_exercise_with_durations():
    events = [user_mode(1, "2026-08-12T00:30:00", 1), user_mode(2, "2026-08-12T06:00:00", 2),
              user_mode(3, "2026-08-12T17:00:00", 3), user_mode(4, "2026-08-12T17:20:00", 1, schedule=[1]),
              user_mode(5, "2026-08-12T17:30:00", 5), user_mode(6, "2026-08-12T20:00:00", 6),
              user_mode(7, "2026-08-12T21:00:00", 3, timed=1), ev(90, 8, "2026-08-12T21:40:00")]
    result = run(events, ("PUMP_EVENTS",))
    got = sorted((d["eventType"], d["created_at"][11:19], d["duration"], d["reason"], d["pump_event_id"])
                 for d in docs_of(result))
    assert got == [("Exercise", "17:00:00", 30.0, "Exercise", "3,5"), ("Sleep", "00:30:00", 330.0, "Sleep", "1,2"),
                   ("Sleep", "17:20:00", 10.0, "Sleep (Scheduled)", "4,5")]
    running = partial_docs(result)
    assert [(d["eventType"], d["duration"], d["reason"]) for _, d in running] == [
        ("Exercise", 40.0, "Exercise (Timed) - Not Ended")]
    assert "action 6" in result.skipped["PUMP_EVENTS"][0]


def test_a_stop_whose_start_an_earlier_chunk_synced_closes_the_stored_document():
    stored = {"eventType": "Sleep", "created_at": "2026-08-13T02:45:00.000Z", "enteredBy": "Pump (tconnectsync)",
              "identifier": identifier(SERIAL, "sleep", 700), "reason": "Sleep (Scheduled) - Not Ended",
              "notes": "Sleep (Scheduled) - Not Ended", "duration": 75, "pump_event_id": "700",
              "_id": "6b01ffacc4e66efa81b22b03"}
    older_closed = dict(stored, created_at="2026-08-12T02:45:00.000Z", identifier="x", reason="Sleep (Scheduled)")
    result = run([user_mode(800, "2026-08-13T06:45:00", 2)], ("PUMP_EVENTS",), now=dt.datetime(2026, 8, 14, tzinfo=UTC))
    (_, doc), = partial_docs(result, [older_closed, stored])
    assert doc["identifier"] == stored["identifier"] and doc["created_at"] == stored["created_at"]
    assert (doc["reason"], doc["notes"], doc["duration"], doc["pump_event_id"]) == (
        "Sleep (Scheduled)", "Sleep (Scheduled)", 480.0, "700,800")
    # nothing running: nothing written, and the stop is skipped with its reason
    assert partial_docs(result, [older_closed]) == []
    (partial,) = partials_of(result)
    assert partial.missing.key == "mode-orphan" and "no running Sleep" in partial.missing


def test_a_stop_that_the_chunk_which_wrote_its_mode_already_read_is_merged_not_an_orphan():
    """A Sleep longer than a chunk's margin: the chunk owning its start read ahead to its stop and
    wrote it closed; the chunk owning the stop finds that document and counts the stop merged."""
    closed = {"eventType": "Sleep", "created_at": "2026-08-11T02:45:00.000Z", "enteredBy": "Pump (tconnectsync)",
              "identifier": identifier(SERIAL, "sleep", 700), "reason": "Sleep (Scheduled)",
              "notes": "Sleep (Scheduled)", "duration": 3360, "pump_event_id": "700,800",
              "_id": "6b01ffacc4e66efa81b22b04"}
    result = run([user_mode(800, "2026-08-13T06:45:00", 2)], ("PUMP_EVENTS",), now=dt.datetime(2026, 8, 14, tzinfo=UTC))
    assert partial_docs(result, [closed]) == []
    (item,) = partials_of(result)
    assert spanning.resolve(item, spanning.find(item.key, [closed])) == (None, "merged")
    other = dict(closed, reason="Sleep", pump_event_id="700,799")          # closed by another stop
    assert spanning.find(item.key, [other]) is None


def test_cgm_sessions_under_pump_events_or_cgm_alerts():
    events = [ev(212, 1, "2026-08-12T08:00:00"), ev(394, 2, "2026-08-12T08:01:00", cgmTimestamp=0,
                                                     sessionSignature=0), ev(447, 3, "2026-08-12T09:00:00")]
    for features in (("PUMP_EVENTS",), ("CGM_ALERTS",), ("PUMP_EVENTS", "CGM_ALERTS")):
        result = run(events, features)
        got = [(f, d["eventType"], d["reason"]) for f, d in result.treatments]
        feature = features[0]
        assert got == [(feature, "Sensor Start", "CGM Session Started"), (feature, "Sensor Start", "CGM Session Joined"),
                       (feature, "Sensor Stop", "CGM Session Stopped")]


# ----------------------------------------------------------------------------- CGM alerts / CGM

def test_cgm_alerts():
    events = [ev(369, 1, "2026-08-12T08:00:00", dalertId=2, sensorType=3),
              ev(369, 2, "2026-08-12T08:01:00", dalertId=14, sensorType=3),
              ev(460, 3, "2026-08-12T08:02:00", dalertId=1, sensorType=2),
              ev(171, 4, "2026-08-12T08:03:00", dalertId=99)]
    result = run(events, ("CGM_ALERTS",))
    assert [d["reason"] for d in docs_of(result)] == ["Dexcom CGM Alert (CgmHigh)", "Libre CGM Alert (CgmFixedLow)",
                                                      "CGM Alert (code 99)"]
    assert all(d["eventType"] == "CGM Alert" and d["notes"] == d["reason"] for d in docs_of(result))
    assert "out-of-range" in result.skipped["CGM_ALERTS"][0]


def reading(seq, when, value, status=0, code=399, lag_s=3):
    egv = dt.datetime.fromisoformat(when) - dt.timedelta(seconds=lag_s)
    return ev(code, seq, when, glucoseValueStatus=status, currentGlucoseDisplayValue=value, rate=0,
              egvTimeStamp=tandem_seconds(egv.isoformat()))


def test_cgm_readings_become_entries_and_invalid_ones_are_skipped():
    events = [reading(1, "2026-08-12T08:00:00", 120), reading(2, "2026-08-12T08:05:00", 0, status=1),
              reading(3, "2026-08-12T08:10:00", 0, status=2), reading(4, "2026-08-12T08:15:00", 35),
              reading(5, "2026-08-12T08:20:00", 450), reading(6, "2026-08-12T08:25:00", 180, status=6),
              reading(7, "2026-08-12T08:25:00", 180, lag_s=303),                 # backfill of reading 6's slot... 08:19:57
              reading(8, "2026-08-12T08:30:00", 130, code=256), reading(9, "2026-08-12T08:30:00", 130, code=256)]
    result = run(events, ("CGM",))
    assert result.treatments == [] and result.fetched["CGM"] == 9
    entries = result.entries
    got = [(e["sgv"], e["dateString"]) for e in entries]
    assert got == [(120, "2026-08-12T07:59:57-04:00"), (401, "2026-08-12T08:04:57-04:00"),
                   (39, "2026-08-12T08:09:57-04:00"), (39, "2026-08-12T08:14:57-04:00"),
                   (401, "2026-08-12T08:19:57-04:00"), (130, "2026-08-12T08:29:57-04:00")]
    assert entries[0] == {"type": "sgv", "sgv": 120, "date": int(at("2026-08-12T07:59:57").timestamp() * 1000),
                          "dateString": "2026-08-12T07:59:57-04:00", "device": "Pump (tconnectsync)",
                          "identifier": identifier(SERIAL, "sgv", 1), "pump_event_id": "1"}
    assert any("status 6" in s for s in result.skipped["CGM"])


# ------------------------------------------------------------------------------- IOB

def test_iob_is_the_newest_value_the_events_carry():
    events = bolus_events(7, 10, "2026-08-12T12:00:00", delivered=2.0) + [
        ev(16, 20, "2026-08-12T13:00:00", bg=150, iob=1.7), basal(21, "2026-08-12T14:00:00", 800)]
    assert run(events, ("IOB",)).iob == IobValue(time=at("2026-08-12T13:00:00"), iob=1.7)
    assert run([basal(1, "2026-08-12T14:00:00", 800)], ("IOB",)).iob is None
    assert run(events, ("BASAL",)).iob is None


# ------------------------------------------------------------------ identifiers and idempotency

def test_a_re_run_creates_nothing_and_json_and_binary_agree():
    body = fixture_json("bff-pump-logs-response.json")
    first = run(body)
    again = run(body)
    assert first.treatments == again.treatments
    stored = [dict(nightscout.normalize_for_compare(d), _id="%024x" % i) for i, (_, d) in enumerate(first.treatments)]
    posts, deletes, unchanged = plan_treatments(first.treatments, stored)
    assert not posts and not deletes and len(unchanged) == len(first.treatments)
    # a hole (one document missing in Nightscout) is filled, nothing else touched
    posts, deletes, _ = plan_treatments(first.treatments, stored[:5] + stored[6:])
    assert [(a, d["identifier"]) for a, _, d in posts] == [("create", first.treatments[5][1]["identifier"])]
    binary = run(fixture_bytes("pump-events.bin"), now=dt.datetime(2026, 8, 13, 3, 55, tzinfo=UTC))
    assert binary.treatments == first.treatments          # same ids and values (event 81 only adds IOB)
    assert binary.iob == IobValue(time=at("2026-08-12T23:59:59"), iob=0.4)


def test_warnings_go_to_the_feature_that_reads_the_event():
    events = [basal(1, "2026-08-12T10:00:00", 800), ev(279, 2, "2026-08-12T10:05:00", commandedRateSource="x"),
              ev(20, 3, "2026-08-12T10:06:00", insulinDelivered=1.0), ev(562, 4, "2026-08-12T10:07:00"),
              ev(399, 5, "2026-08-12T10:08:00", glucoseValueStatus=0)]
    result = run(events, ("BASAL", "BOLUS"))
    assert [w.record.split(" (")[0] for w in result.warnings_by_feature["BASAL"]] == ["event 279 seq 2"]
    assert [w.record.split(" (")[0] for w in result.warnings_by_feature["BOLUS"]] == ["event 20 seq 3"]
    assert result.warnings == []          # 562 has no definition: ignored; the CGM one: not synced
    assert result.ignored == {562: 1}


def test_future_dated_events_are_not_uploaded():
    events = [ev(5, 1, "2026-08-12T18:00:00", alarmId=2), basal(2, "2026-08-12T18:00:00", 800)]
    result = run(events, ("PUMP_EVENTS", "BASAL"), now=at("2026-08-12T12:00:00"))
    assert result.treatments == [] and "in the future" in result.skipped["PUMP_EVENTS"][0]


# ---------------------------------------------------------------------------------- PROFILES

def test_profile_store_from_the_pumper_answer():
    result = run([], ("PROFILES",), pump_settings=fixture_json("bff-pumper-response.json"))
    build = result.profiles
    assert build.default == "Weekday" and sorted(build.store) == ["Weekday", "Weekend"]
    details = fixture_json("bff-pumper-response.json")["pumps"][0]["settings"]["details"]
    store, default, problems = profile_store(details, "America/New_York")
    assert problems == [] and default == "Weekday" and sorted(store) == ["Weekday", "Weekend"]
    weekday = store["Weekday"]
    assert weekday["dia"] == 5.0 and weekday["carbs_hr"] == 20 and weekday["delay"] == 20
    assert weekday["basal"][1] == {"time": "06:00", "timeAsSeconds": 21600, "value": 1.0}
    assert [x["value"] for x in weekday["carbratio"]] == [10.0, 10.0, 12.0, 12.0]
    assert [x["value"] for x in weekday["sens"]] == [50, 50, 55, 55]
    assert [x["value"] for x in weekday["target_low"]] == [110, 110, 110, 120] == \
        [x["value"] for x in weekday["target_high"]]


def profile_build(result):
    return result.profiles


def test_profiles_are_skipped_without_settings_or_active_profile():
    build = profile_build(run([], ("PROFILES",)))
    assert build.store is None and build.fetched == 1
    assert build.skipped == ["no pump settings (the pumper answer) were given"]
    assert build.skipped[0].key == "profile-no-settings"
    settings = {"profiles": {"activeIdp": 9, "profile": [
        {"name": "A", "idp": 1, "insulinDuration": 240,
         "timeDependentSegments": [{"startTime": 0, "basalRate": 800, "isf": 40, "carbRatio": 9000, "targetBg": 110},
                                   {"startTime": 0, "basalRate": 0, "isf": 0, "carbRatio": 0, "targetBg": 0}]},
        {"name": "B", "idp": 2, "insulinDuration": 240,
         "timeDependentSegments": [{"startTime": 60, "basalRate": 800, "isf": 40, "carbRatio": 9000, "targetBg": 110}]},
        {"name": "C", "idp": 3, "insulinDuration": 240, "timeDependentSegments": [{"startTime": "x"}]}]}}
    build = profile_build(run([], ("PROFILES",), pump_settings={"settings": {"details": settings}}))
    assert build.store is None                          # nothing uploaded without an active profile
    # three profiles read: B and C (its only segment malformed) unusable; A usable but not active
    assert build.fetched == 3 and [s.key for s in build.skipped] == [
        "profile-unusable", "profile-unusable", "profile-no-active"]
    assert "'B' has no segment starting at midnight" in build.skipped[0]
    assert "no pump profile is marked active" in build.skipped[-1]
    assert build.notes == ["profile 'C': a malformed segment was skipped"]
    store, _, _ = profile_store(settings, "UTC")
    assert [x["value"] for x in store["A"]["basal"]] == [0.8]       # the all-zero placeholder is dropped


# --------------------------------------------------------- comparison with tconnectsync 3.0.3

def _instant(text):
    return timeutil.parse_iso_utc(text)


def _expected_bodies(collection):
    reqs = fixture_json("expected-nightscout-requests.json")["requests"]
    return [r["body"] for r in reqs if r["method"] in ("POST", "PUT") and "/api/v1/%s?" % collection in r["url"]]


def test_fixture_day_compared_with_tconnectsync_3_0_3():
    result = run(fixture_json("bff-pump-logs-response.json"), pump_settings=fixture_json("bff-pumper-response.json"))
    ours = [d for _, d in result.treatments] + [d for _, d in partial_docs(result)]
    theirs = _expected_bodies("treatments")
    assert len(theirs) == 34 and len(ours) == 33

    def find(doc, event_type=None):
        matches = [d for d in ours if _instant(d["created_at"]) == _instant(doc["created_at"])
                   and d["eventType"] == (event_type or doc["eventType"])]
        assert len(matches) == 1, doc
        return matches[0]

    common = 0
    for old in theirs:
        if old["eventType"] == "Combo Bolus" and old["pump_event_id"] in ("701101", "701095,701085,701087,701088"):
            continue                                   # the extended bolus, checked below
        event_type = old["eventType"]
        if old["eventType"] == "Site Change" and old["reason"].startswith("Cartridge"):
            event_type = "Insulin Change"
        if old["eventType"] == "Site Change" and old["reason"].startswith("Tubing"):
            event_type = "Note"
        new = find(old, event_type)
        common += 1
        # Every document: the same instant, written ISO-8601 with "T" (documents.created_at; 3.0.3
        # wrote a space except for Sensor Start/Stop -- Nightscout stores both as the same UTC time)
        # and a deterministic identifier: docs/tandem-source.md §8, "Duplicates and gaps" (3.0.3 de-duplicated only by
        # "later than the newest document of this eventType", so re-runs duplicated and holes stayed).
        assert new["created_at"] == timeutil.parse_iso_utc(old["created_at"]).astimezone(NEW_YORK).isoformat()
        assert new["identifier"] and new["enteredBy"] == old["enteredBy"] == "Pump (tconnectsync)"
        same_keys = set(old) - {"created_at", "carbs", "insulin", "glucose", "eventType"}
        assert {k: new.get(k) for k in same_keys} == {k: old[k] for k in same_keys}, old
        if old["eventType"] == "Temp Basal":
            # 3.0.3 sent "carbs": null, "insulin": null; we leave empty fields out (treatment()),
            # Nightscout stores the same (docs/nightscout.md §5.1: GET adds the nulls back).
            assert old["carbs"] is None and old["insulin"] is None and "carbs" not in new and "insulin" not in new
            continue
        if old["eventType"] == "Combo Bolus":
            assert new["insulin"] == old["insulin"] and new["carbs"] == old["carbs"]
            if "glucose" in old:
                # our convention (sync/bolus.py): BG as a number with its units; 3.0.3 sent a string
                # and no units
                assert (new["glucose"], new["units"]) == (int(old["glucose"]), "mg/dl")
            continue
        if event_type != old["eventType"]:
            # our convention: cartridge fills are Nightscout's "Insulin Change" (reservoir age),
            # tubing fills a "Note" -- only a cannula fill is a "Site Change" (cannula age); 3.0.3 sent
            # all three as "Site Change" (docs/tandem-source.md §8: one shared eventType, out of time order)
            assert new["eventType"] in ("Insulin Change", "Note")
        else:
            assert new["eventType"] == old["eventType"]
    assert common == 32

    # The extended bolus: 3.0.3 sent two "Combo Bolus" documents, the extended part as a 3 U bolus
    # at 14:15:10 when it finished. Our convention (sync/bolus.py): one Combo Bolus per BolusID with
    # insulin = the part delivered at once and the extended part as duration/relative/split.
    now_part = [d for d in theirs if d.get("pump_event_id") == "701095,701085,701087,701088"][0]
    ext_part = [d for d in theirs if d.get("pump_event_id") == "701101"][0]
    assert (now_part["insulin"], ext_part["insulin"], ext_part["created_at"]) == (3.0, 3.0, "2026-08-12 14:15:10-04:00")
    mine = find(now_part)
    assert (mine["insulin"], mine["carbs"], mine["duration"], mine["relative"], mine["enteredinsulin"],
            mine["splitNow"], mine["splitExt"]) == (3.0, 60, 120.0, 1.5, 6.0, 50, 50)
    assert mine["pump_event_id"] == "701095,701101,701085,701087,701088"
    assert mine["notes"] == "Extended Bolus (Extended: 3.00 U now + 3.00 U over 120 min, completed)"
    assert not [d for d in ours if _instant(d["created_at"]) == _instant(ext_part["created_at"])]

    # The still running sleep: same values (duration up to the last event, 23:55), but ours is a
    # partial that never undoes a later chunk's close (docs/tandem-source.md §8: 3.0.3 never corrected an unfinished one).
    running = [d for _, d in partial_docs(result)]
    assert [(d["reason"], d["duration"]) for d in running] == [("Sleep (Scheduled) - Not Ended", 70.0)]

    # CGM entries: same readings, values and instants; dateString with a colon in the offset, plus
    # an identifier (our convention); 3.0.3 sent "-0400".
    theirs_sgv = _expected_bodies("entries")
    entries = result.entries
    assert len(entries) == len(theirs_sgv) == 35
    for old, new in zip(sorted(theirs_sgv, key=lambda e: e["date"]), entries):
        assert {k: new[k] for k in ("type", "sgv", "date", "device", "pump_event_id")} == \
            {k: old[k] for k in ("type", "sgv", "date", "device", "pump_event_id")}
        assert _instant(new["dateString"]) == _instant(old["dateString"][:-2] + ":" + old["dateString"][-2:])

    # Profiles: same store names, basal, ISF, carb ratios and active profile. Differences:
    # targets are the pump's targetBg per segment (docs/tandem-source.md §7.4.12, §8: 3.0.3 used the CGM alert
    # thresholds 80/200), and numbers are numbers (3.0.3: "5.0", "20" strings).
    old_profile = _expected_bodies("profile")[0]
    store, default, _ = profile_store(fixture_json("bff-pumper-response.json")["pumps"][0]["settings"]["details"],
                                      "America/New_York")
    assert default == old_profile["defaultProfile"] == "Weekday"
    for name, old in old_profile["store"].items():
        new = store[name]
        for key in ("basal", "sens", "carbratio"):
            assert new[key] == old[key]
        for key in ("timezone", "startDate", "units"):
            assert new[key] == old[key]
        assert (old["target_low"][0]["value"], old["target_high"][0]["value"]) == (80, 200)
        assert [x["value"] for x in new["target_low"]] == [x["value"] for x in new["target_high"]]
        assert (old["dia"], new["dia"], old["carbs_hr"], new["carbs_hr"]) == ("5.0", 5.0, "20", 20)

    # IOB: 3.0.3 had no IOB processor; we give the engine the newest value the events carry.
    assert result.iob == IobValue(time=at("2026-08-12T15:40:50"), iob=2.0)
    # devicestatus (binary stream only, event 81): not produced (DEVICE_STATUS is not a feature here).
    assert fixture_json("expected-nightscout-requests.json")["binaryStreamOnly"][0]["body"]["pump"]["battery"]["percent"] == 61


def test_mobi_phone_bolus_and_cartridge():
    events = [ev(64, 10, "2026-05-14T08:00:00", bolusId=77, bolusType=3, carbAmount=30, bg=0, carbRatio=0),
              ev(65, 11, "2026-05-14T08:00:00", bolusId=77, options=4, standardPercent=100, isf=0, targetBg=0),
              ev(66, 12, "2026-05-14T08:00:00", bolusId=77, totalBolusSize=3.0),
              ev(280, 13, "2026-05-14T08:00:05", bolusId=77, bolusDeliveryStatus=1, bolusSource=8),
              ev(20, 14, "2026-05-14T08:01:00", bolusId=77, completionStatus=3, insulinDelivered=3.0),
              ev(33, 20, "2026-05-14T09:00:00", insulinVolume=180, v2Volume=0),
              ev(61, 21, "2026-05-14T09:05:00", primeSize=0.5, completionStatus=3, infusionSetType=2)]
    result = run(events, ("BOLUS", "PUMP_EVENTS"), now=dt.datetime(2026, 5, 15, tzinfo=UTC))
    bolus, cartridge, cannula = docs_of(result)
    assert (bolus["insulin"], bolus["carbs"], bolus["notes"], "glucose" in bolus) == (3.0, 30, "BLE Standard Bolus", False)
    assert (cartridge["eventType"], cartridge["notes"]) == ("Insulin Change", "Cartridge Filled (180u filled)")
    assert (cannula["eventType"], cannula["notes"]) == ("Site Change", "Cannula Filled (0.5u primed)")
