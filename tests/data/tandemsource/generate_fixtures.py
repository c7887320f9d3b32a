#!/usr/bin/env python3
"""Generate a synthetic Tandem Source fixture set for one fictional pump.

Everything written by this script is fictional: pump serial 11111111, made-up
UUIDs, made-up therapy values.  It only needs the Python standard library.

The per-event byte layouts are read from the event definitions the package
ships (tconnectsync/parser/data/tandem-source-events.json, a copy of upstream's
events.json; see docs/tandem-source.md); the four events that upstream layers on
top of that file (custom_events.json: 36, 37, 48, 81) are described in
CUSTOM_EVENTS below.

Run:  python3 generate_fixtures.py            (writes next to this script)
      python3 generate_fixtures.py --out DIR --events-json PATH
"""

import argparse
import base64
import datetime as dt
import json
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EVENTS_JSON = os.path.normpath(os.path.join(HERE, "..", "..", "..", "tconnectsync", "parser", "data",
                                                   "tandem-source-events.json"))

# --- fictional identities -------------------------------------------------
PUMP_SERIAL = "11111111"
PUMPER_ID = "11111111-2222-4333-8444-555555555555"
ACCOUNT_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
ASSIGNMENT_ID = "f1c7e5d0-0000-4000-8000-000011111111"
LEGACY_DEVICE_ID = 1111111
DAY = dt.date(2026, 8, 12)          # one pump-local day
PUMP_TZ_NAME = "America/New_York"   # pump clock = US Eastern wall clock (EDT, UTC-4 on this day)

# --- binary format constants ---------------------------------------------
RECORD_LEN = 26
HEADER_LEN = 10
TANDEM_EPOCH = dt.datetime(2008, 1, 1)   # 1199145600 s after 1970-01-01, applied to pump-local wall clock
STRUCT = {"uint8": ">B", "int8": ">b", "uint16": ">H", "int16": ">h", "uint32": ">I", "float32": ">f"}

# Layouts of the events that upstream adds on top of events.json
# (same schema as events.json; offsets are relative to the 16-byte payload).
CUSTOM_EVENTS = {
    "48": {"name": "LID_CARBS_ENTERED", "data": {
        "carbs": {"type": "float32", "offset": 0, "uom": "carbs"}}},
    "81": {"name": "LID_DAILY_BASAL", "data": {
        "dailyTotalBasal": {"type": "float32", "offset": 0, "uom": "units"},
        "lastBasalRate": {"type": "float32", "offset": 4, "uom": "units/hour"},
        "iob": {"type": "float32", "offset": 8, "uom": "units"},
        "batteryLipoMilliVolts": {"type": "uint16", "offset": 12, "uom": "mV"},
        "batteryChargePercent": {"type": "uint8", "offset": 14, "uom": "%"},
        "finalEventForDay": {"type": "uint8", "offset": 15}}},
    "36": {"name": "LID_USB_CONNECTED", "data": {
        "negotiatedCurrent": {"type": "float32", "offset": 0, "uom": "mA"}}},
    "37": {"name": "LID_USB_DISCONNECTED", "data": {
        "negotiatedCurrent": {"type": "float32", "offset": 0, "uom": "mA"}}},
}

# Extra keys seen in captured pump-logs eventProperties that have no field in
# events.json (padding / reserved bytes).  Values copied from that capture.
EXTRA_JSON_PROPS = {
    279: {"reservedA2": 3, "spareA3": 0},
    399: {"reservedD15": 0},
    65: {"spareB6": 0},
    66: {"spareA2": 0},
    55: {"spareA3": 0},
    61: {"infusionSetType": 0},
    229: {"spareA3": 0, "spareB6": 0},
}

# Event codes the BFF pump-logs endpoint is reported not to return (upstream
# 3.0.3 notes that event 81 never came back for t:slim X2 or Mobi).
NOT_IN_PUMP_LOGS = {81}


