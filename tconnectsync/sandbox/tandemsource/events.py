"""A sandbox ``Scenario`` encoded as Tandem Source pump-log events (the BFF ``pump-logs`` JSON).

Each event has exactly the shape of ``tests/data/tandemsource/bff-pump-logs-response.json``:

    {"deviceAssignmentId", "eventCode", "sequenceGroup": 0, "sequenceNumber", "pumpDateTime",
     "eventProperties": {...}, "estimatedDateTime": pumpDateTime + "Z"}

``eventProperties`` keys are the camelCase names of the ``events.json`` fields, in that file's
order, followed by the padding keys seen in real captures; values are raw (enums as integers,
bitmasks as lists of set bit positions, float32 values as the shortest decimal that survives a
float32 round trip, Tandem-epoch seconds for times inside payloads). See docs/tandem-source.md §5.2 and §6.

The history comes from the scenario's truth accessors, generated per pump-local day and
numbered per day, so an event keeps its sequence number whichever window asks for it and however
the scenario's cutoff moves: every day is generated as if nothing were cut off, and the server
then drops the events after the cutoff.
Each day also holds the events the sync does not read, as the real service's answers do (``extras``).
"""
import bisect
import copy
import dataclasses
import datetime as dt
import functools
import zlib

from ..scenario import therapy
from . import extras as X
from .extras import shortest_float32

DAY = dt.timedelta(days=1)
TANDEM_EPOCH = dt.datetime(2008, 1, 1)
UNIX_AT_TANDEM_EPOCH = 1199145600
SEQ_PER_DAY = 20000          # sequence numbers reserved per pump-local day (a day holds ~1000)
SEQ_STEPS = (1, 2, 1, 3)     # gaps, as where the pump logged events the endpoint does not return

