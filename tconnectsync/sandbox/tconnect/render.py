"""The scenario as the legacy hosts send it: Control:IQ timeline and summary, the ws2 CSV
export and basalsuspension rows, therapy events; and the fixtures folder served verbatim."""
import datetime as dt
import os
import re

from .. import clock
from ..scenario import therapy
from .wire import (CSV_BASAL_HEADER, CSV_BOLUS_HEADER, CSV_IOB_HEADER, CSV_READINGS_HEADER, DEVICE_TYPE, dumps,
                   num)


# ---------------------------------------------------------------------------- rendering

def pump_features(sc):
    if sc.control_iq_since is None:
        return None
    first = dt.datetime.combine(sc.control_iq_since, dt.time(9, 12, 44))
    return {"serialNumber": sc.serial,
            "features": {"controlIQ": {"feature": 1, "dateTimeFirstDetected": first.strftime("%Y-%m-%dT%H:%M:%S"),
                                       "unixTimestamp": clock.pseudo_epoch(first)}}}


def render_timeline(sc, w):
    out = {"basal": {"profileRates": [], "tempDeliveryEvents": [], "algorithmDeliveryEvents": [],
                     "profileDeliveryEvents": []},
           "events": [], "suspensionDeliveryEvents": [], "softwareUpdates": [],
           "pumpFeatures": [f for f in [pump_features(sc)] if f]}
    key = {"algorithm": "algorithmDeliveryEvents", "temp": "tempDeliveryEvents", "profile": "profileDeliveryEvents"}
    for start, duration, rate, kind in w.segments:
        out["basal"][key[kind]].append({"y": num(rate), "duration": duration, "x": sc.pseudo_epoch(start)})
    for t, reason, continuation in w.ciq_suspensions:
        out["suspensionDeliveryEvents"].append({"suspendReason": reason,
                                                "continuation": "previous" if continuation else None,
                                                "x": sc.pseudo_epoch(t)})
    for t, duration, etype, continuation in w.activities:
        out["events"].append({"continuation": "previous" if continuation else None, "duration": duration,
                              "eventType": etype, "timeZoneId": "America/Los_Angeles", "x": sc.pseudo_epoch(t)})
    return dumps(out)


def render_summary(sc, w):
    total_min = w.covered_s / 60.0
    susp_min = w.suspended_s / 60.0
    cgm = [v for _, kind, v in w.readings if kind == "EGV"]
    days = (w.end_date - w.start_date).days + 1
    in_use = total_min - susp_min
    return dumps({"averageReading": int(round(sum(cgm) / float(len(cgm)))) if cgm else 0,
                  "timeInUseMinutes": int(round(in_use)),
                  "controlIqSetToOffMinutes": 0,
                  "cgmInactiveMinutes": 0,
                  "pumpInactiveMinutes": int(round(susp_min)),
                  "averageDailySleepMinutes": int(round(w.sleep_s / 60.0 / days)),
                  "weeklyExerciseEvents": int(round(w.exercises * 7.0 / days)),
                  "timeInUsePercent": int(round(100 * in_use / total_min)) if total_min else 0,
                  "controlIqOffPercent": 0,
                  "cgmInactivePercent": 0,
                  "pumpInactivePercent": int(round(100 * susp_min / total_min)) if total_min else 0,
                  "totalDays": days})


def _csv_row(values, trailing_comma):
    return ",".join('"%s"' % str(v).replace('"', '""') for v in values) + ("," if trailing_comma else "")


def _format_report_time(n):
    return "%d/%d/%d %d:%02d:%02d %s" % (n.month, n.day, n.year, (n.hour % 12) or 12, n.minute, n.second,
                                         "AM" if n.hour < 12 else "PM")


def _csv_header(name, dob, generated):
    return ["Tandem Diabetes Care Inc.", "t:connect Therapy Timeline Data Export", "Patient Name, %s" % name,
            "Patient DOB, %s" % ("%d/%d/%d" % (dob.month, dob.day, dob.year) if dob else ""),
            "Report Generated On, %s" % generated]


def _delivered_split(b):
    """(food, correction) reported as delivered for the immediate part (as in the fixtures)."""
    if b.override:
        return 0.0, 0.0
    if b.extended:
        return b.delivered, 0.0
    if b.status_id == 3:
        return b.food, b.corr
    food = min(b.delivered, b.food)
    return food, round(b.delivered - food, 2)


