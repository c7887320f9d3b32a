"""Tandem Source pump-log events (JSON or binary) -> typed records (``tandemsource.records``).

Pure functions: data in, ``(records, warnings)`` out, records sorted by (sequenceGroup,
sequenceNumber) -- the order the pump logged them in.

* ``parse_pump_logs(body, tz)``: the BFF ``pump-logs`` answer (``{"events", "clockChanges"}``)
  or just its list of events (docs/tandem-source.md §5.2).
* ``parse_binary(data, tz)``: the 26-byte records of the retired ``reportsfacade/pumpevents``
  endpoint (docs/tandem-source.md §6.1); ``parse_legacy_response(body, tz)`` for that endpoint's JSON/base64 body.
* ``parse(data, tz)``: any of the above, told apart by type.

Times: pump wall clock -> UTC in ``tandemsource.clock`` (TIMEZONE_NAME, the repeated fall-back hour
resolved by sequence order, the pump's own clock changes honoured). Values: physical units
(the catalog's ratio applied, mU -> U), enum codes kept next to their labels; 65535 in a
uint16 "not set" field becomes None. An event of a code without a definition becomes an
``IgnoredEvent`` (counted by ``ignored_counts``, never a warning: Tandem's answers hold such codes
every day); an event of a catalogued code with a field of the wrong type, or a required field
missing, is left out with a ``ParseWarning`` naming it (code, sequence number).
"""
import datetime as dt
import json
import math
import re

from ..records import ParseWarning
from . import clock
from . import records as R
from .events import (BINARY_SOURCE, JSON_SOURCE, TANDEM_EPOCH, BadEvent, catalog, decode_binary,
                     decode_json, decode_legacy_response, event_name, ignore_reason)

NOT_SET_U16 = 0xFFFF

# Spec 6.4: code -> name tables of the "dictionary" transform.
ALARMS = {0: "CARTRIDGE_ALARM", 1: "CARTRIDGE_ALARM2", 2: "OCCLUSION_ALARM", 3: "PUMP_RESET_ALARM",
          5: "CARTRIDGE_ALARM3", 6: "CARTRIDGE_ALARM4", 7: "AUTO_OFF_ALARM", 8: "EMPTY_CARTRIDGE_ALARM",
          9: "CARTRIDGE_ALARM5", 10: "TEMPERATURE_ALARM", 11: "TEMPERATURE_ALARM2",
          12: "BATTERY_SHUTDOWN_ALARM", 14: "INVALID_DATE_ALARM", 15: "TEMPERATURE_ALARM3",
          16: "CARTRIDGE_ALARM6", 18: "RESUME_PUMP_ALARM", 20: "CARTRIDGE_ALARM7", 21: "ALTITUDE_ALARM",
          22: "STUCK_BUTTON_ALARM", 23: "RESUME_PUMP_ALARM2",
          24: "ATMOSPHERIC_PRESSURE_OUT_OF_RANGE_ALARM", 25: "CARTRIDGE_REMOVED_ALARM",
          26: "OCCLUSION_ALARM2", 29: "CARTRIDGE_ALARM10", 30: "CARTRIDGE_ALARM11", 31: "CARTRIDGE_ALARM12"}
DALERTS = {1: "CGM Fixed Low", 2: "CGM High", 3: "CGM Low", 8: "CGM Rapid Fall", 11: "CGM Sensor Fail",
           12: "CGM Sensor Expiring Soon", 13: "CGM Sensor Expired", 14: "CGM Out Of Range",
           20: "CGM Transmitter Error", 22: "CGM Sensor Expiring 2", 25: "CGM Replace Sensor",
           26: "CGM Temperature", 27: "CGM Failed Connection", 39: "CGM Transmitter Expired",
           40: "Pump Bluetooth Error", 45: "CGM Transmitter Expiring Soon", 46: "CGM Transmitter Expiring 2",
           48: "CGM Unavailable"}
