"""The legacy t:connect hosts' fixed wire facts: ids, form fields, pages, headers, error
bodies, and the small encoders every host uses (docs/tconnect.md)."""
import datetime as dt
import json
import re
import secrets
from urllib.parse import urlsplit

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