# code -> (name, "jsonKey:kind ..."): kind f = float32, i = integer, b = bitmask (list of bits).
# The key order is events.json's field order (tests check this table against that file).
EVENT_FIELDS = {
    3: ("LID_BASAL_RATE_CHANGE", "commandedBasalRate:f baseBasalRate:f maxBasalRate:f idp:i changeType:b"),
    4: ("LID_ALERT_ACTIVATED", "alertId:i faultLocatorData:i param1:i param2:f"),
    5: ("LID_ALARM_ACTIVATED", "alarmId:i faultLocatorData:i param1:i param2:f"),
    6: ("LID_MALFUNCTION_ACTIVATED", "malfId:i faultLocatorData:i param1:i param2:f"),
    11: ("LID_PUMPING_SUSPENDED", "preSuspendState:i insulinAmount:i suspendReason:i rpaTimeout:i"),
    12: ("LID_PUMPING_RESUMED", "preResumeState:i insulinAmount:i"),
    13: ("LID_TIME_CHANGED", "timePrior:i timeAfter:i rawRtcTime:i"),
    14: ("LID_DATE_CHANGED", "datePrior:i dateAfter:i rawRtcTime:i"),
    16: ("LID_BG_READING_TAKEN", "selectedIob:i bg:i bgEntryType:i iob:f targetBg:i isf:i bgSourceType:i "
                                 "cgmCalibration:i"),
    20: ("LID_BOLUS_COMPLETED", "completionStatus:i bolusId:i insulinDelivered:f insulinRequested:f iob:f"),
    21: ("LID_BOLEX_COMPLETED", "completionStatus:i bolusId:i insulinDelivered:f insulinRequested:f iob:f"),
    26: ("LID_ALERT_CLEARED", "alertId:i faultLocatorData:i"),
    28: ("LID_ALARM_CLEARED", "alarmId:i"),
    33: ("LID_CARTRIDGE_FILLED", "insulinVolume:i v2Volume:f"),
    48: ("LID_CARBS_ENTERED", "carbs:f"),
    55: ("LID_BOLUS_ACTIVATED", "selectedIob:i bolusId:i iob:f bolusSize:f"),
    59: ("LID_BOLEX_ACTIVATED", "selectedIob:i bolusId:i iob:f bolexSize:f"),
    61: ("LID_CANNULA_FILLED", "primeSize:f completionStatus:i"),
    63: ("LID_TUBING_FILLED", "primeSize:f completionStatus:i position:i"),
    64: ("LID_BOLUS_REQUESTED_MSG1", "bolusId:i bolusType:i correctionBolusIncluded:i carbAmount:i bg:i "
                                     "carbRatio:i iob:f"),
    65: ("LID_BOLUS_REQUESTED_MSG2", "selectedIob:i bolusId:i options:i standardPercent:i duration:i isf:i "
                                     "targetBg:i userOverride:i declinedCorrection:i"),
    66: ("LID_BOLUS_REQUESTED_MSG3", "bolusId:i foodBolusSize:f correctionBolusSize:f totalBolusSize:f"),
    90: ("LID_NEW_DAY", "commandedBasalRate:f featuresBitmask:i featureBitmaskIndex:i"),
    171: ("LID_CGM_ALERT_ACTIVATED", "dalertId:i faultLocatorData:i param1:i param2:f"),
    172: ("LID_CGM_ALERT_CLEARED", "dalertId:i"),
    212: ("LID_CGM_START_SESSION_GX", "currentTransmitterTime:i sessionStartTime:i sessionDuration:i"),
    213: ("LID_CGM_JOIN_SESSION_GX", "currentTransmitterTime:i sessionStartTime:i sessionDuration:i "
                                    "sessionJoinReason:i"),
    214: ("LID_CGM_STOP_SESSION_GX", "currentTransmitterTime:i sessionStartTime:i sessionStopTime:i "
                                    "sessionDuration:i sessionStopReason:i"),
    229: ("LID_AA_USER_MODE_CHANGE", "exerciseChoice:i exerciseTime:i currentUserMode:i previousUserMode:i "
                                    "requestedAction:i sleepStartedByGui:i exerciseStoppedByTimer:i "
                                    "activeSleepSchedule:b eatingSoonStoppedByTimer:i"),
    256: ("LID_CGM_DATA_GXB", "glucoseValueStatus:i cgmDataType:b rate:i algorithmState:i rssi:i "
                             "currentGlucoseDisplayValue:i egvTimeStamp:i egvInfoBitmask:b interval:i"),
    279: ("LID_BASAL_DELIVERY", "commandedRateSource:i commandedRate:i profileBasalRate:i algorithmRate:i "
                               "tempRate:i"),
    280: ("LID_BOLUS_DELIVERY", "bolusId:i bolusDeliveryStatus:i bolusType:b bolusSource:i remoteId:i "
                               "requestedNow:i requestedLater:i extendedDurationRequested:i deliveredTotal:i "
                               "correction:i"),
    369: ("LID_CGM_ALERT_ACTIVATED_DEX", "dalertId:i sensorType:i faultLocatorData:i param1:i param2:f"),
    370: ("LID_CGM_ALERT_CLEARED_DEX", "dalertId:i sensorType:i"),
    372: ("LID_CGM_DATA_FSL2", "glucoseValueStatus:i cgmDataType:b rate:i algorithmState:i rssi:i "
                              "currentGlucoseDisplayValue:i egvTimeStamp:i egvInfoBitmask:b interval:i"),
    394: ("LID_CGM_JOIN_SESSION_G7", "cgmTimestamp:i sessionSignature:i"),
    399: ("LID_CGM_DATA_G7", "glucoseValueStatus:i cgmDataType:b rate:i algorithmState:i rssi:i "
                            "currentGlucoseDisplayValue:i egvTimeStamp:i egvInfoBitmask:b interval:i"),
    404: ("LID_CGM_START_SESSION_FSL2", "sessionStartTime:i sessionDuration:i"),
    405: ("LID_CGM_STOP_SESSION_FSL2", "sessionStartTime:i sessionStopTime:i sessionDuration:i sessionStopReason:i"),
    406: ("LID_CGM_JOIN_SESSION_FSL2", "sessionStartTime:i sessionJoinTime:i sessionDuration:i sessionJoinReason:i"),
    447: ("LID_CGM_STOP_SESSION_G7", "currentTransmitterTime:i sessionStartTime:i sessionStopTime:i "
                                    "sessionDuration:i sessionStopReason:i stopSessionCode:i"),
    460: ("LID_CGM_ALERT_ACTIVATED_FSL2", "dalertId:i sensorType:i faultLocatorData:i param1:i param2:f"),
    461: ("LID_CGM_ALERT_CLEARED_FSL2", "dalertId:i sensorType:i"),
    477: ("LID_CGM_JOIN_SESSION_FSL3", "sessionStartTime:i sessionJoinTime:i sessionDuration:i sessionJoinReason:i"),
    480: ("LID_CGM_DATA_FSL3", "glucoseValueStatus:i cgmDataType:b rate:i algorithmState:i rssi:i "
                              "currentGlucoseDisplayValue:i egvTimeStamp:i egvInfoBitmask:b interval:i"),
    486: ("LID_CGM_STOP_SESSION_FSL3", "sessionStartTime:i sessionStopTime:i sessionDuration:i sessionStopReason:i"),
}
_FIELDS = {code: (name, tuple(tuple(f.split(":")) for f in spec.split())) for code, (name, spec) in EVENT_FIELDS.items()}