CGM_SENSORS = {256: "G6", 399: "G7", 372: "Libre 2", 480: "Libre 3"}
CGM_ALERT_FAMILIES = {171: "CGM", 369: "Dexcom CGM", 460: "Libre CGM"}
CGM_SESSIONS = {212: ("start", "G6"), 404: ("start", "Libre 2"),
                213: ("join", "G6"), 394: ("join", "G7"), 406: ("join", "Libre 2"), 477: ("join", "Libre 3"),
                214: ("stop", "G6"), 447: ("stop", "G7"), 405: ("stop", "Libre 2"), 486: ("stop", "Libre 3")}
# A reading's own time may precede its record (backfill) but not by days, nor follow it.
EGV_BEFORE = dt.timedelta(days=2)
EGV_AFTER = dt.timedelta(minutes=10)


def identifier_name(text):
    """``EMPTY_CARTRIDGE_ALARM`` -> ``EmptyCartridgeAlarm``, ``CGM High`` -> ``CgmHigh`` (docs/tandem-source.md §6.4)."""
    return "".join(w[:1].upper() + w[1:].lower() for w in re.split(r"[^A-Za-z0-9]+", text) if w)


def alarm_name(code):
    if code in ALARMS:
        return identifier_name(ALARMS[code])
    if 0 <= code <= 63:
        return identifier_name("DEFAULT_ALARM_%d" % code)
    return "Alarm%d" % code


def dalert_name(code):
    return identifier_name(DALERTS[code]) if code in DALERTS else None


# ------------------------------------------------------------------------------- typed records

class _Fields:
    """Access to one raw event's fields, by catalog name, with the conversions records need."""

    def __init__(self, raw):
        self.raw = raw
        self.definition = catalog()[raw.code]

    def _def(self, name):
        return self.definition.field(name)

    def get(self, name, required=False):
        f = self._def(name)
        value = self.raw.fields.get(f.name)
        if value is None and required:
            raise BadEvent("%s is missing" % f.name)
        if isinstance(value, float) and not math.isfinite(value):
            if required:
                raise BadEvent("%s is %r" % (f.name, value))
            return None
        return value

    def req(self, name):
        return self.get(name, required=True)

    def number(self, name, scale=1.0, required=False, not_set=None):
        value = self.get(name, required)
        if value is None or (not_set is not None and value == not_set):
            return None
        return round(value * scale, 6) if scale != 1.0 else value

    def flag(self, name):
        value = self.get(name)
        return None if value is None else bool(value)

    def label(self, name, code):
        return self.definition.enum_label(self._def(name).name, code) or ""

    def wall(self, name):
        """A Tandem-epoch seconds field as a naive wall time."""
        return TANDEM_EPOCH + dt.timedelta(seconds=self.req(name))


def _basal(f, base):
    source = f.req("Commanded Rate Source")
    label = f.label("Commanded Rate Source", source)
    return R.BasalDelivery(**base, rate_source=source, rate_source_name=identifier_name(label),
                           rate=f.number("Commanded Rate", 0.001, required=True),
                           profile_rate=f.number("Profile Basal Rate", 0.001, not_set=NOT_SET_U16),
                           temp_rate=f.number("Temp Rate", 0.001, not_set=NOT_SET_U16),
                           algorithm_rate=f.number("Algorithm Rate", 0.001, not_set=NOT_SET_U16))


def _rate_change(f, base):
    return R.BasalRateChange(**base, rate=f.req("CommandedBasalRate"), base_rate=f.get("BaseBasalRate"),
                             max_rate=f.get("maxBasalRate"), change_type=f.get("ChangeType"), idp=f.get("IDP"))


def _suspended(f, base):
    code = f.req("SuspendReason")
    return R.PumpSuspended(**base, reason_code=code, reason=identifier_name(f.label("SuspendReason", code)),
                           insulin_amount=f.get("InsulinAmount"))


