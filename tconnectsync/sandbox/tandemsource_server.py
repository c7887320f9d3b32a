"""A simulated Tandem Source cloud: three local HTTP servers, one per Tandem host.

``sso`` is sso.tandemdiabetes.com (the landing page and the US login callback ``auth/callback``),
``services`` is tdcservices (``accounts/api/``: the credential login, OIDC authorize / token /
JWKS), ``source`` is the Source site (the data API under ``api/reports/bff/`` and the EU login
callback ``authorize/callback``). Region "US" or "EU" picks the OIDC client id, the redirect URI
and the id_token issuer; the issuer is Tandem's real one whatever port the sandbox listens on.

Data comes from one ``Scenario`` per pump (encoded by ``tandemsource_events``), several pumps
per account (e.g. a t:slim X2 and a Mobi), or from the fixtures folder served verbatim.

The servers check requests the way Tandem is described to (``docs/tandem-source.md``): the
login session cookie, PKCE, the registered redirect URI, Origin/Referer (403 "The request is
blocked" from the firewall), bearer tokens (401), the pump-logs query (400 for unknown keys such
as the retired ``eventIds``, for bad dates and for windows over 28 days). Fault injection and
request counts as in the legacy sandbox. Standard library plus ``cryptography``/PyJWT (the RSA
key that signs the id_tokens).

    with TandemSourceSandbox(scenario=make_scenario(date(2026, 8, 1), date(2026, 8, 7))) as sb:
        sb.sso_url, sb.services_url, sb.source_url
"""
import argparse
import base64
import collections
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from typing import Optional
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tconnectsync import timeutil
from tconnectsync.sandbox import scenario as scen
from tconnectsync.sandbox.tandemsource_events import CGM_HIGH, CGM_LOW, PumpEventLog
# the HTTP plumbing (threaded server per host, closable; handler calling ``sandbox._handle``)
from tconnectsync.sandbox.tconnect_server import _HostServer, _Response
from .faults import FaultsMixin

log = logging.getLogger(__name__)

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


@dataclasses.dataclass
class SandboxPump:
    """One pump on the simulated account: its history, model ("tslim" | "mobi") and CGM
    ("g7" | "g6" | "fsl2" | "fsl3")."""
    scenario: scen.Scenario
    model: str = "tslim"
    cgm: str = "g7"
    assignment_id: Optional[str] = None

    def __post_init__(self):
        if self.assignment_id is None:
            digits = re.sub(r"\D", "", self.scenario.serial) or "0"
            self.assignment_id = "f1c7e5d0-0000-4000-8000-%012d" % (int(digits) % 10 ** 12)
        self.log = PumpEventLog(self.scenario, self.assignment_id, self.model, self.cgm)

    @property
    def serial(self):
        return self.scenario.serial


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


