"""A simulated Tandem legacy cloud: three local HTTP servers, one per Tandem host.

``web`` is tconnect.tandemdiabetes.com (website login), ``ws2`` is tconnectws2 and ``services``
is tdcservices (Control:IQ under ``tconnect/controliq/api/``, therapy events under
``tconnect/therapyevents/api/``, the Android/cloud API under ``cloud/``). Wire formats follow
``docs/tconnect.md`` and the fixtures byte for byte; data comes from a
``Scenario`` or, for the fixtures' own windows, from a fixtures folder served verbatim.

The servers validate requests the way Tandem does (auth, WAF rules, dates, window sizes) and
offer fault injection and request counts for reliability tests. Standard library only.

    with TandemLegacySandbox(scenario=make_scenario(date(2021, 10, 1), date(2021, 10, 7))) as sb:
        sb.web_url, sb.ws2_url, sb.services_url
"""
import argparse
import base64
import collections
import datetime as dt
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tconnectsync import timeutil
from tconnectsync.sandbox import scenario as scen
from .faults import FaultsMixin

log = logging.getLogger(__name__)

HOSTS = ("web", "ws2", "services")
DEFAULT_USER_GUID = "00000000-aaaa-4bbb-8ccc-111111111111"
ANDROID_CLIENT_ID = "C2331CD6-D450-495E-9C19-67215230C85C"
ANDROID_CLIENT_SECRET = "tz433KW5QDC9V7f!z6@^2o&Y6SGGYh"
DEVICE_TYPE = "t:slim X2 Insulin Pump"
VIEWSTATE_GENERATOR = "C2EE9ABB"
EVENT_TARGET = "ctl00$ContentBody$LoginControl$linkLogin"
EMAIL_FIELD = "ctl00$ContentBody$LoginControl$txtLoginEmailAddress"
PASSWORD_FIELD = "ctl00$ContentBody$LoginControl$txtLoginPassword"
LOGIN_FIELDS = ("__LASTFOCUS", "__EVENTTARGET", "__EVENTARGUMENT", "__VIEWSTATE", "__VIEWSTATEGENERATOR",
                "__EVENTVALIDATION", EMAIL_FIELD, "txtLoginEmailAddress_ClientState", PASSWORD_FIELD,
                "txtLoginPassword_ClientState")
LOCKOUT_MESSAGE = "Max attempted logins exceeded."
BAD_CREDENTIALS_MESSAGE = "The email address or password is incorrect."
BAD_FORM_MESSAGE = "Your session has expired. Please try logging in again."
CSV_READINGS_HEADER = "DeviceType,SerialNumber,Description,EventDateTime,Readings (CGM / BGM)"
CSV_IOB_HEADER = "Type,EventID,EventDateTime,IOB"
CSV_BASAL_HEADER = "Type,EventDateTime,BasalRate"
CSV_BOLUS_HEADER = (
    "Type,Description,BG,IOB,BolusRequestID,BolusCompletionID,CompletionDateTime,InsulinDelivered,"
    "FoodDelivered,CorrectionDelivered,CompletionStatusID,CompletionStatusDesc,BolusIsComplete,"
    "BolexCompletionID,BolexSize,BolexStartDateTime,BolexCompletionDateTime,BolexInsulinDelivered,BolexIOB,"
    "BolexCompletionStatusID,BolexCompletionStatusDesc,ExtendedBolusIsComplete,EventDateTime,RequestDateTime,"
    "BolusType,BolusRequestOptions,StandardPercent,Duration,CarbSize,UserOverride,TargetBG,CorrectionFactor,"
    "FoodBolusSize,CorrectionBolusSize,ActualTotalBolusRequested,IsQuickBolus,EventHistoryReportEventDesc,"
    "EventHistoryReportDetails,NoteID,IndexID,Note")

JSON = "application/json; charset=utf-8"
PROBLEM = "application/problem+json; charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
JSONP = "application/javascript; charset=utf-8"

LOGIN_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t:connect - Login</title></head>
<body>
<form method="post" action="./login.aspx?ReturnUrl=%%2f" onsubmit="javascript:return WebForm_OnSubmit();" id="form1">
<div class="aspNetHidden">
<input type="hidden" name="__LASTFOCUS" id="__LASTFOCUS" value="" />
<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />
<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="" />
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="%(viewstate)s" />
</div>
<div class="aspNetHidden">
<input type="hidden" name="__VIEWSTATEGENERATOR" id="__VIEWSTATEGENERATOR" value="%(generator)s" />
<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="%(validation)s" />
</div>
<div id="content">
  <div class="login_box">