def _resumed(f, base):
    return R.PumpResumed(**base, insulin_amount=f.get("InsulinAmount"))


def _msg1(f, base):
    return R.BolusRequest1(**base, bolus_id=f.req("BolusID"), bolus_type=f.get("BolusType"), bg=f.get("BG"),
                           carbs=f.get("CarbAmount"), correction_included=f.flag("CorrectionBolusIncluded"),
                           iob=f.get("IOB"), carb_ratio=f.number("CarbRatio", 0.001))


def _msg2(f, base):
    options = f.get("Options")
    return R.BolusRequest2(**base, bolus_id=f.req("BolusID"), options=options,
                           options_name=f.label("Options", options) if options is not None else "",
                           standard_percent=f.get("StandardPercent"), duration_min=f.get("Duration"),
                           target_bg=f.get("TargetBG"), isf=f.get("ISF"),
                           declined_correction=f.flag("DeclinedCorrection"), user_override=f.flag("UserOverride"))


def _msg3(f, base):
    return R.BolusRequest3(**base, bolus_id=f.req("BolusID"), food_size=f.get("FoodBolusSize"),
                           correction_size=f.get("CorrectionBolusSize"), total_size=f.get("TotalBolusSize"))


def _activated(f, base):
    extended = base["code"] == 59
    return R.BolusActivated(**base, bolus_id=f.req("BolusID"), extended=extended, iob=f.get("IOB"),
                            size=f.get("BolexSize" if extended else "BolusSize"))


def _completed(f, base):
    status = f.get("CompletionStatus")
    delivered = f.req("InsulinDelivered")
    if delivered < 0:
        raise BadEvent("InsulinDelivered is %r" % delivered)
    return R.BolusCompleted(**base, bolus_id=f.req("BolusID"), extended=base["code"] == 21, delivered=delivered,
                            status_code=status,
                            status=f.label("CompletionStatus", status) if status is not None else "",
                            requested=f.get("InsulinRequested"), iob=f.get("IOB"))


def _delivery(f, base):
    status = f.get("Bolus Delivery Status")
    return R.BolusDelivery(**base, bolus_id=f.req("BolusID"), started=None if status is None else status == 1,
                           bolus_type=f.get("Bolus Type"), source=f.get("Bolus Source"),
                           requested_now=f.number("Requested Now", 0.001),
                           requested_later=f.number("Requested Later", 0.001),
                           correction=f.number("Correction", 0.001),
                           delivered_total=f.number("Delivered Total", 0.001),
                           extended_duration_min=f.get("Extended Duration Requested"))


def _bg(f, base):
    return R.BgReading(**base, bg=f.req("BG"), iob=f.get("IOB"), entry_type=f.get("BgEntryType"))


def _carbs(f, base):
    return R.CarbsEntered(**base, carbs=f.req("carbs"))


def _alarm(f, base):
    if base["code"] == 6:
        return R.Alarm(**base, alarm_id=f.req("MalfID"), name="Malfunction", malfunction=True)
    code = f.req("AlarmID")
    return R.Alarm(**base, alarm_id=code, name=alarm_name(code))


def _cartridge(f, base):
    return R.CartridgeFilled(**base, insulin_volume=f.get("InsulinVolume"), v2_volume=f.get("V2Volume"))


def _filled(cls):
    def build(f, base):
        status = f.get("CompletionStatus")
        return cls(**base, prime_size=f.get("PrimeSize"),
                   status=f.label("CompletionStatus", status) if status is not None else "")
    return build


def _user_mode(f, base):
    return R.UserModeChange(**base, action=f.req("RequestedAction"), previous_mode=f.get("PreviousUserMode"),
                            current_mode=f.get("CurrentUserMode"),
                            active_sleep_schedule=f.get("ActiveSleepSchedule"),
                            sleep_started_by_gui=f.flag("SleepStartedByGUI"),
                            exercise_time_min=f.get("ExerciseTime"), exercise_timed=f.flag("ExerciseChoice"),
                            exercise_stopped_by_timer=f.flag("ExerciseStoppedByTimer"))


