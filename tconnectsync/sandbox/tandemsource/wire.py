"""Tandem Source's fixed wire facts: hosts, OIDC clients and issuers per region, pages, error
bodies, and the small encoders the hosts share (docs/tandem-source.md)."""
import base64
import collections
import datetime as dt
import hashlib
import json
import re
from urllib.parse import parse_qsl, urlsplit

HOSTS = ("sso", "services", "source")
ISSUERS = {"US": "https://tdcservices.tandemdiabetes.com/accounts/api",
           "EU": "https://tdcservices.eu.tandemdiabetes.com/accounts/api"}
CLIENT_IDS = {"US": "0oa4wnbvtladeyVZX4h7", "EU": "1519e414-eeec-492e-8c5e-97bea4815a10"}
DEFAULT_PUMPER_ID = "11111111-2222-4333-8444-555555555555"
DEFAULT_ACCOUNT_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
FIXTURE_DAY = dt.date(2026, 8, 12)
MAX_WINDOW_DAYS = 28
PUMP_LOGS_KEYS = ("pumperId", "startDate", "endDate", "eventCodes")
SESSION_COOKIE = "idsrv.session"
CODE_LIFETIME_S = 300

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
SSO_PAGE = ("<!DOCTYPE html><html><head><title>Tandem Diabetes Care - Sign In</title></head>"
            "<body><div id=\"root\"></div><script src=\"/static/js/main.js\"></script></body></html>")
CALLBACK_PAGE = ("<!DOCTYPE html><html><head><title>Signing in</title></head>"
                 "<body><div id=\"root\">Signing you in&hellip;</div></body></html>")
SOURCE_PAGE = ("<!DOCTYPE html><html><head><title>Tandem Source</title></head>"
               "<body><div id=\"root\"></div><script src=\"/static/js/main.js\"></script></body></html>")
WAF_BLOCKED = ("<!DOCTYPE html><html><head><title>Request Blocked</title></head><body>"
               "<h2>The request is blocked.</h2><p>Reference: %s</p></body></html>")
NOT_FOUND = {"statusCode": 404, "message": "Not Found"}
UNAUTHORIZED = {"statusCode": 401, "message": "Unauthorized"}
LOGIN_FAILED = {"status": "FAILED", "message": "The email address or password is incorrect."}
LOGIN_LOCKED = {"status": "LOCKED", "message": "Your account has been locked after too many failed sign-in "
                                               "attempts. Please try again later or reset your password."}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier):
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def zod_error(*issues):
    return dumps({"success": False, "error": {"issues": list(issues), "name": "ZodError"}})


def _origin(url):
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


SECRET_KEYS = frozenset({"code", "code_verifier", "password", "access_token", "id_token"})


def _redact_query(raw_query):
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    return {k: ("***" if k in SECRET_KEYS else v) for k, v in pairs}


LoggedRequest = collections.namedtuple("LoggedRequest", "host method path query headers status")


def _parse_bound(value):
    """``YYYY-MM-DDTHH:MM:SS(.sss)Z`` -> naive datetime (the Z is read as pump-local), else None."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,3})?Z", value)
    if not m:
        return None
    try:
        return dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