def bolus_csv_row(sc, b, cutoff):
    desc, btype, opts, ehr, details = therapy.bolus_texts(b)
    if b.extended:
        done = b.ext_done(cutoff)
        bolex = ["%d" % (16700000 + b.index_id if done else 0), "%.2f" % b.ext_size, sc.wall_str(b.ext_start),
                 sc.wall_str(b.ext_end) if done else "", "%.2f" % b.ext_size if done else "",
                 "%.2f" % b.ext_iob if done else "0", "3.00" if done else "0", "Completed" if done else "",
                 "1" if done else "0"]
        std_pct, duration = "%.2f" % b.ext_percent, "%d" % b.ext_minutes
    else:
        bolex, std_pct, duration = [""] * 9, "100.00", "0"
    food_del, corr_del = _delivered_split(b)
    values = [
        "Bolus", desc, "" if b.kind == "auto" else ("%d" % b.bg if b.bg else ""), "%.2f" % b.iob if b.iob else "",
        "%d.000" % b.request_id, "%d.000" % b.request_id, sc.wall_str(b.completion), "%.2f" % b.delivered,
        "%.2f" % food_del, "%.2f" % corr_del, "%d" % b.status_id, b.status, "1" if b.status_id == 3 else "0",
    ] + bolex + [
        sc.wall_str(b.req), sc.wall_str(b.req), btype, opts, std_pct, duration, "%d" % b.carbs,
        "1" if b.override else "0", "%d" % (therapy.AUTO_TARGET if b.kind == "auto" else therapy.TARGET),
        "%.2f" % therapy.CF, "%.2f" % b.food, "%.2f" % b.corr, "%.2f" % b.requested, "0",
        "0",    # the real export's extra value without a header name (docs/tconnect.md §5.1)
        ehr, details, "0", "%d" % b.index_id, "",
    ]
    return _csv_row(values, trailing_comma=True)


def render_csv(sc, w):
    """The Therapy Timeline export: header block, then readings, IOB, basal (days without
    Control-IQ) and bolus sections, each only when it has rows (even a single one)."""
    blocks = [_csv_header(sc.patient_name, sc.patient_dob, _format_report_time(sc.wall(w.report_time)[0]))]
    if w.readings:
        blocks.append([CSV_READINGS_HEADER] + [
            _csv_row([DEVICE_TYPE, sc.serial, kind, sc.wall_str(t), "%d" % v], trailing_comma=True)
            for t, kind, v in w.readings])
    if w.iob:
        blocks.append([CSV_IOB_HEADER] + [
            _csv_row(["IOB", "%d" % eid, sc.wall_str(t), "%.2f" % v], trailing_comma=False) for t, eid, v in w.iob])
    if w.csv_basal:
        blocks.append([CSV_BASAL_HEADER] + [
            _csv_row(["Basal", sc.wall_str(t), "%.3f" % rate], trailing_comma=False) for t, rate in w.csv_basal])
    if w.boluses:
        blocks.append([CSV_BOLUS_HEADER] + [bolus_csv_row(sc, b, w.cutoff) for b in w.boluses])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def net_date(sc, ts):
    return "/Date(%d-0000)/" % (sc.pseudo_epoch(ts) * 1000)


def render_basalsuspension(sc, w, filterbasal=False):
    rows = []
    for t, reason, continuation in w.ws2_events:
        if filterbasal and reason != "site-cart":
            continue
        if continuation:
            rows.append({"Continuation": "continuation", "EventDateTime": net_date(sc, t), "SuspendReason": reason})
        else:
            rows.append({"EventDateTime": net_date(sc, t), "SuspendReason": reason})
    return {"BasalSuspension": rows}


def egv_flags(v):
    return {"estimatedGlucoseValue": v, "hypo": int(v < 54), "belowTarget": int(54 <= v < 70),
            "withinTarget": int(70 <= v <= 180), "aboveTarget": int(180 < v <= 250), "hyper": int(v > 250)}


def bolus_event(sc, b, cutoff):
    desc, btype, opts, ehr, details = therapy.bolus_texts(b, html=True)
    ev = {"actualTotalBolusRequested": num(b.requested)}
    if b.bg:
        ev["bg"] = b.bg
    if b.extended:
        if b.ext_done(cutoff):
            ev["bolex"] = {"size": num(b.ext_size), "bolexStartDateTime": sc.wall_str(b.ext_start),
                           "insulinDelivered": {"completionDateTime": sc.wall_str(b.ext_end),
                                                "value": num(b.ext_size)},
                           "iob": num(b.ext_iob), "completionStatusId": 3, "completionStatusDesc": "Completed",
                           "extendedBolusIsComplete": 1, "insulinRequested": num(b.ext_size),
                           "bolexCompletionId": 16700000 + b.index_id}
        else:
            ev["bolex"] = {"size": num(b.ext_size), "bolexStartDateTime": sc.wall_str(b.ext_start), "iob": 0,
                           "completionStatusId": 0, "extendedBolusIsComplete": 0, "insulinRequested": 0,
                           "bolexCompletionId": 0}
    food_del, corr_del = _delivered_split(b)
    ev.update({
        "bolusRequestOptions": opts, "bolusType": btype, "carbSize": b.carbs, "correctionBolusSize": num(b.corr),
        "correctionFactor": therapy.CF, "declinedCorrection": 0, "duration": b.ext_minutes if b.extended else 0,
        "eventDateTime": sc.wall_str(b.req), "eventHistoryReportDetails": details,
        "eventHistoryReportEventDesc": ehr, "foodBolusSize": num(b.food), "iob": num(b.iob), "isQuickBolus": 0,
        "note": {"id": 0, "indexId": "%d" % b.index_id, "eventTypeId": 64, "sourceRecordId": 0, "eventId": 0,
                 "active": False},
        "requestDateTime": sc.wall_str(b.req),
        "standard": {
            "insulinDelivered": {"completionDateTime": sc.wall_str(b.completion), "value": num(b.delivered)},
            "foodDelivered": num(food_del), "correctionDelivered": num(corr_del),
            "insulinRequested": num(b.delivered if b.extended else b.requested),
            "completionStatusId": b.status_id, "completionStatusDesc": b.status,
            "bolusIsComplete": 1 if b.status_id == 3 else 0,
            "bolusRequestId": b.request_id, "bolusCompletionId": b.request_id},
        "standardPercent": b.ext_percent if b.extended else 100,
        "targetBG": therapy.AUTO_TARGET if b.kind == "auto" else therapy.TARGET,
        "userOverride": 1 if b.override else 0,
        "type": "Bolus", "description": desc, "sourceRecId": b.source_rec_id,
        "eventTypeId": 0, "indexId": 0, "uploadId": 0, "interactive": 0,
        "tempRateId": 0, "tempRateCompleted": 0, "tempRateActivated": 0,
    })
    return ev