def camel_key(name):
    """events.json field name -> camelCase key as used by pump-logs JSON.

    Acronym runs count as one word: "AlertID" -> "alertId",
    "EGV TimeStamp" -> "egvTimeStamp", "SelectedIOB" -> "selectedIob".
    """
    words = []
    for chunk in re.split(r"[\s_]+", name):
        words += re.findall(r"[A-Z]+[0-9]*(?=[A-Z][a-z]|$|\s)|[A-Z]?[a-z0-9]+|[A-Z]+[0-9]*", chunk)
    out = words[0].lower() + "".join(w[0].upper() + w[1:].lower() for w in words[1:])
    return out


def shortest_float32(x):
    """Shortest decimal that survives a float32 round trip (how a JSON API would print it)."""
    packed = struct.pack(">f", x)
    for digits in range(1, 10):
        cand = float("%.*g" % (digits, x))
        if struct.pack(">f", cand) == packed:
            return cand
    return struct.unpack(">f", packed)[0]


def tandem_seconds(local_naive):
    return int((local_naive - TANDEM_EPOCH).total_seconds())


def at(hhmmss):
    h, m, s = (int(p) for p in hhmmss.split(":"))
    return dt.datetime.combine(DAY, dt.time(h, m, s))


def bits(*idx):
    v = 0
    for i in idx:
        v |= 1 << i
    return v


# --- the fictional day ----------------------------------------------------
# (time, event id, {events.json field name: raw value}, note)
def cgm(t, value, rate, note="CGM reading (Dexcom G7)"):
    egv = tandem_seconds(at(t)) - 3        # sensor time is a few seconds before the log time
    return (t, 399, {
        "glucoseValueStatus": 0, "CGM Data Type": bits(0), "Rate": rate,
        "AlgorithmState": 32, "RSSI": -71, "currentGlucoseDisplayValue": value,
        "EGV TimeStamp": egv, "EGV Info Bitmask": bits(0, 5, 6, 7, 8, 11, 12), "Interval": 0,
    }, note)


def basal_delivery(t, source, commanded, profile, algorithm, temp=65535, note="basal delivery"):
    return (t, 279, {"Commanded Rate Source": source, "Commanded Rate": commanded,
                     "Profile Basal Rate": profile, "Algorithm Rate": algorithm,
                     "Temp Rate": temp}, note)


def rate_change(t, commanded, base, change_bits, note):
    return (t, 3, {"CommandedBasalRate": commanded, "BaseBasalRate": base, "maxBasalRate": 3.0,
                   "IDP": 1, "ChangeType": change_bits}, note)


def user_mode(t, action, prev, cur, note, by_gui=0, schedule=0, ex_choice=0, ex_time=0, ex_by_timer=0):
    return (t, 229, {"ExerciseChoice": ex_choice, "ExerciseTime": ex_time, "CurrentUserMode": cur,
                     "PreviousUserMode": prev, "RequestedAction": action,
                     "SleepStartedByGUI": by_gui, "ExerciseStoppedByTimer": ex_by_timer,
                     "ActiveSleepSchedule": schedule, "EatingSoonStoppedByTimer": 0}, note)