def _cgm(f, base):
    egv_wall = f.wall("EGV TimeStamp")
    lag = base["wall"] - egv_wall
    if lag > EGV_BEFORE or -lag > EGV_AFTER:
        raise BadEvent("EGV TimeStamp %s is too far from the record's time" % egv_wall.isoformat())
    return R.CgmReading(**base, sensor=CGM_SENSORS[base["code"]], status=f.req("glucoseValueStatus"),
                        value=f.req("currentGlucoseDisplayValue"), egv_wall=egv_wall,
                        # the same pump clock: the reading is ``lag`` before its record
                        egv_time=base["time"] - lag, rate=f.number("Rate", 0.1))


def _cgm_alert(f, base):
    code = f.req("DalertID")
    return R.CgmAlert(**base, family=CGM_ALERT_FAMILIES[base["code"]], alert_id=code, name=dalert_name(code))


def _cgm_session(f, base):
    action, sensor = CGM_SESSIONS[base["code"]]
    return R.CgmSession(**base, action=action, sensor=sensor)


def _daily_basal(f, base):
    percent = f.get("batteryChargePercent")
    return R.DailyBasal(**base, total_basal=f.get("dailyTotalBasal"), last_rate=f.get("lastBasalRate"),
                        iob=f.get("iob"), battery_percent=percent if percent is not None and percent <= 100 else None,
                        battery_mv=f.get("batteryLipoMilliVolts"), final_event=f.flag("finalEventForDay"))


BUILDERS = {279: _basal, 3: _rate_change, 11: _suspended, 12: _resumed, 64: _msg1, 65: _msg2, 66: _msg3,
            55: _activated, 59: _activated, 20: _completed, 21: _completed, 280: _delivery, 16: _bg,
            48: _carbs, 5: _alarm, 6: _alarm, 33: _cartridge, 61: _filled(R.CannulaFilled),
            63: _filled(R.TubingFilled), 229: _user_mode, 81: _daily_basal}
BUILDERS.update({code: _cgm for code in CGM_SENSORS})
BUILDERS.update({code: _cgm_alert for code in CGM_ALERT_FAMILIES})
BUILDERS.update({code: _cgm_session for code in CGM_SESSIONS})


def ignored_counts(records):
    """{event code: events} of the ``IgnoredEvent`` records: what a run reports as "ignored"."""
    out = {}
    for r in records:
        if isinstance(r, R.IgnoredEvent):
            out[r.code] = out.get(r.code, 0) + 1
    return out


def _clock_record(raw, base, reading):
    kind = "time" if raw.code == 13 else "date"
    if reading is None:
        return R.ClockChange(**base, kind=kind)
    delta, prior, after = reading
    return R.ClockChange(**base, kind=kind, delta_s=delta, prior_wall=prior, after_wall=after)


# ---------------------------------------------------------------------------------------- parse

def _dedupe(raws, source):
    """Sorted by (group, seq); one event per key (the endpoint pages may overlap)."""
    out, warnings, seen = [], [], {}
    for raw in sorted(raws, key=lambda r: (r.group, r.seq)):
        key = (raw.group, raw.seq)
        if key in seen:
            if seen[key][:4] != raw[:4] or seen[key].fields != raw.fields:
                warnings.append(ParseWarning(source, event_name(raw.code, raw.seq, raw.wall, raw.group),
                                             "sequence number seen twice with different contents; kept the first"))
            continue
        seen[key] = raw
        out.append(raw)
    return out, warnings