class TandemSourceSandbox(FaultsMixin):
    """The three Tandem Source hosts on 127.0.0.1 (random free ports). See the module doc."""

    HOSTS = HOSTS

    def __init__(self, scenario=None, fixtures_dir=None, region="US", email="demo@example.com",
                 password="demo-password", pumps=None, pumper_id=DEFAULT_PUMPER_ID, account_id=DEFAULT_ACCOUNT_ID,
                 latency=0.0, token_lifetime_s=8 * 3600, clock=time.time, max_window_days=MAX_WINDOW_DAYS,
                 window_overlap_s=0):
        if region not in ISSUERS:
            raise ValueError("region must be US or EU, not %r" % (region,))
        if fixtures_dir and (scenario is not None or pumps):
            raise ValueError("fixtures_dir serves the fixtures' own pump; give no scenario or pumps with it")
        self.region = region
        self.fixtures_dir = fixtures_dir
        self.claims_template = {}
        if fixtures_dir:
            with open(os.path.join(fixtures_dir, "id-token-claims.json"), encoding="utf-8") as f:
                self.claims_template = json.load(f)
            pumper_id = self.claims_template["pumperId"]
            account_id = self.claims_template["accountId"]
            if email == "demo@example.com":
                email = self.claims_template["email"]
            self.pumps = []
        else:
            if pumps is None:
                if scenario is None:
                    today = dt.datetime.now(dt.timezone.utc).astimezone(timeutil.get_zone("America/New_York")).date()
                    scenario = scen.make_scenario(today - dt.timedelta(days=6), today,
                                                  cutoff=dt.datetime.now(dt.timezone.utc))
                pumps = [SandboxPump(scenario)]
            self.pumps = [p if isinstance(p, SandboxPump) else SandboxPump(p) for p in pumps]
        self.email = email
        self.password = password
        self.pumper_id = pumper_id
        self.account_id = account_id
        self.latency = latency
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock
        self.max_window_days = max_window_days
        self.window_overlap_s = window_overlap_s    # >0: answer that much beyond each bound (Z read in another zone)
        self.max_failed_logins = 5
        self.lockout_s = 3600
        self.login_attempts = 0
        self.failed_logins = 0
        self.logins = 0                             # successful credential logins
        self._failure_times = []
        self._locked_until = None
        self._lock = threading.RLock()
        self._counts = {h: 0 for h in HOSTS}
        self._log = []
        self._faults = {h: collections.deque() for h in HOSTS}
        self._predicates = []
        self._sessions = {}             # session cookie -> email
        self._codes = {}                # authorization code -> dict
        self._tokens = {}               # access token -> [pumper id, expires at]
        self._forge = {"wrong_key": False, "claims": {}}
        self._down = set()
        self._running = False
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._rogue_key = None
        self.kid = secrets.token_hex(16).upper()
        self._servers = {h: _HostServer(self, h) for h in HOSTS}

    # ------------------------------------------------------------------ lifecycle and addresses

    def start(self):
        self._running = True
        for host in HOSTS:
            if host not in self._down:
                self._servers[host].start()
        return self

    def stop(self):
        self._running = False
        stoppers = [threading.Thread(target=server.stop) for server in self._servers.values()]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def sso_url(self):
        return self._servers["sso"].url

    @property
    def services_url(self):
        return self._servers["services"].url

    @property
    def source_url(self):
        return self._servers["source"].url

    @property
    def source_origin(self):
        return _origin(self.source_url)

    @property
    def issuer(self):
        return ISSUERS[self.region]

    @property
    def client_id(self):
        return CLIENT_IDS[self.region]

    @property
    def redirect_uri(self):
        """The registered redirect URI of the region's client, on this sandbox's hosts."""
        if self.region == "US":
            return self.sso_url + "auth/callback"
        return self.source_url + "authorize/callback"

    def pump(self, serial):
        return next(p for p in self.pumps if p.serial == serial)

    # ------------------------------------------------------------------ observability and faults

    def issue_token(self):
        """A valid bearer token without a login, for tests."""
        return self._issue_token()

    def forge_id_tokens(self, wrong_key=False, **claims):
        """From now on sign id_tokens with another key (same kid) and/or override claims; no
        arguments: honest tokens again."""
        with self._lock:
            self._forge = {"wrong_key": wrong_key, "claims": dict(claims)}

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
            fault = self._faults[host].popleft() if self._faults[host] else None
            predicates = list(self._predicates)
        if self.latency:
            time.sleep(self.latency)
        if host in self._down or not self._running or (fault and fault[0] == "drop"):
            self._record(host, method, path, raw_query, h.headers, None)
            h.close_connection = True
            return
        resp = None
        if fault:
            resp = self._fault_response(fault[1], fault[2], fault[3])
        else:
            for predicate in predicates:
                try:
                    res = predicate(host, method, path, query)
                except Exception:
                    log.exception("fail_when predicate raised on %s %s", method, path)
                    res = 500
                if res is not None:
                    status, headers, fbody = (res, None, None) if isinstance(res, int) else tuple(res)
                    resp = self._fault_response(status, headers, fbody)
                    break
        if resp is None:
            try:
                resp = getattr(self, "_route_" + host)(method, path, raw_query, query, h.headers, body)
            except Exception:
                log.exception("sandbox error on %s %s", method, path)
                resp = _Response(500, dumps({"statusCode": 500, "message": "Internal server error"}), JSON)
        self._record(host, method, path, raw_query, h.headers, resp.status)
        h.send_response(resp.status)
        h.send_header("Content-Type", resp.content_type)
        h.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers:
            h.send_header(name, value)
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(resp.body)

    def _record(self, host, method, path, raw_query, headers, status):
        kept = {k: headers.get(k) for k in ("Origin", "Referer", "Content-Type") if headers.get(k) is not None}
        if headers.get("Authorization"):
            kept["Authorization"] = headers.get("Authorization").split(" ")[0] + " ***"
        query = _redact_query(raw_query)
        pairs = [p.partition("=") for p in raw_query.split("&")] if raw_query else []
        shown = path + ("?" + "&".join(k + "=***" if unquote_plus(k) in SECRET_KEYS else k + s + v
                                       for k, s, v in pairs) if pairs else "")
        with self._lock:
            self._log.append(LoggedRequest(host, method, shown, query, kept, status))

    def _fault_response(self, status, headers, body):
        if body is None:
            if status == 403:
                body, ctype = WAF_BLOCKED % secrets.token_hex(10), HTML
            elif status == 401:
                body, ctype = dumps(UNAUTHORIZED), JSON
            else:
                reasons = {429: "Too Many Requests", 500: "Internal server error", 502: "Bad Gateway",
                           503: "Service Unavailable", 504: "Gateway Timeout"}
                body, ctype = dumps({"statusCode": status, "message": reasons.get(status, "Error")}), JSON
        else:
            ctype = JSON if isinstance(body, (bytes, str)) and body[:1] in ("{", "[", b"{", b"[") else HTML
        headers = dict(headers or {})
        ctype = headers.pop("Content-Type", ctype)
        return _Response(status, body, ctype, headers.items())

    # ------------------------------------------------------------------ logins and tokens

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
            if isinstance(email, str) and email.strip().lower() == self.email.lower() and password == self.password:
                self.logins += 1
                return "ok"
            self.failed_logins += 1
            self._failure_times = [t for t in self._failure_times if now - t < self.lockout_s] + [now]
            if len(self._failure_times) > self.max_failed_logins:
                self._locked_until = now + self.lockout_s
            return "failed"

    def _issue_token(self):
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = [self.pumper_id, self.clock() + self.token_lifetime_s]
        return token

    def _bearer(self, headers):
        """(pumper id, None) for a valid bearer token, else (None, the 401 answer)."""
        auth = headers.get("Authorization") or ""
        denied = _Response(401, dumps(UNAUTHORIZED), JSON, [("WWW-Authenticate", "Bearer")])
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return None, denied
        with self._lock:
            entry = self._tokens.get(auth[7:].strip())
        if entry is None or self.clock() >= entry[1]:
            return None, _Response(401, dumps(UNAUTHORIZED), JSON,
                                   [("WWW-Authenticate", 'Bearer error="invalid_token"')])
        return entry[0], None

    def jwks(self):
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def _id_token(self, access_token, sid):
        now = int(self.clock())
        claims = dict(self.claims_template) if self.claims_template else {
            "sub": self.account_id, "amr": ["pwd"], "idp": "local", "email": self.email, "email_verified": True,
            "name": scen.PATIENT_NAME, "given_name": scen.PATIENT_NAME.split()[0],
            "family_name": scen.PATIENT_NAME.split()[-1], "preferred_username": self.email,
            "accountId": self.account_id, "pumperId": self.pumper_id,
            "countrySubdivision": "US-NY" if self.region == "US" else "DE-BE",
            "preferredLanguage": "en-US" if self.region == "US" else "de-DE", "roles": [], "tandem_roles": []}
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims.update({"iss": self.issuer, "aud": self.client_id, "iat": now, "nbf": now, "auth_time": now,
                       "exp": now + int(self.token_lifetime_s), "sid": sid, "at_hash": b64url(digest[:16])})
        with self._lock:
            forge = dict(self._forge)
        claims.update(forge["claims"])
        key = self._key
        if forge["wrong_key"]:
            if self._rogue_key is None:
                self._rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key = self._rogue_key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    # ------------------------------------------------------------------ sso host

    def _route_sso(self, method, path, raw_query, query, headers, body):
        if method not in ("GET", "HEAD"):
            return _Response(405, "<html><body><h1>405 Method Not Allowed</h1></body></html>", HTML)
        if path in ("/", "/login"):
            return _Response(200, SSO_PAGE, HTML)
        if path == "/auth/callback":
            return _Response(200, CALLBACK_PAGE, HTML)
        return _Response(404, "<html><body><h1>404 Not Found</h1></body></html>", HTML)

    # ------------------------------------------------------------------ tdcservices (accounts/api)

    def _route_services(self, method, path, raw_query, query, headers, body):
        routes = {
            "/accounts/api/login": ("POST", self._login),
            "/accounts/api/connect/authorize": ("GET", self._authorize),
            "/accounts/api/connect/token": ("POST", self._token),
            "/accounts/api/.well-known/openid-configuration": ("GET", self._discovery),
            "/accounts/api/.well-known/openid-configuration/jwks": ("GET", self._jwks),
        }
        route = routes.get(path.rstrip("/") or "/")
        if route is None:
            return _Response(404, dumps(NOT_FOUND), JSON)
        if method != route[0]:
            return _Response(405, dumps({"statusCode": 405, "message": "Method Not Allowed"}), JSON)
        return route[1](query, headers, body)

    def _login(self, query, headers, body):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _Response(415, dumps({"status": "FAILED", "message": "Unsupported Media Type"}), JSON)
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or not data.get("username") or not data.get("password"):
            with self._lock:
                self.login_attempts += 1
            return _Response(400, dumps({"status": "FAILED", "message": "Username and password are required."}),
                             JSON)
        outcome = self._login_attempt(data["username"], data["password"])
        if outcome == "locked":
            return _Response(401, dumps(LOGIN_LOCKED), JSON)
        if outcome == "failed":
            return _Response(401, dumps(LOGIN_FAILED), JSON)
        sid = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions[sid] = data["username"]
        cookie = "%s=%s; path=/; samesite=none; httponly" % (SESSION_COOKIE, sid)
        return _Response(200, dumps({"redirectUrl": "/", "status": "SUCCESS"}), JSON, [("Set-Cookie", cookie)])

    def _session(self, headers):
        cookies = {}
        for part in (headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            cookies[name] = value
        sid = cookies.get(SESSION_COOKIE)
        with self._lock:
            return sid if sid in self._sessions else None

    def _authorize(self, query, headers, body):
        def error(name, description):
            return _Response(400, dumps({"error": name, "error_description": description}), JSON)
        if query.get("client_id") != self.client_id:
            return error("invalid_client", "Unknown client or client not enabled")
        if query.get("redirect_uri") != self.redirect_uri:
            return error("invalid_request", "Invalid redirect_uri")
        if query.get("response_type") != "code":
            return error("unsupported_response_type", "Response type not supported")
        if "openid" not in (query.get("scope") or "").split():
            return error("invalid_scope", "Missing openid scope")
        challenge = query.get("code_challenge") or ""
        if query.get("code_challenge_method") != "S256" or not re.fullmatch(r"[A-Za-z0-9_-]{43,128}", challenge):
            return error("invalid_request", "code challenge required (S256)")
        sid = self._session(headers)
        if sid is None:             # no login session: the identity provider sends the browser to sign in
            return _Response(302, "", HTML, [("Location", self.sso_url + "?ReturnUrl=" + quote(
                "/accounts/api/connect/authorize?" + urlencode(query), safe=""))])
        code = secrets.token_hex(32).upper()
        with self._lock:
            self._codes[code] = {"client_id": query["client_id"], "redirect_uri": query["redirect_uri"],
                                 "challenge": challenge, "sid": sid, "expires": self.clock() + CODE_LIFETIME_S}
        target = "%s?code=%s&scope=%s&session_state=%s" % (self.redirect_uri, code, quote(query["scope"]),
                                                           secrets.token_urlsafe(24))
        return _Response(302, "", HTML, [("Location", target)])

    def _token(self, query, headers, body):
        def error(name, status=400):
            return _Response(status, dumps({"error": name}), JSON)
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return error("invalid_request")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "authorization_code":
            return error("unsupported_grant_type")
        if form.get("client_id") != self.client_id:
            return error("invalid_client", 401)
        with self._lock:
            grant = self._codes.pop(form.get("code") or "", None)       # single use
        verifier = form.get("code_verifier") or ""
        if (grant is None or self.clock() >= grant["expires"] or grant["client_id"] != form["client_id"]
                or grant["redirect_uri"] != form.get("redirect_uri")
                or not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier) or s256(verifier) != grant["challenge"]):
            return error("invalid_grant")
        access = self._issue_token()
        return _Response(200, dumps({"id_token": self._id_token(access, grant["sid"]), "access_token": access,
                                     "expires_in": int(self.token_lifetime_s), "token_type": "Bearer",
                                     "scope": "openid profile email"}), JSON,
                         [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _discovery(self, query, headers, body):
        base = self.services_url + "accounts/api/"
        return _Response(200, dumps({
            "issuer": self.issuer, "jwks_uri": base + ".well-known/openid-configuration/jwks",
            "authorization_endpoint": base + "connect/authorize", "token_endpoint": base + "connect/token",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["plain", "S256"],
            "id_token_signing_alg_values_supported": ["RS256"]}), JSON)

    def _jwks(self, query, headers, body):
        return _Response(200, dumps(self.jwks()), JSON)

    # ------------------------------------------------------------------ source host

    def _route_source(self, method, path, raw_query, query, headers, body):
        if path == "/authorize/callback" and method == "GET":
            return _Response(200, CALLBACK_PAGE, HTML)
        if not path.startswith("/api/"):
            if method == "GET" and path == "/":
                return _Response(200, SOURCE_PAGE, HTML)
            return _Response(404, "<html><body><h1>404 Not Found</h1></body></html>", HTML)
        # the firewall in front of the API: Origin and Referer must be the Source site
        referer = headers.get("Referer") or ""
        if headers.get("Origin") != self.source_origin or not referer.startswith(self.source_url):
            return _Response(403, WAF_BLOCKED % secrets.token_hex(10), HTML)
        pumper, denied = self._bearer(headers)
        if denied:
            return denied
        if method != "GET":
            return _Response(405, dumps({"statusCode": 405, "message": "Method Not Allowed"}), JSON)
        m = re.fullmatch(r"/api/reports/bff/pumper/([^/]+)/?", path)
        if m:
            if m.group(1) != pumper:
                return _Response(404, dumps(NOT_FOUND), JSON)
            return self._pumper()
        m = re.fullmatch(r"/api/reports/bff/pump-logs/([^/]+)/?", path)
        if m:
            return self._pump_logs(m.group(1), pumper, raw_query)
        return _Response(404, dumps(NOT_FOUND), JSON)      # includes the retired reportsfacade endpoints

    def _pumper(self):
        if self.fixtures_dir:
            with open(os.path.join(self.fixtures_dir, "bff-pumper-response.json"), "rb") as f:
                return _Response(200, f.read(), JSON)
        first, _, last = scen.PATIENT_NAME.partition(" ")
        return _Response(200, dumps({
            "firstName": first, "lastName": last, "name": scen.PATIENT_NAME,
            "dateOfBirth": scen.PATIENT_DOB.isoformat(), "lowGlucoseThreshold": 70, "highGlucoseThreshold": 180,
            "country": "US" if self.region == "US" else "DE",
            "pumps": [pumper_entry(p) for p in self.pumps]}), JSON)

    def _pump_logs(self, assignment_id, pumper, raw_query):
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        unknown = sorted({k for k, _ in pairs if k not in PUMP_LOGS_KEYS})
        if unknown:
            return _Response(400, zod_error({"code": "unrecognized_keys", "keys": unknown, "path": [],
                                             "message": "Unrecognized key(s) in object: %s"
                                             % ", ".join("'%s'" % k for k in unknown)}), JSON)
        query = dict(pairs)
        issues = []
        for key in ("pumperId", "startDate", "endDate"):
            if key not in query:
                issues.append({"code": "invalid_type", "expected": "string", "received": "undefined",
                               "path": [key], "message": "Required"})
        start, end = _parse_bound(query.get("startDate")), _parse_bound(query.get("endDate"))
        for key, value in (("startDate", start), ("endDate", end)):
            if key in query and value is None:
                issues.append({"code": "invalid_string", "validation": "datetime", "path": [key],
                               "message": "Invalid datetime"})
        codes = None
        if query.get("eventCodes"):
            try:
                codes = {int(c) for c in query["eventCodes"].split(",")}
            except ValueError:
                issues.append({"code": "invalid_string", "validation": "regex", "path": ["eventCodes"],
                               "message": "Invalid"})
        if not issues and end < start:
            issues.append({"code": "custom", "path": ["endDate"], "message": "endDate must not be before startDate"})
        if not issues and (end.date() - start.date()).days + 1 > self.max_window_days:
            issues.append({"code": "custom", "path": ["endDate"],
                           "message": "Date range must not exceed %d days" % self.max_window_days})
        if issues:
            return _Response(400, zod_error(*issues), JSON)
        if query["pumperId"] != pumper:
            return _Response(404, dumps(NOT_FOUND), JSON)
        if self.fixtures_dir:
            return self._fixture_logs(assignment_id, start, end)
        pump = next((p for p in self.pumps if p.assignment_id == assignment_id), None)
        if pump is None:
            return _Response(404, dumps(NOT_FOUND), JSON)
        slop = dt.timedelta(seconds=self.window_overlap_s)
        events = pump.log.events(start - slop, end + slop, codes)
        return _Response(200, dumps({"events": events, "clockChanges": pump.log.clock_changes()}), JSON)

    def _fixture_logs(self, assignment_id, start, end):
        with open(os.path.join(self.fixtures_dir, "bff-pump-logs-response.json"), "rb") as f:
            raw = f.read()
        data = json.loads(raw.decode("utf-8"))
        known = {e["deviceAssignmentId"] for e in data["events"]}
        if assignment_id not in known:
            return _Response(404, dumps(NOT_FOUND), JSON)
        day_start = dt.datetime.combine(FIXTURE_DAY, dt.time())
        if start <= day_start and end >= day_start + dt.timedelta(seconds=86399):
            return _Response(200, raw, JSON)             # the whole day: the file verbatim
        lo, hi = start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")
        events = [e for e in data["events"] if lo <= e["pumpDateTime"] <= hi]
        return _Response(200, dumps({"events": events, "clockChanges": data["clockChanges"]}), JSON)


def pumper_entry(pump):
    """One ``pumps[]`` entry of the pumper answer (docs/tandem-source.md §5.1) for a sandbox pump."""
    sc, model = pump.scenario, pump.log.model
    newest, oldest = pump.log.newest_event(), pump.log.oldest_event()
    last = newest["pumpDateTime"] if newest else None
    segments = []
    for sod, rate in sc.profile:
        segments.append({"startTime": sod // 60, "basalRate": int(round(rate * 1000)), "isf": scen.CF,
                         "carbRatio": scen.CR * 1000, "targetBg": scen.TARGET})
    details = {"profiles": {"activeIdp": 1, "profile": [
        {"name": "Default", "idp": 1, "timeDependentSegments": segments, "insulinDuration": 300,
         "carbEntry": "UnitsAsCarbs", "maxBolus": 25000}]},
        "cgmSettings": {"highGlucoseAlertMgPerDl": CGM_HIGH, "lowGlucoseAlertMgPerDl": CGM_LOW}}
    tail = pump.assignment_id[-12:]
    settings = None if last is None else {
        "id": "5e771125-0000-4000-8000-%s" % tail, "deviceAssignmentId": pump.assignment_id,
        "uploadedTimeStamp": last, "settingsHash": hashlib.sha256(dumps(details).encode()).hexdigest(),
        "uploadId": "0ad10ad1-0000-4000-8000-%s" % tail, "details": details}
    return {
        "assignmentId": pump.assignment_id, "serialNumber": pump.serial, "modelNumber": model.model_number,
        "modelName": model.model_name, "softwareVersion": model.software_version, "partNumber": model.part_number,
        "availableDataRange": {"start": oldest["pumpDateTime"] if oldest and last else None, "end": last},
        "glucoseUnit": "mg/dL", "lastUploadDate": last, "maxDateOfEvents": last,
        "lastUploadClientType": ("Mobile" if model.phone_boluses else "Desktop") if last else None,
        "settings": settings,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tconnectsync.sandbox.tandemsource_server",
                                 description="Run the simulated Tandem Source cloud until Ctrl-C.")
    ap.add_argument("--days", type=int, default=3, help="days of history ending today (pump time)")
    ap.add_argument("--tz", default="America/New_York", help="pump time zone")
    ap.add_argument("--region", default="US", choices=("US", "EU"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--email", default="demo@example.com")
    ap.add_argument("--password", default="demo-password")
    ap.add_argument("--mobi", action="store_true", help="add a Tandem Mobi (last seen 3 days ago)")
    ap.add_argument("--fixtures", default=None, help="serve this fixtures folder instead of a scenario")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.timezone.utc)
    pumps = None
    if not args.fixtures:
        today = now.astimezone(timeutil.get_zone(args.tz)).date()
        start = today - dt.timedelta(days=max(1, args.days) - 1)
        sc = scen.make_scenario(start, today, tz_name=args.tz, seed=args.seed, cutoff=now)
        pumps = [SandboxPump(sc)]
        if args.mobi:
            pumps.append(SandboxPump(scen.make_scenario(start - dt.timedelta(days=7), today, tz_name=args.tz,
                                                        seed=args.seed + 1, serial="22222222",
                                                        cutoff=now - dt.timedelta(days=3)), model="mobi"))
    sandbox = TandemSourceSandbox(pumps=pumps, fixtures_dir=args.fixtures, region=args.region, email=args.email,
                                  password=args.password, latency=args.latency)
    with sandbox:
        print("SSO page (TANDEM_SSO_URL):           %s" % sandbox.sso_url)
        print("tdcservices (TCONNECT_SERVICES_URL): %s" % sandbox.services_url)
        print("Source (TANDEM_SOURCE_URL):          %s" % sandbox.source_url)
        print("region %s, login %s / %s, pumps %s" % (args.region, sandbox.email, args.password,
                                                      ", ".join(p.serial for p in sandbox.pumps) or "fixtures"),
              flush=True)
        try:
            while True:           # the pumps "upload" every minute
                time.sleep(60)
                if sandbox.pumps:           # the first pump; a Mobi stays three days behind
                    sandbox.pumps[0].scenario.set_cutoff(dt.datetime.now(dt.timezone.utc))
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