def timeline():
    ev = []
    A = ev.append
    A(("00:00:00", 90, {"CommandedBasalRate": 0.8, "FeaturesBitmask": 0, "FeatureBitmaskIndex": 0}, "new pump day"))
    A(basal_delivery("00:00:00", 3, 800, 800, 800, note="Control-IQ basal 0.80 U/h"))
    A(user_mode("00:30:00", 1, 0, 1, "sleep started manually on the pump screen", by_gui=1, schedule=bits(0)))
    A(basal_delivery("01:00:00", 3, 650, 800, 650, note="Control-IQ reduces basal"))
    A(basal_delivery("02:30:00", 3, 800, 800, 800))
    A(basal_delivery("04:00:00", 3, 950, 800, 950, note="Control-IQ raises basal"))
    A(rate_change("06:00:00", 1.0, 1.0, bits(0), "timed segment change to 1.00 U/h"))
    A(basal_delivery("06:00:00", 3, 1000, 1000, 1000))
    A(user_mode("06:45:00", 2, 1, 0, "sleep stopped", schedule=bits(0)))
    A(("06:50:00", 394, {"cgmTimestamp": tandem_seconds(at("06:49:57")), "sessionSignature": 0x5A5A1111},
       "pump joins the running Dexcom G7 session"))
    values = [128, 129, 131, 133, 136, 139, 142, 145, 150, 158, 167, 176, 184, 190, 194, 196, 195, 192, 188]
    for i, v in enumerate(values):
        t = (at("07:00:00") + dt.timedelta(minutes=5 * i)).strftime("%H:%M:%S")
        prev = values[i - 1] if i else v
        A(cgm(t, v, int(round((v - prev) / 5 * 10))))
    # standard bolus with carbs and a manual BG
    A(("07:32:10", 16, {"SelectedIOB": 1, "BG": 145, "BgEntryType": 0, "IOB": 0.2, "TargetBG": 110,
                        "ISF": 50, "BgSourceType": 0, "cgmCalibration": 0}, "BG 145 mg/dL typed in"))
    A(("07:32:40", 48, {"carbs": 45.0}, "45 g carbs entered"))
    A(("07:32:45", 64, {"BolusID": 1201, "BolusType": 1, "CorrectionBolusIncluded": 1, "CarbAmount": 45,
                        "BG": 145, "CarbRatio": 10000, "IOB": 0.2}, "bolus 1201 request msg1"))
    A(("07:32:45", 65, {"SelectedIOB": 1, "BolusID": 1201, "Options": 0, "StandardPercent": 100, "Duration": 0,
                        "ISF": 50, "TargetBG": 110, "UserOverride": 0, "DeclinedCorrection": 0},
       "bolus 1201 request msg2 (standard)"))
    A(("07:32:45", 66, {"BolusID": 1201, "FoodBolusSize": 4.5, "CorrectionBolusSize": 0.5, "TotalBolusSize": 5.0},
       "bolus 1201 request msg3"))
    A(("07:32:50", 55, {"SelectedIOB": 1, "BolusID": 1201, "IOB": 0.2, "BolusSize": 5.0}, "bolus 1201 activated"))
    A(("07:32:50", 280, {"BolusID": 1201, "Bolus Delivery Status": 1, "Bolus Type": bits(0, 3, 4), "Bolus Source": 1,
                         "Remote ID": 0, "Requested Now": 5000, "Requested Later": 0,
                         "Extended Duration Requested": 0, "Delivered Total": 0, "Correction": 500},
       "bolus 1201 delivery started"))
    A(("07:35:20", 280, {"BolusID": 1201, "Bolus Delivery Status": 0, "Bolus Type": bits(0, 3, 4), "Bolus Source": 1,
                         "Remote ID": 0, "Requested Now": 5000, "Requested Later": 0,
                         "Extended Duration Requested": 0, "Delivered Total": 5000, "Correction": 500},
       "bolus 1201 delivery finished"))
    A(("07:35:20", 20, {"CompletionStatus": 3, "BolusID": 1201, "InsulinDelivered": 5.0, "InsulinRequested": 5.0,
                        "IOB": 5.15}, "bolus 1201 completed: 5.00 U"))
    A(basal_delivery("09:00:00", 3, 1000, 1000, 1000))
    A(("10:15:00", 11, {"PreSuspendState": 0, "InsulinAmount": 142, "SuspendReason": 0, "RPATimeout": 0},
       "user suspends insulin"))
    A(rate_change("10:15:00", 0.0, 1.0, bits(4), "basal stops (pump suspended)"))
    A(basal_delivery("10:15:00", 0, 0, 1000, 0, note="suspended: 0 U/h"))
    A(("10:40:00", 12, {"PreResumeState": 0, "InsulinAmount": 142}, "user resumes insulin"))
    A(rate_change("10:40:00", 1.0, 1.0, bits(5), "basal restarts (pump resumed)"))
    A(basal_delivery("10:40:00", 3, 1000, 1000, 1000))
    A(rate_change("12:00:00", 0.9, 0.9, bits(0), "timed segment change to 0.90 U/h"))
    A(basal_delivery("12:00:00", 3, 900, 900, 900))
    # extended (combo) bolus: 50 % now, 50 % over 120 min
    A(("12:15:00", 48, {"carbs": 60.0}, "60 g carbs entered"))
    A(("12:15:05", 64, {"BolusID": 1202, "BolusType": 1, "CorrectionBolusIncluded": 0, "CarbAmount": 60,
                        "BG": 0, "CarbRatio": 10000, "IOB": 0.9}, "bolus 1202 request msg1 (no BG)"))
    A(("12:15:05", 65, {"SelectedIOB": 1, "BolusID": 1202, "Options": 1, "StandardPercent": 50, "Duration": 120,
                        "ISF": 50, "TargetBG": 110, "UserOverride": 0, "DeclinedCorrection": 0},
       "bolus 1202 request msg2 (extended, 50 % now, 120 min)"))
    A(("12:15:05", 66, {"BolusID": 1202, "FoodBolusSize": 6.0, "CorrectionBolusSize": 0.0, "TotalBolusSize": 6.0},
       "bolus 1202 request msg3"))
    A(("12:15:10", 55, {"SelectedIOB": 1, "BolusID": 1202, "IOB": 0.9, "BolusSize": 3.0}, "bolus 1202 now-part activated"))
    A(("12:15:10", 59, {"SelectedIOB": 1, "BolusID": 1202, "IOB": 0.9, "BolexSize": 3.0}, "bolus 1202 extended part activated"))
    A(("12:15:10", 280, {"BolusID": 1202, "Bolus Delivery Status": 1, "Bolus Type": bits(0, 1, 4), "Bolus Source": 1,
                         "Remote ID": 0, "Requested Now": 3000, "Requested Later": 3000,
                         "Extended Duration Requested": 120, "Delivered Total": 0, "Correction": 0},
       "bolus 1202 delivery started"))
    A(("12:16:40", 20, {"CompletionStatus": 3, "BolusID": 1202, "InsulinDelivered": 3.0, "InsulinRequested": 3.0,
                        "IOB": 3.8}, "bolus 1202 now-part completed: 3.00 U"))
    A(basal_delivery("13:00:00", 3, 900, 900, 900))
    A(("14:15:10", 280, {"BolusID": 1202, "Bolus Delivery Status": 0, "Bolus Type": bits(0, 1, 4), "Bolus Source": 1,
                         "Remote ID": 0, "Requested Now": 3000, "Requested Later": 3000,
                         "Extended Duration Requested": 120, "Delivered Total": 6000, "Correction": 0},
       "bolus 1202 delivery finished"))
    A(("14:15:10", 21, {"CompletionStatus": 3, "BolusID": 1202, "InsulinDelivered": 3.0, "InsulinRequested": 3.0,
                        "IOB": 2.1}, "bolus 1202 extended part completed: 3.00 U"))
    # afternoon high, CGM alert, Control-IQ automatic correction
    values = [205, 214, 222, 231, 240, 248, 252, 249, 243]
    for i, v in enumerate(values):
        t = (at("15:10:00") + dt.timedelta(minutes=5 * i)).strftime("%H:%M:%S")
        prev = values[i - 1] if i else 198
        A(cgm(t, v, int(round((v - prev) / 5 * 10))))
    A(("15:30:05", 369, {"DalertID": 2, "SensorType": 3, "faultLocatorData": 0, "param1": 0, "param2": 0.0},
       "Dexcom high alert"))
    A(("15:40:00", 64, {"BolusID": 1203, "BolusType": 2, "CorrectionBolusIncluded": 1, "CarbAmount": 0,
                        "BG": 248, "CarbRatio": 0, "IOB": 1.3}, "bolus 1203 request msg1 (automatic correction)"))
    A(("15:40:00", 65, {"SelectedIOB": 1, "BolusID": 1203, "Options": 3, "StandardPercent": 100, "Duration": 0,
                        "ISF": 50, "TargetBG": 110, "UserOverride": 0, "DeclinedCorrection": 0},
       "bolus 1203 request msg2 (automatic bolus)"))
    A(("15:40:00", 66, {"BolusID": 1203, "FoodBolusSize": 0.0, "CorrectionBolusSize": 0.85, "TotalBolusSize": 0.85},
       "bolus 1203 request msg3"))
    A(("15:40:05", 55, {"SelectedIOB": 1, "BolusID": 1203, "IOB": 1.3, "BolusSize": 0.85}, "bolus 1203 activated"))
    A(("15:40:05", 280, {"BolusID": 1203, "Bolus Delivery Status": 1, "Bolus Type": bits(0, 3), "Bolus Source": 7,
                         "Remote ID": 0, "Requested Now": 850, "Requested Later": 0,
                         "Extended Duration Requested": 0, "Delivered Total": 0, "Correction": 850},
       "bolus 1203 delivery started (source: algorithm)"))
    A(("15:40:50", 280, {"BolusID": 1203, "Bolus Delivery Status": 0, "Bolus Type": bits(0, 3), "Bolus Source": 7,
                         "Remote ID": 0, "Requested Now": 850, "Requested Later": 0,
                         "Extended Duration Requested": 0, "Delivered Total": 850, "Correction": 850},
       "bolus 1203 delivery finished"))
    A(("15:40:50", 20, {"CompletionStatus": 3, "BolusID": 1203, "InsulinDelivered": 0.85, "InsulinRequested": 0.85,
                        "IOB": 2.0}, "bolus 1203 completed: 0.85 U"))
    A(basal_delivery("16:00:00", 3, 1450, 900, 1450, note="Control-IQ raises basal"))
    A(user_mode("17:00:00", 3, 0, 2, "timed exercise (60 min) started", schedule=bits(0), ex_choice=1, ex_time=60))
    A(basal_delivery("17:00:00", 3, 700, 900, 700))
    A(("17:30:00", 4, {"AlertID": 0, "faultLocatorData": 0, "param1": 20, "param2": 0.0}, "low insulin alert"))
    A(("17:30:30", 26, {"AlertID": 0, "faultLocatorData": 0}, "low insulin alert cleared"))
    A(user_mode("18:00:00", 4, 2, 0, "exercise stopped by its timer", schedule=bits(0), ex_choice=1, ex_time=60,
                ex_by_timer=1))
    A(basal_delivery("18:00:00", 3, 900, 900, 900))
    # empty cartridge alarm -> suspension -> cartridge change -> resume
    A(("18:45:00", 5, {"AlarmID": 8, "faultLocatorData": 0, "param1": 0, "param2": 0.0}, "empty cartridge alarm"))
    A(("18:45:00", 11, {"PreSuspendState": 0, "InsulinAmount": 0, "SuspendReason": 1, "RPATimeout": 0},
       "pump stops: terminated by alarm"))
    A(rate_change("18:45:00", 0.0, 0.9, bits(4), "basal stops (pump suspended)"))
    A(basal_delivery("18:45:00", 0, 0, 900, 0, note="suspended: 0 U/h"))
    A(("18:46:10", 28, {"AlarmID": 8}, "empty cartridge alarm cleared"))
    A(("18:52:00", 33, {"InsulinVolume": 200, "V2Volume": 200.0}, "new cartridge filled with 200 U"))
    A(("18:55:30", 63, {"PrimeSize": -1.0, "CompletionStatus": 3, "Position": 54321}, "tubing filled"))
    A(("18:58:00", 61, {"PrimeSize": 0.3, "CompletionStatus": 3}, "cannula filled with 0.3 U"))
    A(("19:01:00", 5, {"AlarmID": 18, "faultLocatorData": 0, "param1": 0, "param2": 0.0},
       "resume-pump reminder alarm (upstream never uploads id 18/23)"))
    A(("19:01:40", 28, {"AlarmID": 18}, "resume-pump reminder cleared"))
    A(("19:02:00", 12, {"PreResumeState": 0, "InsulinAmount": 199}, "insulin resumed"))
    A(rate_change("19:02:00", 0.9, 0.9, bits(5), "basal restarts (pump resumed)"))
    A(basal_delivery("19:02:00", 3, 900, 900, 900))
    A(rate_change("22:00:00", 0.8, 0.8, bits(0), "timed segment change to 0.80 U/h"))
    A(basal_delivery("22:00:00", 3, 800, 800, 800))
    A(user_mode("22:45:00", 1, 0, 1, "sleep started by sleep schedule 1 (still active at day end)", schedule=bits(0)))
    for i, v in enumerate([134, 132, 131]):
        t = (at("22:50:00") + dt.timedelta(minutes=5 * i)).strftime("%H:%M:%S")
        A(cgm(t, v, -4))
    A(basal_delivery("23:30:00", 3, 800, 800, 800))
    for i, v in enumerate([127, 126, 126, 125]):
        t = (at("23:40:00") + dt.timedelta(minutes=5 * i)).strftime("%H:%M:%S")
        A(cgm(t, v, -2))
    A(("23:59:59", 81, {"dailyTotalBasal": 21.35, "lastBasalRate": 0.8, "iob": 0.4,
                        "batteryLipoMilliVolts": 3900, "batteryChargePercent": 61,
                        "finalEventForDay": 1}, "daily basal summary with battery (binary stream only)"))
    return ev