def render_therapy_events(sc, w):
    events = []
    for t, kind, v in w.readings:
        if kind == "EGV":
            events.append((t, {"eventDateTime": sc.wall_str(t), "eventID": 256,
                               "requestDateTime": "0001-01-01T00:00:00", "type": "CGM", "description": "EGV",
                               "sourceRecId": 0, "eventTypeId": 0, "deviceType": DEVICE_TYPE,
                               "serialNumber": sc.serial, "indexId": 0, "uploadId": 0, "interactive": 0,
                               "tempRateId": 0, "tempRateCompleted": 0, "tempRateActivated": 0,
                               "egv": egv_flags(v)}))
    for t, v, iob, index_id in w.bg_events:
        events.append((t, {"bg": v, "cgmCalibration": 0, "description": "BG", "deviceType": DEVICE_TYPE,
                           "eventDateTime": sc.wall_str(t), "eventTypeId": 16, "indexId": index_id,
                           "interactive": 0, "iob": num(iob),
                           "note": {"active": False, "eventId": 0, "eventTypeId": 16, "id": 0, "indexId": "",
                                    "sourceRecordId": 0},
                           "requestDateTime": "0001-01-01T00:00:00", "serialNumber": sc.serial,
                           "sourceRecId": 600000000 + index_id * 3, "tempRateActivated": 0,
                           "tempRateCompleted": 0, "tempRateId": 0, "type": "BG", "uploadId": 0}))
    for b in w.boluses:
        events.append((b.req, bolus_event(sc, b, w.cutoff)))
    events.sort(key=lambda e: e[0])
    return dumps({"event": [e for _, e in events]})


def user_profile(guid):
    return {"userID": guid, "targetBgHigh": 180, "targetBgLow": 70, "hypoThreshold": 54, "hyperThreshold": 250,
            "dateOfBirth": "1990-01-01T00:00:00", "age": 31, "patientFullName": therapy.PATIENT_NAME,
            "caregiverDateOfBirth": None, "hasCGM": True, "hasBASALIQ": False, "hasControlIQ": True}


PATIENT_INFO = {"firstName": "Alex", "lastName": "Sample", "birthDate": "1990-01-01T00:00:00.000Z",
                "emailAddress": "alex.sample@example.invalid", "secretQuestion": "Synthetic question?",
                "secretAnswer": "synthetic", "secretQuestionId": 1}
THERAPY_THRESHOLDS = {"targetBGHigh": 180, "targetBGLow": 70, "hypoThreshold": 54, "hyperThreshold": 250,
                      "siteChangeThreshold": 3, "cartridgeChangeThreshold": 3, "tubingChangeThreshold": 3}


# ---------------------------------------------------------------------------- fixtures

class FixtureStore:
    """A fixtures folder (``tests/data/tconnect`` in the repository) served verbatim for its windows."""

    def __init__(self, root):
        self.root = root
        self.windows = {}
        for name in sorted(os.listdir(root)):
            m = re.fullmatch(r"window-(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})(-.*)?", name)
            if m and os.path.isdir(os.path.join(root, name)):
                key = (dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2)))
                self.windows[key] = os.path.join(root, name)

    def read(self, relpath):
        path = os.path.join(self.root, relpath)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def window_file(self, start, end, name):
        """(True, bytes or None) when the window is a fixture window, else (False, None)."""
        folder = self.windows.get((start, end))
        if folder is None:
            return False, None
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return True, None
        with open(path, "rb") as f:
            return True, f.read()


# ---------------------------------------------------------------------------- HTTP plumbing