%(notice)s    <label for="txtLoginEmailAddress">Email Address</label>
    <input name="ctl00$ContentBody$LoginControl$txtLoginEmailAddress" type="text" id="txtLoginEmailAddress" class="riTextBox riEnabled" />
    <input id="txtLoginEmailAddress_ClientState" name="txtLoginEmailAddress_ClientState" type="hidden" />
    <label for="txtLoginPassword">Password</label>
    <input name="ctl00$ContentBody$LoginControl$txtLoginPassword" type="password" id="txtLoginPassword" class="riTextBox riEnabled" />
    <input id="txtLoginPassword_ClientState" name="txtLoginPassword_ClientState" type="hidden" />
    <a id="linkLogin" class="button" href="javascript:__doPostBack(&#39;ctl00$ContentBody$LoginControl$linkLogin&#39;,&#39;&#39;)"><span>Log In</span></a>
  </div>
</div>
<div id="footer"><span id="footer_version">t:connect 7.14.0.1</span></div>
</form>
</body>
</html>
"""
OBJECT_MOVED = """<html><head><title>Object moved</title></head><body>
<h2>Object moved to <a href="%s">here</a>.</h2>
</body></html>
"""
HOME_PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>t:connect - Home</title></head>
<body>
<div id="content"><div class="title">Welcome, Alex</div></div>
<div id="footer"><span id="footer_version">t:connect 7.14.0.1</span></div>
</body>
</html>
"""
# Azure Application Gateway WAF answer to a rejected request (docs/tconnect.md §4: an HTML "403 Forbidden")
WAF_FORBIDDEN_PAGE = """<html>
<head><title>403 Forbidden</title></head>
<body>
<center><h1>403 Forbidden</h1></center>
<hr><center>Microsoft-Azure-Application-Gateway/v2</center>
</body>
</html>
"""
# the block page upstream detects on the login page (fixtures web/waf_blocked.html); for fail_when
WAF_BLOCKED_PAGE = """<html><head><title>Request Rejected</title></head>
<body>
<h1>Web Page Blocked!</h1>
<p>The page cannot be displayed. Please contact the administrator for additional information.</p>
<p>Attack ID: 20000000</p>
<p>Message ID: 000000000001</p>
</body></html>
"""
WS2_TIMEOUT_PAGE = """<html><head><title>Execution Timeout Expired.</title></head><body>
<h1>Server Error in '/' Application.</h1>
<h2><i>Execution Timeout Expired. The timeout period elapsed prior to completion of the operation or the server is not responding.</i></h2>
</body></html>
"""
ERROR_500 = {"messages": ["An error occurred. Try it again."]}
TOKEN_EXPIRED = {"statusCode": 401, "status": 401, "code": 401,
                 "message": "Invalid token: access token has expired", "name": "invalid_token"}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def num(x):
    """A JSON number the way a .NET serializer writes doubles: 0 -> 0, 0.8 -> 0.8."""
    if isinstance(x, float) and x == int(x):
        return int(x)
    return x


def oauth_error(status, message, name):
    return dumps({"statusCode": status, "status": status, "code": status, "message": message, "name": name})


def problem(status, title, extra=None):
    body = {"type": "https://tools.ietf.org/html/rfc7231#section-6.5.%d" % {400: 1, 404: 4}.get(status, 1),
            "title": title, "status": status,
            "traceId": "00-%s-%s-00" % (secrets.token_hex(16), secrets.token_hex(8))}
    if extra:
        body["errors"] = extra
    return dumps(body)