# --- encoding --------------------------------------------------------------
def load_defs(path):
    with open(path, encoding="utf-8") as f:
        defs = json.load(f)["events"]
    merged = dict(defs)
    merged.update(CUSTOM_EVENTS)
    return merged


def encode_record(defs, event_id, ts_local, seq, fields):
    d = defs[str(event_id)]
    payload = bytearray(16)
    for name, value in fields.items():
        spec = d["data"][name]   # KeyError means a typo against the schema
        struct.pack_into(STRUCT[spec["type"]], payload, spec["offset"], value)
    header = struct.pack(">HII", event_id & 0x0FFF, tandem_seconds(ts_local), seq)
    rec = header + bytes(payload)
    assert len(rec) == RECORD_LEN
    return rec


def is_bitmask(spec):
    return any(t[0] == "bitmask" for t in spec.get("transform", []))


def json_props(defs, event_id, fields):
    d = defs[str(event_id)]
    props = {}
    for name, spec in d["data"].items():
        raw = fields.get(name, 0)
        if spec["type"] == "float32":
            val = shortest_float32(raw)
        elif is_bitmask(spec):
            val = [i for i in range(32) if raw >> i & 1]
        else:
            val = int(raw)
        props[camel_key(name)] = val
    props.update(EXTRA_JSON_PROPS.get(event_id, {}))
    return props