# Keys without an events.json field that real responses carry (values as captured).
EXTRA_PROPS = {
    279: {"reservedA2": 3, "spareA3": 0},
    399: {"reservedD15": 0},
    65: {"spareB6": 0},
    66: {"spareA2": 0},
    55: {"spareA3": 0},
    61: {"infusionSetType": 0},
    229: {"spareA3": 0, "spareB6": 0},
}
CLOCK_CHANGE_CODES = frozenset({13, 14})

# Pump models: what the pumper lists, and how the pump logs remote (phone) boluses.
@dataclasses.dataclass(frozen=True)
class PumpModel:
    key: str
    label: str                 # "t:slim X2" | "Tandem Mobi"
    model_name: str            # pumper modelName
    model_number: str
    part_number: str
    software_version: str
    phone_boluses: bool        # Mobi: no screen, boluses come from the phone app over BLE
    cartridge_units: int


MODELS = {
    "tslim": PumpModel("tslim", "t:slim X2", "t:slim X2 Insulin Pump", "1004000", "1004000", "7.8.1-sandbox",
                       False, 200),
    "mobi": PumpModel("mobi", "Tandem Mobi", "Tandem Mobi\u2122 System", "1009000", "1009000", "1.3.0-sandbox",
                      True, 180),
}


@dataclasses.dataclass(frozen=True)
class CgmModel:
    key: str
    reading: int               # event code of a reading
    alert: int                 # CGM alert activated / cleared codes
    alert_cleared: int
    sensor_type: int
    start: int                 # session start (or join, for sensors the pump joins) / stop codes
    stop: int


CGMS = {
    "g6": CgmModel("g6", 256, 369, 370, 1, 212, 214),
    "g7": CgmModel("g7", 399, 369, 370, 3, 394, 447),
    "fsl2": CgmModel("fsl2", 372, 460, 461, 2, 404, 405),
    "fsl3": CgmModel("fsl3", 480, 460, 461, 2, 477, 486),
}
CGM_HIGH, CGM_LOW = 200, 80          # the pumper's cgmSettings alert thresholds
DALERT_HIGH, DALERT_LOW = 2, 3       # "CGM High", "CGM Low"
STATUS_CODES = {"User Aborted": 0, "Terminated by Alarm": 1, "Terminated by Malfunction": 2, "Completed": 3}
SENSOR_DAYS = 10


def tandem_seconds(naive):
    """Seconds since 2008-01-01 of a pump wall-clock time (docs/tandem-source.md §6.1)."""
    return int((naive - TANDEM_EPOCH).total_seconds())


def event_properties(code, raw):
    """``eventProperties`` of event ``code`` from raw values keyed by JSON key (missing keys = 0)."""
    _, fields = _FIELDS[code]
    unknown = set(raw) - {k for k, _ in fields}
    if unknown:
        raise KeyError("event %d has no field %s" % (code, ", ".join(sorted(unknown))))
    props = {}
    for key, kind in fields:
        value = raw.get(key, 0)
        if kind == "f":
            props[key] = shortest_float32(float(value))
        elif kind == "b":
            value = int(value)
            props[key] = [i for i in range(32) if value >> i & 1]
        else:
            props[key] = int(value)
    props.update(EXTRA_PROPS.get(code, {}))
    return props


def pump_log_event(assignment_id, code, seq, wall, raw):
    iso = wall.strftime("%Y-%m-%dT%H:%M:%S")
    return {"deviceAssignmentId": assignment_id, "eventCode": code, "sequenceGroup": 0, "sequenceNumber": seq,
            "pumpDateTime": iso, "eventProperties": event_properties(code, raw), "estimatedDateTime": iso + "Z"}