def records_from_raw(raws, tz, clock_changes=(), source=JSON_SOURCE):
    """Typed records (in sequence order) and warnings from decoded raw events."""
    raws, warnings = _dedupe(raws, source)
    times, readings, clock_warnings = clock.resolve(raws, tz, clock_changes)
    warnings += clock_warnings
    records = []
    for raw, time in zip(raws, times):
        base = dict(code=raw.code, seq=raw.seq, group=raw.group, wall=raw.wall, time=time)
        if raw.ignored:
            records.append(R.IgnoredEvent(**base, reason=ignore_reason(raw.code)))
            continue
        try:
            if raw.code in clock.CLOCK_CODES:
                records.append(_clock_record(raw, base, readings.get((raw.group, raw.seq))))
                continue
            builder = BUILDERS.get(raw.code)
            if builder is None:
                records.append(R.OtherEvent(**base, name=catalog()[raw.code].name, fields=dict(raw.fields)))
                continue
            records.append(builder(_Fields(raw), base))
        except BadEvent as exc:
            warnings.append(ParseWarning(source, "%s %s" % (event_name(raw.code, raw.seq, raw.wall, raw.group),
                                                            catalog()[raw.code].name), str(exc), time))
    return records, warnings


def _clock_raws(clock_changes):
    if not clock_changes:
        return [], []
    return decode_json(clock_changes)


def parse_pump_logs(body, tz, clock_changes=None):
    """Records and warnings from a pump-logs answer or its ``events`` list (docs/tandem-source.md §5.2).

    ``clock_changes`` (the answer's ``clockChanges``) may also be given separately.
    """
    warnings = []
    if isinstance(body, dict):
        events = body.get("events")
        if clock_changes is None:
            clock_changes = body.get("clockChanges")
        if events is None:
            warnings.append(ParseWarning(JSON_SOURCE, "answer", "has no events list (keys: %s)"
                                         % ", ".join(sorted(map(str, body))[:10])))
    else:
        events = body
    if events is None:
        events = []
    if not isinstance(events, list):
        return [], [ParseWarning(JSON_SOURCE, "events", "is %s, not a list" % type(events).__name__)]
    if clock_changes is not None and not isinstance(clock_changes, list):
        warnings.append(ParseWarning(JSON_SOURCE, "clockChanges", "is %s, not a list"
                                     % type(clock_changes).__name__))
        clock_changes = None
    raws, w = decode_json(events)
    warnings += w
    changes, w = _clock_raws(clock_changes)
    warnings += w
    records, w = records_from_raw(raws, tz, changes, JSON_SOURCE)
    return records, warnings + w


def parse_binary(data, tz, clock_changes=None):
    """Records and warnings from the binary event stream (concatenated 26-byte records)."""
    raws, warnings = decode_binary(data)
    changes, w = _clock_raws(clock_changes)
    records, w2 = records_from_raw(raws, tz, changes, BINARY_SOURCE)
    return records, warnings + w + w2


def parse_legacy_response(body, tz):
    """Records and warnings from the retired ``reportsfacade/pumpevents`` body (JSON string of base64)."""
    try:
        data = decode_legacy_response(body)
    except ValueError as exc:
        return [], [ParseWarning(BINARY_SOURCE, "response body", str(exc))]
    return parse_binary(data, tz)


def parse(data, tz, clock_changes=None):
    """Any form: bytes (binary stream), str (the legacy base64 body, or a pump-logs answer as JSON
    text), dict (pump-logs answer), list (pump-logs events, or records already parsed, returned
    as they are)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return parse_binary(bytes(data), tz, clock_changes)
    if isinstance(data, str):
        if data.lstrip().startswith(("{", "[")):          # the pump-logs answer as text
            try:
                data = json.loads(data)
            except ValueError as exc:
                return [], [ParseWarning(JSON_SOURCE, "answer", "is not JSON: %s" % exc)]
            return parse_pump_logs(data, tz, clock_changes)
        return parse_legacy_response(data, tz)
    if isinstance(data, list) and data and all(isinstance(r, R.SourceEvent) for r in data):
        return sorted(data, key=lambda r: (r.group, r.seq)), []
    return parse_pump_logs(data, tz, clock_changes)