def build(out_dir, events_json):
    defs = load_defs(events_json)
    rows = sorted(timeline(), key=lambda r: at(r[0]))   # stable: keeps listed order within a second
    seq = 701000
    step = [1, 2, 1, 3]
    records, manifest, pump_logs = [], [], []
    for i, (t, eid, fields, note) in enumerate(rows):
        seq += step[i % len(step)]
        ts = at(t)
        rec = encode_record(defs, eid, ts, seq, fields)
        records.append(rec)
        iso = ts.strftime("%Y-%m-%dT%H:%M:%S")
        d = defs[str(eid)]
        manifest.append({
            "sequenceNumber": seq, "eventCode": eid, "name": d["name"], "pumpDateTime": iso,
            "tandemTimestamp": tandem_seconds(ts), "note": note,
            "fields": {k: fields.get(k, 0) for k in d["data"]},
            "hex": rec.hex(),
        })
        if eid not in NOT_IN_PUMP_LOGS:
            pump_logs.append({
                "deviceAssignmentId": ASSIGNMENT_ID, "eventCode": eid, "sequenceGroup": 0,
                "sequenceNumber": seq, "pumpDateTime": iso,
                "eventProperties": json_props(defs, eid, fields),
                "estimatedDateTime": iso + "Z",
            })
    stream = b"".join(records)
    last = rows[-1][0]

    def write_json(name, obj):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")

    with open(os.path.join(out_dir, "pump-events.bin"), "wb") as f:
        f.write(stream)
    with open(os.path.join(out_dir, "pump-events-annotated.txt"), "w", encoding="utf-8") as f:
        f.write("# %d records x %d bytes, pump-local day %s (%s). Columns: seq, pump time, id, name | "
                "header hex | payload hex | note\n" % (len(records), RECORD_LEN, DAY, PUMP_TZ_NAME))
        for m in manifest:
            h = m["hex"]
            f.write("%d %s %3d %-28s | %s %s %s | %s | %s\n" % (
                m["sequenceNumber"], m["pumpDateTime"], m["eventCode"], m["name"],
                h[0:4], h[4:12], h[12:20], h[20:], m["note"]))
    write_json("events-manifest.json", {
        "description": "Ground truth for pump-events.bin / bff-pump-logs-response.json: one entry per "
                       "26-byte record, in stream order. 'fields' are raw (untransformed) values keyed by "
                       "the events.json field names.",
        "pumpTimeZone": PUMP_TZ_NAME, "day": DAY.isoformat(), "recordLength": RECORD_LEN,
        "events": manifest})
    # legacy (retired) reportsfacade/pumpevents: a JSON string holding base64 of the record stream
    write_json("legacy-pumpevents-response.json", base64.b64encode(stream).decode("ascii"))
    # current BFF pump-logs
    write_json("bff-pump-logs-response.json", {"events": pump_logs, "clockChanges": []})

    segs_weekday = [  # startTime (min), basalRate (mU/h), isf, carbRatio (mU -> g/U * 1000), targetBg
        {"startTime": 0, "basalRate": 800, "isf": 50, "carbRatio": 10000, "targetBg": 110},
        {"startTime": 360, "basalRate": 1000, "isf": 50, "carbRatio": 10000, "targetBg": 110},
        {"startTime": 720, "basalRate": 900, "isf": 55, "carbRatio": 12000, "targetBg": 110},
        {"startTime": 1320, "basalRate": 800, "isf": 55, "carbRatio": 12000, "targetBg": 120},
    ]
    segs_weekend = [
        {"startTime": 0, "basalRate": 750, "isf": 55, "carbRatio": 11000, "targetBg": 110},
        {"startTime": 480, "basalRate": 950, "isf": 55, "carbRatio": 11000, "targetBg": 110},
    ]
    profiles = [
        {"name": "Weekday", "idp": 1, "timeDependentSegments": segs_weekday, "insulinDuration": 300,
         "carbEntry": "UnitsAsCarbs", "maxBolus": 25000},
        {"name": "Weekend", "idp": 2, "timeDependentSegments": segs_weekend, "insulinDuration": 300,
         "carbEntry": "UnitsAsCarbs", "maxBolus": 25000},
    ]
    write_json("bff-pumper-response.json", {
        "firstName": "Alex", "lastName": "Example", "name": "Alex Example", "dateOfBirth": "1990-01-01",
        "lowGlucoseThreshold": 70, "highGlucoseThreshold": 180, "country": "US",
        "pumps": [{
            "assignmentId": ASSIGNMENT_ID,
            "serialNumber": PUMP_SERIAL,
            "modelNumber": "0",
            "modelName": "t:slim X2 Insulin Pump (fictional label)",
            "softwareVersion": "0.0.0-fictional",
            "partNumber": "0000000",
            "availableDataRange": {"start": "2026-07-01T00:00:00", "end": "%sT%s" % (DAY, last)},
            "glucoseUnit": "mg/dL",
            "lastUploadDate": "%sT%s" % (DAY, last),
            "maxDateOfEvents": "%sT%s" % (DAY, last),
            "lastUploadClientType": None,
            "settings": {
                "id": "5e771125-0000-4000-8000-000011111111",
                "deviceAssignmentId": ASSIGNMENT_ID,
                "uploadedTimeStamp": "%sT%s" % (DAY, last),
                "settingsHash": "0" * 64,
                "uploadId": "0ad10ad1-0000-4000-8000-000011111111",
                "details": {
                    "profiles": {"activeIdp": 1, "profile": profiles},
                    "cgmSettings": {"highGlucoseAlertMgPerDl": 200, "lowGlucoseAlertMgPerDl": 80},
                },
            },
        }],
    })
    legacy_profiles = [dict((("tDependentSegs" if k == "timeDependentSegments" else k),
                             (1 if k == "carbEntry" else v)) for k, v in p.items()) for p in profiles]
    write_json("legacy-pumpeventmetadata-response.json", [{
        "tconnectDeviceId": LEGACY_DEVICE_ID,
        "serialNumber": PUMP_SERIAL,
        "modelNumber": "0",
        "minDateWithEvents": "2026-07-01T00:00:00",
        "maxDateWithEvents": "%sT%s" % (DAY, last),
        "lastUpload": {"settings": {
            "profiles": {"activeIdp": 1, "profile": legacy_profiles},
            "cgmSettings": {
                "highGlucoseAlert": {"mgPerDl": 200, "enabled": 1, "duration": 0, "status": 0},
                "lowGlucoseAlert": {"mgPerDl": 80, "enabled": 1, "duration": 0, "status": 0}},
        }},
        "patientName": "Alex Example",
        "patientDateOfBirth": "1990-01-01",
        "patientCareGiver": None,
        "softwareVersion": "0.0.0-fictional",
        "partNumber": "0000000",
    }])
    write_json("sso-login-response.json", {"redirectUrl": "/", "status": "SUCCESS"})
    write_json("token-response.json", {
        "id_token": "<RS256 JWT whose payload is id-token-claims.json, signed with a key published at the JWKS URL>",
        "access_token": "<opaque bearer token>",
        "expires_in": 28800,
        "token_type": "Bearer",
        "scope": "openid profile email",
    })
    write_json("id-token-claims.json", {
        "iss": "https://tdcservices.tandemdiabetes.com/accounts/api",
        "aud": "0oa4wnbvtladeyVZX4h7",
        "sub": ACCOUNT_ID,
        "iat": 1786550400, "nbf": 1786550400, "auth_time": 1786550400, "exp": 1786579200,
        "amr": ["pwd"],
        "sid": "fictional-session-id",
        "at_hash": "<left half of SHA-256(access_token), base64url>",
        "idp": "local",
        "email": "alex.example@example.invalid",
        "email_verified": True,
        "name": "Alex Example", "given_name": "Alex", "family_name": "Example",
        "preferred_username": "alex.example@example.invalid",
        "accountId": ACCOUNT_ID,
        "pumperId": PUMPER_ID,
        "countrySubdivision": "US-NY",
        "preferredLanguage": "en-US",
        "roles": [], "tandem_roles": [],
    })
    return len(records), len(pump_logs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--events-json", default=DEFAULT_EVENTS_JSON)
    a = ap.parse_args()
    n, m = build(a.out, a.events_json)
    print("wrote %d binary records and %d pump-logs events to %s" % (n, m, a.out))


if __name__ == "__main__":
    main()