def bits(*idx):
    v = 0
    for i in idx:
        v |= 1 << i
    return v


def _ts(instant):
    return int(instant.timestamp())


def _mu(units):
    return int(round(units * 1000))


class PumpEventLog:
    """Every pump-log event of one pump whose history is ``scenario`` (see the module doc)."""

    def __init__(self, scenario, assignment_id, model="tslim", cgm="g7", extras=True):
        self.scenario = scenario
        self.extras = extras        # answers hold the events the sync does not read (see the module doc)
        self.assignment_id = assignment_id
        self.model = MODELS[model]
        self.cgm = CGMS[cgm]
        # The same history with nothing cut off (shares the scenario's caches; the history does
        # not depend on the cutoff, only what is visible does).
        full = copy.copy(scenario)
        full._cutoff = None
        self.full = full
        self._seq_base = 700000 + (zlib.crc32(assignment_id.encode()) % 50) * 1000000
        self._gen = functools.lru_cache(maxsize=96)(self._generate)
        self._day = functools.lru_cache(maxsize=96)(self._make_day)

    # ------------------------------------------------------------------ reading

    def _cutoff_ts(self):
        c = self.scenario.cutoff
        return None if c is None else int(c.timestamp())

    def events(self, start_wall, end_wall, codes=None):
        """Events with ``start_wall <= pumpDateTime <= end_wall`` (naive pump times), logged by the
        cutoff, optionally only those whose code is in ``codes``; in sequence order."""
        sc = self.scenario
        cutoff = self._cutoff_ts()
        lo, hi = start_wall.strftime("%Y-%m-%dT%H:%M:%S"), end_wall.strftime("%Y-%m-%dT%H:%M:%S")
        out = []
        d = max(start_wall.date(), sc.start)
        last = min(end_wall.date(), sc.end)
        while d <= last:
            for ts, ev, extra in self._day(d):
                if cutoff is not None and ts > cutoff:
                    break
                if extra and not (self.extras and X.returned(ev["eventCode"], codes)):
                    continue
                if lo <= ev["pumpDateTime"] <= hi and (extra or codes is None or ev["eventCode"] in codes):
                    out.append(ev)
            d += DAY
        return out

    def records(self, start_wall, end_wall, codes=None):
        """The extra events of ``events`` as 26-byte binary records (the sandbox keeps no binary
        layout of the other events)."""
        wanted = {ev["sequenceNumber"] for ev in self.events(start_wall, end_wall, codes)}
        days = (start_wall.date() + DAY * i for i in range((end_wall.date() - start_wall.date()).days + 1))
        return b"".join(X.record_bytes(ev["eventCode"], ev["sequenceNumber"],
                                       dt.datetime.fromisoformat(ev["pumpDateTime"]), body)
                        for d in days if self.scenario.start <= d <= self.scenario.end
                        for ts, ev, body in self._day(d) if body and ev["sequenceNumber"] in wanted)

    def clock_changes(self):
        """Every clock change of the pump's history up to the cutoff (``clockChanges``)."""
        cutoff = self._cutoff_ts()
        out = []
        for d in self._transition_days():
            out.extend(ev for ts, ev, _ in self._day(d)
                       if ev["eventCode"] in CLOCK_CHANGE_CODES and (cutoff is None or ts <= cutoff))
        return out

    def newest_event(self):
        """The newest event logged by the cutoff (None if none)."""
        sc = self.scenario
        cutoff = self._cutoff_ts()
        d = sc.end if cutoff is None else min(sc.end, sc.wall(cutoff)[0].date())
        while d >= sc.start:
            visible = [ev for ts, ev, extra in self._day(d)
                       if (cutoff is None or ts <= cutoff) and (self.extras or not extra)]
            if visible:
                return visible[-1]
            d -= DAY
        return None

    def oldest_event(self):
        d = self.scenario.start
        while d <= self.scenario.end:
            day = [ev for _, ev, extra in self._day(d) if self.extras or not extra]
            if day:
                return day[0]
            d += DAY
        return None

    # ------------------------------------------------------------------ days

    def _transition_days(self):
        sc = self.full
        out = []
        d = sc.start
        while d <= sc.end:
            ds, de = sc.day_bounds(d)
            if sc.wall(ds)[0] + dt.timedelta(seconds=de - ds) != sc.wall(de)[0]:
                out.append(d)
            d += DAY
        return out

    def _make_day(self, d):
        """[(instant, event, body)] of pump-local day ``d``, numbered; ``body`` is the 16-byte body
        of an extra event (``extras``), None for the others."""
        sc = self.full
        ds, de = sc.day_bounds(d)
        items = []
        for x in (d - DAY, d, d + DAY):
            items.extend(self._gen(x))
        items = [it for it in items if ds <= it[0] < de and not sc.silent(it[0])]
        items.sort(key=lambda it: it[0])            # stable: keeps the generation order within a second
        seq = self._seq_base + (d - sc.start).days * SEQ_PER_DAY
        out = []
        for i, (ts, code, raw) in enumerate(items):
            seq += SEQ_STEPS[i % len(SEQ_STEPS)]
            out.append((ts, pump_log_event(self.assignment_id, code, seq, sc.wall(ts)[0], raw), None))
        out += X.day_extras(self.assignment_id, [(ts, ev["sequenceNumber"]) for ts, ev, _ in out], ds, de,
                            lambda ts: sc.wall(ts)[0], sc._profile_rate)
        out.sort(key=lambda it: it[1]["sequenceNumber"])
        return out

    def _generate(self, d):
        """[(instant, code, raw)] caused by what starts on pump-local day ``d`` (may spill over)."""
        sc = self.full
        if d < sc.start or d > sc.end:
            return []
        w = sc.window(d, d)
        basal = sc.truth_basal(d, d)
        iob_times = [t for t, _, _ in w.iob]
        iob_values = [v for _, _, v in w.iob]

        def iob_at(ts):
            i = bisect.bisect_right(iob_times, ts) - 1
            return iob_values[i] if i >= 0 else 0.0

        out = []
        out += self._clock_change(d)
        out += self._rate_changes(d, basal.segments, basal.suspensions)
        out += self._suspensions(d, basal.suspensions)
        out += self._site_changes(d)
        out += self._basal(d, basal.segments)
        out += self._activities(d)
        for b in sc.truth_boluses(d, d):
            out += self._bolus(b, iob_at)
        for t, kind, value in w.readings:
            if kind == "BG":
                out.append((t, 16, {"selectedIob": 1, "bg": value, "bgEntryType": 0, "iob": iob_at(t),
                                    "targetBg": therapy.TARGET, "isf": therapy.CF, "bgSourceType": 0}))
        out += self._cgm(d, [(t, v) for t, kind, v in w.readings if kind == "EGV"])
        return out

    # ------------------------------------------------------------------ generators

    def _clock_change(self, d):
        """A pump clock change (DST) inside day ``d``: event 13 at the instant of the change.

        Payload units are undocumented (docs/tandem-source.md §9); here timePrior/timeAfter are the wall-clock
        seconds after midnight before and after the change, rawRtcTime Tandem-epoch seconds of
        the pump clock before it."""
        sc = self.full
        ds, de = sc.day_bounds(d)
        if sc.wall(ds)[0] + dt.timedelta(seconds=de - ds) == sc.wall(de)[0]:
            return []
        a, b = ds, de
        off = sc.wall(ds)[0] - dt.datetime(1970, 1, 1) - dt.timedelta(seconds=ds)
        while b - a > 1:
            m = (a + b) // 2
            if sc.wall(m)[0] - dt.datetime(1970, 1, 1) - dt.timedelta(seconds=m) == off:
                a = m
            else:
                b = m
        before = sc.wall(b - 1)[0] + dt.timedelta(seconds=1)
        after = sc.wall(b)[0]

        def sod(n):
            return n.hour * 3600 + n.minute * 60 + n.second
        return [(b, 13, {"timePrior": sod(before), "timeAfter": sod(after), "rawRtcTime": tandem_seconds(before)})]

    def _rate_at(self, segments, ts):
        for s in segments:
            start = _ts(s.start)
            if start <= ts < start + s.duration_s:
                return s.rate
        return 0.0

    def _rate_changes(self, d, segments, suspensions):
        """LID_NEW_DAY at midnight and LID_BASAL_RATE_CHANGE at each timed profile segment."""
        sc = self.full
        ds, _ = sc.day_bounds(d)
        out = [(ds, 90, {"commandedBasalRate": self._rate_at(segments, ds)})]
        suspended = [(_ts(s.start), _ts(s.end) if s.end else None) for s in suspensions if s.reason != "control-iq"]
        for sod, rate in sc.profile:
            if sod == 0:
                continue
            t = sc._local_ts(d, sod)
            if any(a <= t and (b is None or t < b) for a, b in suspended):
                continue
            out.append((t, 3, {"commandedBasalRate": self._rate_at(segments, t) or rate, "baseBasalRate": rate,
                               "maxBasalRate": 3.0, "idp": 1, "changeType": bits(0)}))
        return out

    def _suspensions(self, d, suspensions):
        sc = self.full
        out = []
        for s in suspensions:
            if s.reason == "control-iq":       # Control-IQ delivers 0 U/h; the pump is not suspended
                continue
            t = _ts(s.start)
            base = sc._profile_rate(t)
            if s.reason == "alarm":
                out.append((t - 3600, 4, {"alertId": 0, "param1": 20}))             # low insulin
                out.append((t - 3570, 26, {"alertId": 0}))
                out.append((t, 5, {"alarmId": 8}))                                    # empty cartridge
            out.append((t, 11, {"insulinAmount": 0 if s.reason == "alarm" else 142,
                                "suspendReason": 1 if s.reason == "alarm" else 0}))
            out.append((t, 3, {"commandedBasalRate": 0.0, "baseBasalRate": base, "maxBasalRate": 3.0, "idp": 1,
                               "changeType": bits(4)}))
            out.append((t, 279, {"commandedRateSource": 0, "commandedRate": 0, "profileBasalRate": _mu(base),
                                 "algorithmRate": 0, "tempRate": 65535}))
            if s.reason == "alarm":
                out.append((t + 70, 28, {"alarmId": 8}))
            if s.end is not None:
                e = _ts(s.end)
                if s.reason in ("alarm", "site-cart"):
                    out.append((e - 60, 5, {"alarmId": 18}))                          # resume reminder
                    out.append((e - 20, 28, {"alarmId": 18}))
                left = 142 if s.reason == "manual" else self.model.cartridge_units - 1
                out.append((e, 12, {"insulinAmount": left}))
                rate = sc._profile_rate(e)
                out.append((e, 3, {"commandedBasalRate": rate, "baseBasalRate": rate, "maxBasalRate": 3.0,
                                   "idp": 1, "changeType": bits(5)}))
        return out

    def _site_changes(self, d):
        out = []
        mobi = self.model.phone_boluses
        for c in self.full.truth_site_changes(d, d):
            s = _ts(c.suspended_at)
            tubing = _ts(c.tubing_filled) if c.tubing_filled else None
            cart = s + max(60, ((tubing or s + 240) - s) // 2)
            out.append((cart, 33, {"insulinVolume": self.model.cartridge_units,
                                   "v2Volume": 0.0 if mobi else float(self.model.cartridge_units)}))
            if tubing:
                out.append((tubing, 63, {"primeSize": -1.0, "completionStatus": 3, "position": 54321}))
            if c.cannula_filled:
                out.append((_ts(c.cannula_filled), 61, {"primeSize": 0.3, "completionStatus": 3}))
        return out

    def _basal(self, d, segments):
        sc = self.full
        ds, de = sc.day_bounds(d)
        out = []
        prev_end = None
        for s in segments:
            t = _ts(s.start)
            end = t + int(s.duration_s)
            profile = sc._profile_rate(t)
            source = {"profile": 1, "temp": 2, "algorithm": 3}[s.kind]
            if s.kind == "temp" and not (t == ds and prev_end == ds):
                out.append((t, 3, {"commandedBasalRate": s.rate, "baseBasalRate": profile, "maxBasalRate": 3.0,
                                   "idp": 1, "changeType": bits(2)}))
            out.append((t, 279, {"commandedRateSource": source, "commandedRate": _mu(s.rate),
                                 "profileBasalRate": _mu(profile),
                                 "algorithmRate": _mu(s.rate) if s.kind == "algorithm" else _mu(profile),
                                 "tempRate": _mu(s.rate) if s.kind == "temp" else 65535}))
            if s.kind == "temp" and end != de:
                out.append((end, 3, {"commandedBasalRate": sc._profile_rate(end),
                                     "baseBasalRate": sc._profile_rate(end), "maxBasalRate": 3.0, "idp": 1,
                                     "changeType": bits(3)}))
            prev_end = end
        return out

    def _activities(self, d):
        out = []
        for a in self.full.truth_activities(d, d):
            s = _ts(a.start)
            e = s + int(a.duration_s)
            if a.kind == "Sleep":
                common = {"activeSleepSchedule": bits(0)}
                out.append((s, 229, dict(common, requestedAction=1, previousUserMode=0, currentUserMode=1)))
                out.append((e, 229, dict(common, requestedAction=2, previousUserMode=1, currentUserMode=0)))
            elif a.kind == "Exercise":
                minutes = int(round(a.duration_s / 60.0))
                common = {"exerciseChoice": 1, "exerciseTime": minutes, "activeSleepSchedule": bits(0)}
                out.append((s, 229, dict(common, requestedAction=3, previousUserMode=0, currentUserMode=2)))
                out.append((e, 229, dict(common, requestedAction=4, previousUserMode=2, currentUserMode=0,
                                         exerciseStoppedByTimer=1)))
        return out

    def _bolus(self, b, iob_at):
        phone = self.model.phone_boluses
        bid = int(b.request_id) & 0xFFFF
        req = _ts(b.request_time)
        comp = _ts(b.completion_time)
        act = min(req + 5, comp)
        iob = iob_at(req - 1)
        correction = b.automatic or "Correction" in b.description
        food = 0.0 if b.automatic else round(b.carbs / float(therapy.CR), 2)
        corr = round(b.total_requested, 2) if b.automatic else (
            round(max(0.0, b.total_requested - food), 2) if correction else 0.0)
        ext = (b.extended_requested or 0.0) if b.extended else 0.0
        now_size = round(b.total_requested - ext, 2)
        if b.automatic:
            msg1_type, option, source = 2, 3, 7
        elif phone:
            msg1_type, option, source = 3, 5 if b.extended else 4, 8
        else:
            msg1_type, option, source = (1 if b.carbs else 0), 1 if b.extended else 0, 1
        out = []
        if b.carbs:
            out.append((req - 5, 48, {"carbs": float(b.carbs)}))
        out.append((req, 64, {"bolusId": bid, "bolusType": msg1_type, "correctionBolusIncluded": int(correction),
                              "carbAmount": b.carbs, "bg": b.bg or 0,
                              "carbRatio": 0 if (phone or b.automatic) else therapy.CR * 1000, "iob": iob}))
        out.append((req, 65, {"selectedIob": 1, "bolusId": bid, "options": option,
                              "standardPercent": int(round(b.standard_percent or 100)),
                              "duration": int(b.duration_min or 0), "isf": 0 if phone else therapy.CF,
                              "targetBg": 0 if phone else (therapy.AUTO_TARGET if b.automatic else therapy.TARGET),
                              "userOverride": int(b.user_override), "declinedCorrection": 0}))
        out.append((req, 66, {"bolusId": bid, "foodBolusSize": food, "correctionBolusSize": corr,
                              "totalBolusSize": b.total_requested}))
        out.append((act, 55, {"selectedIob": 1, "bolusId": bid, "iob": iob, "bolusSize": now_size}))
        if b.extended:
            out.append((act, 59, {"selectedIob": 1, "bolusId": bid, "iob": iob, "bolexSize": ext}))
        type_bits = [0] + ([1] if b.extended else []) + ([3] if correction else []) + ([4] if b.carbs else [])
        delivery = {"bolusId": bid, "bolusType": bits(*type_bits), "bolusSource": source,
                    "remoteId": 1 if phone and not b.automatic else 0, "requestedNow": _mu(now_size),
                    "requestedLater": _mu(ext), "extendedDurationRequested": int(b.duration_min or 0),
                    "correction": _mu(corr)}
        out.append((act, 280, dict(delivery, bolusDeliveryStatus=1)))
        status = STATUS_CODES.get(b.status, 3)
        if not b.extended:
            out.append((comp, 280, dict(delivery, bolusDeliveryStatus=0, deliveredTotal=_mu(b.delivered))))
        out.append((comp, 20, {"completionStatus": status, "bolusId": bid, "insulinDelivered": b.delivered,
                               # the scenario's own IOB just after the delivery (its EventID 9 row)
                               "insulinRequested": now_size, "iob": iob_at(comp + 2) if b.delivered > 0 else iob}))
        if b.extended and b.extended_end is not None:
            end = _ts(b.extended_end)
            delivered = b.extended_delivered or 0.0
            out.append((end, 280, dict(delivery, bolusDeliveryStatus=0, deliveredTotal=_mu(b.delivered + delivered))))
            out.append((end, 21, {"completionStatus": STATUS_CODES.get(b.extended_status, 3), "bolusId": bid,
                                  "insulinDelivered": delivered, "insulinRequested": ext,
                                  "iob": iob_at(end)}))
        return out

    def _cgm(self, d, readings):
        """Readings (logged 3 s after the sensor's time), alerts at the thresholds, and a sensor
        session change every ``SENSOR_DAYS`` days at 09:00."""
        sc = self.full
        cgm = self.cgm
        out = []
        prev = sc.glucose(readings[0][0] - 300) if readings else None
        session_day = (d.toordinal() + sc.seed) % SENSOR_DAYS == 0
        change_at = sc._local_ts(d, 9 * 3600) if session_day else None
        for t, value in readings:
            if change_at is not None and t >= change_at:
                out += self._session_change(t)
                change_at = None
            egv = tandem_seconds(sc.wall(t)[0])
            rate = max(-127, min(127, int(round((value - prev) / 5.0 * 10))))
            raw = {"glucoseValueStatus": 0, "cgmDataType": bits(0), "rate": rate, "algorithmState": 32,
                   "rssi": -71, "currentGlucoseDisplayValue": value, "egvTimeStamp": egv,
                   "egvInfoBitmask": bits(0, 5, 6, 7, 8, 11, 12), "interval": 0}
            out.append((t + 3, cgm.reading, raw))
            for threshold, dalert, crossed, cleared in (
                    (CGM_HIGH, DALERT_HIGH, prev <= CGM_HIGH < value, value <= CGM_HIGH < prev),
                    (CGM_LOW, DALERT_LOW, prev >= CGM_LOW > value, value >= CGM_LOW > prev)):
                if crossed:
                    out.append((t + 5, cgm.alert, {"dalertId": dalert, "sensorType": cgm.sensor_type}))
                elif cleared:
                    out.append((t + 5, cgm.alert_cleared, {"dalertId": dalert, "sensorType": cgm.sensor_type}))
            prev = value
        return out

    def _session_change(self, t):
        """The sensor session ends just before the reading at ``t``; the next one starts after it."""
        sc = self.full
        cgm = self.cgm
        stop, start = t - 60, t + 90
        stop_wall, start_wall = tandem_seconds(sc.wall(stop)[0]), tandem_seconds(sc.wall(start)[0])
        begun = stop_wall - SENSOR_DAYS * 86400
        signature = zlib.crc32(("%s/%d" % (self.assignment_id, t)).encode()) & 0x7FFFFFFF
        stop_raw = {
            447: {"currentTransmitterTime": stop_wall - begun, "sessionStartTime": begun, "sessionStopTime": stop_wall,
                  "sessionDuration": SENSOR_DAYS},
            214: {"currentTransmitterTime": stop_wall - begun, "sessionStartTime": begun, "sessionStopTime": stop_wall,
                  "sessionDuration": SENSOR_DAYS},
            405: {"sessionStartTime": begun, "sessionStopTime": stop_wall, "sessionDuration": SENSOR_DAYS},
            486: {"sessionStartTime": begun, "sessionStopTime": stop_wall, "sessionDuration": SENSOR_DAYS},
        }[cgm.stop]
        start_raw = {
            394: {"cgmTimestamp": start_wall - 3, "sessionSignature": signature},
            212: {"currentTransmitterTime": 0, "sessionStartTime": start_wall, "sessionDuration": SENSOR_DAYS},
            404: {"sessionStartTime": start_wall, "sessionDuration": 14},
            477: {"sessionStartTime": start_wall, "sessionJoinTime": start_wall, "sessionDuration": 15},
        }[cgm.start]
        return [(stop, cgm.stop, stop_raw), (start, cgm.start, start_raw)]