def parse_mdy(value):
    """``MM-DD-YYYY`` -> date, None if malformed."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}-\d{2}-\d{4}", value):
        return None
    try:
        return dt.datetime.strptime(value, "%m-%d-%Y").date()
    except ValueError:
        return None


def request_window(path, query):
    """(start, end) dates of a windowed Tandem request (query or path), else None. For
    ``fail_when`` predicates such as "fail every timeline request containing 10-21"."""
    if "startDate" in query and "endDate" in query:
        a, b = parse_mdy(query["startDate"]), parse_mdy(query["endDate"])
        return (a, b) if a and b else None
    dates = [parse_mdy(p) for p in path.split("/")]
    dates = [d for d in dates if d]
    return (dates[0], dates[1]) if len(dates) >= 2 else None


def _redact(path):
    """The request path with the values of secret-looking query parameters replaced by ***."""
    parts = urlsplit(path)
    pairs = parts.query.split("&") if parts.query else []
    secret = re.compile(r"pass|token|secret|code", re.I)
    if not any(secret.search(p.partition("=")[0]) for p in pairs):
        return path
    return parts.path + "?" + "&".join(
        p.partition("=")[0] + "=***" if secret.search(p.partition("=")[0]) else p for p in pairs)


def _iso_ms(ts):
    instant = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (instant.microsecond // 1000)


# ---------------------------------------------------------------------------- rendering

def pump_features(sc):
    if sc.control_iq_since is None:
        return None
    first = dt.datetime.combine(sc.control_iq_since, dt.time(9, 12, 44))
    return {"serialNumber": sc.serial,
            "features": {"controlIQ": {"feature": 1, "dateTimeFirstDetected": first.strftime("%Y-%m-%dT%H:%M:%S"),
                                       "unixTimestamp": timeutil.encode_pseudo_epoch(first)}}}


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
    desc, btype, opts, ehr, details = scen.bolus_texts(b)
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
        "1" if b.override else "0", "%d" % (scen.AUTO_TARGET if b.kind == "auto" else scen.TARGET),
        "%.2f" % scen.CF, "%.2f" % b.food, "%.2f" % b.corr, "%.2f" % b.requested, "0",
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
    desc, btype, opts, ehr, details = scen.bolus_texts(b, html=True)
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
        "correctionFactor": scen.CF, "declinedCorrection": 0, "duration": b.ext_minutes if b.extended else 0,
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
        "targetBG": scen.AUTO_TARGET if b.kind == "auto" else scen.TARGET,
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
            "dateOfBirth": "1990-01-01T00:00:00", "age": 31, "patientFullName": scen.PATIENT_NAME,
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

class _Response:
    def __init__(self, status, body=b"", content_type=HTML, headers=()):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = list(headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 30

    def setup(self):
        super().setup()
        with self.server.conn_lock:
            self.server.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.conns.discard(self.connection)

    def _any(self):
        self.server.sandbox._handle(self, self.command)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.server.host, fmt % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class _HostServer:
    """One listening socket; ``stop`` closes it (clients get "connection refused")."""

    def __init__(self, sandbox, host):
        self.sandbox, self.host, self.port = sandbox, host, 0
        self.httpd = None
        self.thread = None

    def start(self):
        if self.httpd is not None:
            return
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.sandbox, httpd.host = self.sandbox, self.host
        httpd.conns, httpd.conn_lock = set(), threading.Lock()
        self.port = httpd.server_address[1]
        self.httpd = httpd
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="tandem-sandbox-%s" % self.host, daemon=True)
        self.thread.start()

    def stop(self):
        httpd, self.httpd = self.httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        self.thread.join(5)
        with httpd.conn_lock:
            conns = list(httpd.conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port


# ---------------------------------------------------------------------------- the sandbox

class TandemLegacySandbox(FaultsMixin):
    """The three Tandem hosts on 127.0.0.1 (random free ports). See the module doc."""

    HOSTS = HOSTS

    def __init__(self, scenario=None, fixtures_dir=None, email="demo@example.com", password="demo-password",
                 user_guid=DEFAULT_USER_GUID, latency=0.0, token_lifetime_s=8 * 3600, clock=time.time,
                 max_ws2_days=2, max_ciq_days=None):
        self.fixtures = FixtureStore(fixtures_dir) if fixtures_dir else None
        if scenario is None and self.fixtures is None:
            today = dt.datetime.now(dt.timezone.utc).astimezone(timeutil.get_zone("America/New_York")).date()
            scenario = scen.make_scenario(today - dt.timedelta(days=6), today,
                                          cutoff=dt.datetime.now(dt.timezone.utc))
        self.scenario = scenario
        self.email = email
        self.password = password
        self.user_guid = user_guid
        self.latency = latency
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock
        self.max_ws2_days = max_ws2_days
        self.max_ciq_days = max_ciq_days
        self.max_failed_logins = 5
        self.lockout_s = 3600
        self.fixture_upload_sequence = [1, 1, 2]    # getlasteventuploaded_N.json per poll (fixtures only)
        self.login_attempts = 0
        self.failed_logins = 0
        self._failure_times = []
        self._locked_until = None
        self._lock = threading.RLock()
        self._counts = {h: 0 for h in HOSTS}
        self._log = []
        self._faults = {h: collections.deque() for h in HOSTS}
        self._predicates = []
        self._tokens = {}               # token -> [kind, expires_at]
        self._viewstates = collections.OrderedDict()
        self._upload_polls = 0
        self._down = set()
        self._running = False
        self._servers = {h: _HostServer(self, h) for h in HOSTS}
        if self.fixtures is not None:
            page = self.fixtures.read("web/login_get.html")
            m = page and re.search(rb'id="__VIEWSTATE" value="([^"]*)".*id="__EVENTVALIDATION" value="([^"]*)"',
                                   page, re.S)
            if m:
                self._viewstates[m.group(1).decode()] = m.group(2).decode()

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        self._running = True
        for host in HOSTS:
            if host not in self._down:
                self._servers[host].start()
        return self

    def stop(self):
        self._running = False
        for server in self._servers.values():
            server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def web_url(self):
        return self._servers["web"].url

    @property
    def ws2_url(self):
        return self._servers["ws2"].url

    @property
    def services_url(self):
        return self._servers["services"].url

    @property
    def login_url(self):
        return self.web_url + "login.aspx?ReturnUrl=%2f"

    @property
    def serial(self):
        return self.scenario.serial if self.scenario is not None else "11111111"

    # ------------------------------------------------------------------ observability and faults

    def issue_token(self, kind="web"):
        """A valid bearer token without a login ("web" or "android"), for tests."""
        return self._issue_token(kind)

    @property
    def locked_out(self):
        with self._lock:
            return self._is_locked(self.clock())

    def reset_lockout(self):
        with self._lock:
            self._failure_times = []
            self._locked_until = None

    # ------------------------------------------------------------------ request handling

    def _handle(self, h, method):
        host = h.server.host
        parts = urlsplit(h.path)
        path, raw_query = parts.path, parts.query
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        with self._lock:
            self._counts[host] += 1
            self._log.append((host, method, _redact(h.path)))
            fault = self._faults[host].popleft() if self._faults[host] else None
            predicates = list(self._predicates)
        if self.latency:
            time.sleep(self.latency)
        if host in self._down or not self._running or (fault and fault[0] == "drop"):
            h.close_connection = True
            return
        resp = None
        if fault:
            resp = self._fault_response(host, fault[1], fault[2], fault[3])
        else:
            for predicate in predicates:
                try:
                    res = predicate(host, method, path, query)
                except Exception:
                    log.exception("fail_when predicate raised on %s %s", method, _redact(h.path))
                    res = (500, None, "<html><body><h1>sandbox: a fail_when predicate raised</h1></body></html>")
                if res is not None:
                    status, headers, fbody = (res, None, None) if isinstance(res, int) else tuple(res)
                    resp = self._fault_response(host, status, headers, fbody)
                    break
        if resp is None:
            try:
                resp = getattr(self, "_route_" + host)(method, path, raw_query, query, h.headers, body)
            except Exception:
                log.exception("sandbox error on %s %s", method, _redact(h.path))
                resp = _Response(500, "<html><body><h1>Internal Server Error</h1></body></html>")
        h.send_response(resp.status)
        h.send_header("Content-Type", resp.content_type)
        h.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers:
            h.send_header(name, value)
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(resp.body)

    def _fault_response(self, host, status, headers, body):
        if body is None:
            if status == 500 and host == "services":
                body, ctype = dumps(ERROR_500), JSON
            elif status == 500 and host == "ws2":
                body, ctype = WS2_TIMEOUT_PAGE, HTML
            elif status == 403:
                body, ctype = WAF_FORBIDDEN_PAGE, HTML
            elif status == 401 and host == "services":
                body, ctype = dumps(TOKEN_EXPIRED), JSON
            else:
                reason = {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable",
                          504: "Gateway Timeout"}.get(status, "Error")
                body, ctype = "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>" % (
                    status, reason, status, reason), HTML
        else:
            ctype = JSON if isinstance(body, (bytes, str)) and body[:1] in ("{", "[", b"{", b"[") else HTML
        headers = dict(headers or {})
        ctype = headers.pop("Content-Type", ctype)
        return _Response(status, body, ctype, headers.items())

    # ------------------------------------------------------------------ tokens and logins

    def _issue_token(self, kind):
        token = secrets.token_urlsafe(32)
        expires = self.clock() + self.token_lifetime_s
        with self._lock:
            self._tokens[token] = [kind, expires]
        return token

    def _check_bearer(self, headers, kinds):
        """None when the bearer token is valid and of one of ``kinds``, else the 401 answer."""
        auth = headers.get("Authorization") or ""
        challenge = [("WWW-Authenticate", 'Bearer realm="Service"')]
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return _Response(401, oauth_error(401, "Unauthorized request: no authentication given",
                                              "unauthorized_request"), JSON, challenge)
        with self._lock:
            entry = self._tokens.get(auth[7:].strip())
        if entry is None or entry[0] not in kinds:
            return _Response(401, oauth_error(401, "Invalid token: access token is invalid", "invalid_token"),
                             JSON, challenge)
        if self.clock() >= entry[1]:
            body = (self.fixtures and self.fixtures.read("android/error_401_token_expired.json")) or dumps(TOKEN_EXPIRED)
            return _Response(401, body, JSON, challenge)
        return None

    def _is_locked(self, now):
        if self._locked_until is not None:
            if now < self._locked_until:
                return True
            self._locked_until = None
            self._failure_times = []
        return False

    def _login_attempt(self, email, password):
        """"ok", "failed" or "locked"; counts the attempt and takes part in the lockout."""
        now = self.clock()
        with self._lock:
            self.login_attempts += 1
            if self._is_locked(now):
                return "locked"
            if email.strip().lower() == self.email.lower() and password == self.password:
                return "ok"
            self.failed_logins += 1
            self._failure_times = [t for t in self._failure_times if now - t < self.lockout_s] + [now]
            if len(self._failure_times) > self.max_failed_logins:
                self._locked_until = now + self.lockout_s
            return "failed"

    def _login_page(self, notice=None):
        viewstate = "/wEPDwUKLTk5OTk5OTk5OQ9kFgJmD2Q" + secrets.token_urlsafe(36)
        validation = "/wEdAAV" + secrets.token_urlsafe(30)
        with self._lock:
            self._viewstates[viewstate] = validation
            while len(self._viewstates) > 1000:
                self._viewstates.popitem(last=False)
        notice_html = '    <div class="notice_error">%s</div>\n' % notice if notice else ""
        return _Response(200, LOGIN_PAGE % {"viewstate": viewstate, "generator": VIEWSTATE_GENERATOR,
                                            "validation": validation, "notice": notice_html})

    def _route_web(self, method, path, raw_query, query, headers, body):
        lpath = path.lower()
        if lpath == "/login.aspx":
            if method == "GET":
                page = self.fixtures and self.fixtures.read("web/login_get.html")
                resp = _Response(200, page) if page else self._login_page()
                resp.headers.append(("Set-Cookie", "ASP.NET_SessionId=%s; path=/; secure; HttpOnly; SameSite=Lax"
                                     % secrets.token_hex(12)))
                return resp
            if method == "POST":
                return self._login_post(query, headers, body)
            return _Response(405, "<html><body><h1>405 Method Not Allowed</h1></body></html>")
        if lpath in ("/", "/default.aspx"):
            page = self.fixtures and self.fixtures.read("web/login_redirect_target.html")
            return _Response(200, page or HOME_PAGE)
        return _Response(404, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
                              "</body></html>")

    def _login_post(self, query, headers, body):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        with self._lock:
            issued = self._viewstates.get(form.get("__VIEWSTATE"))
        if (ctype != "application/x-www-form-urlencoded" or any(f not in form for f in LOGIN_FIELDS)
                or form["__EVENTTARGET"] != EVENT_TARGET or form["__VIEWSTATEGENERATOR"] != VIEWSTATE_GENERATOR
                or issued is None or issued != form["__EVENTVALIDATION"]):
            with self._lock:
                self.login_attempts += 1
            return self._login_page(BAD_FORM_MESSAGE)
        outcome = self._login_attempt(form[EMAIL_FIELD], form[PASSWORD_FIELD])
        if outcome == "locked":
            return self._login_page(LOCKOUT_MESSAGE)
        if outcome == "failed":
            page = self.fixtures and self.fixtures.read("web/login_post_failure.html")
            return _Response(200, page) if page else self._login_page(BAD_CREDENTIALS_MESSAGE)
        token = self._issue_token("web")
        with self._lock:
            expires = self._tokens[token][1]
        target = query.get("ReturnUrl") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        cookies = [
            "ASP.NET_SessionId=%s; path=/; secure; HttpOnly; SameSite=Lax" % secrets.token_hex(12),
            ".ASPXAUTH=%s; path=/; secure; HttpOnly" % secrets.token_hex(32).upper(),
            "UserGUID=%s; path=/; secure" % self.user_guid,
            "accessToken=%s; path=/; secure" % token,
            "accessTokenExpiresAt=%s; path=/; secure" % _iso_ms(expires),
        ]
        return _Response(302, OBJECT_MOVED % target, HTML,
                         [("Cache-Control", "private"), ("Location", target)] + [("Set-Cookie", c) for c in cookies])

    # ------------------------------------------------------------------ tdcservices

    def _route_services(self, method, path, raw_query, query, headers, body):
        m = re.fullmatch(r"/tconnect/controliq/api/(therapytimeline|summary|pumpfeatures)/users/([^/]+)/?",
                         path, re.I)
        if m:
            return self._controliq(method, m.group(1).lower(), m.group(2), raw_query, query, headers)
        m = re.fullmatch(r"/tconnect/therapyevents/api/therapyevents/([^/]+)/([^/]+)/(false|true)/?", path, re.I)
        if m:
            return self._therapy_events(method, m.group(1), m.group(2), query, headers)
        lpath = path.lower().rstrip("/")
        if lpath == "/cloud/oauth2/token":
            return self._oauth_token(method, headers, body)
        cloud = {"/cloud/upload/getlasteventuploaded": self._last_event_uploaded,
                 "/cloud/usersettings/api/userprofile": self._user_profile,
                 "/cloud/account/patient_info": self._patient_info,
                 "/cloud/usersettings/api/therapythresholds": self._therapy_thresholds}
        if lpath in cloud:
            if method != "GET":
                return _Response(405, oauth_error(405, "Method not allowed", "method_not_allowed"), JSON)
            denied = self._check_bearer(headers, ("android",))
            return denied or cloud[lpath](query)
        return _Response(404, problem(404, "Not Found"), PROBLEM)

    def _dates(self, start_s, end_s, names=("startDate", "endDate")):
        """((start, end), None) or (None, 400 answer)."""
        start, end = parse_mdy(start_s), parse_mdy(end_s)
        errors = {}
        if start is None:
            errors[names[0]] = ["The value '%s' is not valid." % (start_s or "")]
        if end is None:
            errors[names[1]] = ["The value '%s' is not valid." % (end_s or "")]
        if not errors and end < start:
            errors[names[1]] = ["endDate must not be before startDate."]
        if errors:
            return None, _Response(400, problem(400, "One or more validation errors occurred.", errors), PROBLEM)
        return (start, end), None

    def _not_found(self):
        body = self.fixtures and self.fixtures.read("controliq/error_404.json")
        return _Response(404, body or problem(404, "Not Found"), PROBLEM)

    def _controliq(self, method, endpoint, guid, raw_query, query, headers):
        # the Azure Application Gateway WAF sits in front of the application
        if "mozilla" not in (headers.get("User-Agent") or "").lower():
            return _Response(403, WAF_FORBIDDEN_PAGE)
        keys = [k for k, _ in parse_qsl(raw_query, keep_blank_values=True)]
        if "startDate" in keys and "endDate" in keys and keys.index("endDate") < keys.index("startDate"):
            return _Response(403, WAF_FORBIDDEN_PAGE)
        if method != "GET":
            return _Response(405, problem(400, "Method Not Allowed"), PROBLEM)
        denied = self._check_bearer(headers, ("web", "android"))
        if denied:
            return denied
        if endpoint == "pumpfeatures":
            if guid.lower() != self.user_guid:
                return self._not_found()
            fixture = self.fixtures and self.fixtures.read("controliq/pumpfeatures.json")
            if fixture:
                return _Response(200, fixture, JSON)
            return _Response(200, dumps([f for f in [pump_features(self.scenario)] if f]), JSON)
        window, bad = self._dates(query.get("startDate"), query.get("endDate"))
        if bad:
            return bad
        if guid.lower() != self.user_guid:
            return self._not_found()
        start, end = window
        if self.max_ciq_days is not None and (end - start).days + 1 > self.max_ciq_days:
            body = self.fixtures and self.fixtures.read("controliq/error_500.json")
            return _Response(500, body or dumps(ERROR_500), JSON)
        if self.fixtures is not None:
            known, data = self.fixtures.window_file(start, end, "controliq_%s.json" % endpoint)
            if known:
                return _Response(200, data, JSON) if data is not None else self._not_found()
        sc = self.scenario
        if sc is None or not sc.has_ciq_data(start, end):
            return self._not_found()
        w = sc.window(start, end)
        return _Response(200, render_timeline(sc, w) if endpoint == "therapytimeline" else render_summary(sc, w),
                         JSON)

    def _therapy_events(self, method, start_s, end_s, query, headers):
        if method != "GET":
            return _Response(405, problem(400, "Method Not Allowed"), PROBLEM)
        denied = self._check_bearer(headers, ("web", "android"))
        if denied:
            return denied
        window, bad = self._dates(start_s, end_s)
        if bad:
            return bad
        if (query.get("userId") or "").lower() != self.user_guid:
            return self._not_found()
        start, end = window
        if self.fixtures is not None:
            known, data = self.fixtures.window_file(start, end, "therapyevents.json")
            if known and data is not None:
                return _Response(200, data, JSON)
        if self.scenario is None:
            return _Response(200, dumps({"event": []}), JSON)
        return _Response(200, render_therapy_events(self.scenario, self.scenario.window(start, end)), JSON)

    def _oauth_token(self, method, headers, body):
        if method != "POST":
            return _Response(405, oauth_error(405, "Method not allowed", "method_not_allowed"), JSON)
        client_ok = False
        auth = headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
                client_ok = client_id == ANDROID_CLIENT_ID and client_secret == ANDROID_CLIENT_SECRET
            except (ValueError, UnicodeDecodeError):
                client_ok = False
        if not client_ok:
            return _Response(401, oauth_error(401, "Invalid client: client is invalid", "invalid_client"), JSON,
                             [("WWW-Authenticate", 'Basic realm="Service"')])
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return _Response(400, oauth_error(400, "Invalid request: content must be application/"
                                                   "x-www-form-urlencoded", "invalid_request"), JSON)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "password":
            return _Response(400, oauth_error(400, "Unsupported grant type: `grant_type` is invalid",
                                              "unsupported_grant_type"), JSON)
        for field in ("username", "password"):
            if not form.get(field):
                return _Response(400, oauth_error(400, "Missing parameter: `%s`" % field, "invalid_request"), JSON)
        outcome = self._login_attempt(form["username"], form["password"])
        if outcome == "locked":
            return _Response(401, oauth_error(401, LOCKOUT_MESSAGE, "invalid_grant"), JSON)
        if outcome == "failed":
            return _Response(401, oauth_error(401, "Invalid grant: user credentials are invalid", "invalid_grant"),
                             JSON)
        token = self._issue_token("android")
        now = self.clock()
        with self._lock:
            expires = self._tokens[token][1]
        return _Response(200, dumps({"accessToken": token, "accessTokenExpiresAt": _iso_ms(expires),
                                     "refreshToken": secrets.token_urlsafe(32),
                                     "refreshTokenExpiresAt": _iso_ms(now + 14 * 86400),
                                     "user": {"id": self.user_guid}}), JSON)

    def _last_event_uploaded(self, query):
        sn = query.get("sn") or ""
        if not sn.isdigit():
            return _Response(400, oauth_error(400, "Invalid request: `sn` must be a serial number",
                                              "invalid_request"), JSON)
        if int(sn) != int(self.serial):
            return _Response(404, oauth_error(404, "No uploads found for serial number %s" % sn, "not_found"), JSON)
        if self.scenario is None:
            with self._lock:
                n = self.fixture_upload_sequence[min(self._upload_polls, len(self.fixture_upload_sequence) - 1)]
                self._upload_polls += 1
            return _Response(200, self.fixtures.read("android/getlasteventuploaded_%d.json" % n), JSON)
        return _Response(200, dumps({"maxPumpEventIndex": self.scenario.max_event_index(), "processingStatus": 1}),
                         JSON)

    def _user_id_ok(self, query):
        return (query.get("userId") or "").lower() == self.user_guid

    def _static_android(self, name, generated):
        body = self.fixtures and self.fixtures.read("android/%s" % name)
        return _Response(200, body or dumps(generated), JSON)

    def _user_profile(self, query):
        if not self._user_id_ok(query):
            return _Response(404, oauth_error(404, "User not found", "not_found"), JSON)
        return self._static_android("user_profile.json", user_profile(self.user_guid))

    def _patient_info(self, query):
        return self._static_android("patient_info.json", PATIENT_INFO)

    def _therapy_thresholds(self, query):
        if not self._user_id_ok(query):
            return _Response(404, oauth_error(404, "User not found", "not_found"), JSON)
        return self._static_android("therapythresholds.json", THERAPY_THRESHOLDS)

    # ------------------------------------------------------------------ tconnectws2

    def _route_ws2(self, method, path, raw_query, query, headers, body):
        m = re.fullmatch(r"/(therapytimeline2csv|basalsuspension|basaliqtech)/([^/]+)/([^/]+)/([^/]+)"
                         r"(/filterbasal/1)?/?", path, re.I)
        if not m or (m.group(5) and m.group(1).lower() != "basalsuspension"):
            return _Response(404, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
                                  "</body></html>")
        if method != "GET":
            return _Response(405, "<html><body><h1>405 Method Not Allowed</h1></body></html>")
        endpoint, guid = m.group(1).lower(), m.group(2)
        start, end = parse_mdy(m.group(3)), parse_mdy(m.group(4))
        if start is None or end is None or end < start:
            return _Response(400, "Bad Request: dates must be MM-DD-YYYY, end not before start", TEXT)
        known_user = guid.lower() == self.user_guid
        sc = self.scenario if known_user else None
        if endpoint == "therapytimeline2csv":
            if query.get("format") != "csv":
                return _Response(400, "Bad Request: unsupported format (use format=csv)", TEXT)
            if self.max_ws2_days is not None and (end - start).days + 1 > self.max_ws2_days:
                return _Response(500, WS2_TIMEOUT_PAGE)
            if known_user and self.fixtures is not None:
                known, data = self.fixtures.window_file(start, end, "ws2_therapytimeline2csv.csv")
                if known and data is not None:
                    return _Response(200, data, TEXT)
            if sc is None:      # no data (or an unknown user): the report header alone
                now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
                generated = _format_report_time(now.astimezone(timeutil.get_zone("America/New_York")))
                name, dob = (scen.PATIENT_NAME, scen.PATIENT_DOB) if known_user else ("", None)
                return _Response(200, "\n".join(_csv_header(name, dob, generated)) + "\n", TEXT)
            return _Response(200, render_csv(sc, sc.window(start, end)), TEXT)
        callback = query.get("callback")
        if endpoint == "basaliqtech":
            fixture_name, payload = "ws2_basaliqtech.jsonp", {"BasalIQTech": []}
        else:
            filterbasal = bool(m.group(5))
            fixture_name = "ws2_basalsuspension_filterbasal.jsonp" if filterbasal else "ws2_basalsuspension.jsonp"
            payload = ({"BasalSuspension": []} if sc is None
                       else render_basalsuspension(sc, sc.window(start, end), filterbasal))
        if known_user and self.fixtures is not None:
            known, data = self.fixtures.window_file(start, end, fixture_name)
            if known and data is not None:
                if callback == "cb":
                    return _Response(200, data, JSONP)
                payload = json.loads(data.decode("utf-8").strip()[3:-1])
        text = dumps(payload)
        if callback:
            return _Response(200, "%s(%s)" % (callback, text), JSONP)
        return _Response(200, text, JSON)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tconnectsync.sandbox.tconnect_server",
                                 description="Run the simulated Tandem legacy cloud until Ctrl-C.")
    ap.add_argument("--days", type=int, default=3, help="days of history ending today (pump time)")
    ap.add_argument("--tz", default="America/New_York", help="pump time zone")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--email", default="demo@example.com")
    ap.add_argument("--password", default="demo-password")
    ap.add_argument("--fixtures", default=None, help="a fixtures folder to serve verbatim for its windows")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(timeutil.get_zone(args.tz)).date()
    sc = scen.make_scenario(today - dt.timedelta(days=max(1, args.days) - 1), today, tz_name=args.tz,
                            seed=args.seed, cutoff=now)
    sandbox = TandemLegacySandbox(scenario=sc, fixtures_dir=args.fixtures, email=args.email,
                                  password=args.password, latency=args.latency)
    with sandbox:
        print("web (tconnect.tandemdiabetes.com): %s" % sandbox.web_url)
        print("ws2 (tconnectws2):                 %s" % sandbox.ws2_url)
        print("services (tdcservices):            %s" % sandbox.services_url)
        print("login %s / %s, user GUID %s, pump serial %s, pump time zone %s"
              % (args.email, args.password, sandbox.user_guid, sc.serial, args.tz), flush=True)
        try:
            while True:           # the pump "uploads" every minute
                time.sleep(60)
                sc.set_cutoff(dt.datetime.now(dt.timezone.utc))
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
