"""A simulated Tandem legacy cloud: three local HTTP servers, one per Tandem host.

``web`` is tconnect.tandemdiabetes.com (website login), ``ws2`` is tconnectws2 and ``services``
is tdcservices (Control:IQ under ``tconnect/controliq/api/``, therapy events under
``tconnect/therapyevents/api/``, the Android/cloud API under ``cloud/``). Wire formats follow
``docs/tconnect.md`` and the fixtures byte for byte; data comes from a
``Scenario`` or, for the fixtures' own windows, from a fixtures folder served verbatim.

The servers validate requests the way Tandem does (auth, WAF rules, dates, window sizes) and
offer fault injection and request counts for reliability tests. Standard library only.
One module per host: ``web``, ``services``, ``ws2``; ``render`` turns the scenario into wire data.

    with TandemLegacySandbox(scenario=make_scenario(date(2021, 10, 1), date(2021, 10, 7))) as sb:
        sb.web_url, sb.ws2_url, sb.services_url
"""
import collections
import datetime as dt
import re
import secrets
import time

from .. import clock as pump_clock
from ..httpserver import HTML, MultiHostSandbox, Response
from ..scenario import make_scenario
from .render import FixtureStore
from .services import ServicesHost
from .web import WebHost
from .wire import (DEFAULT_USER_GUID, ERROR_500, HOSTS, JSON, TOKEN_EXPIRED, WAF_FORBIDDEN_PAGE, WS2_TIMEOUT_PAGE,
                   _redact, dumps, oauth_error)
from .ws2 import Ws2Host


class TandemLegacySandbox(WebHost, ServicesHost, Ws2Host, MultiHostSandbox):
    """The three Tandem hosts on 127.0.0.1 (random free ports). See the module doc."""

    HOSTS = HOSTS
    PREDICATE_ERROR = (500, None, "<html><body><h1>sandbox: a fail_when predicate raised</h1></body></html>")

    def __init__(self, scenario=None, fixtures_dir=None, email="demo@example.com", password="demo-password",
                 user_guid=DEFAULT_USER_GUID, latency=0.0, token_lifetime_s=8 * 3600, clock=time.time,
                 max_ws2_days=2, max_ciq_days=None):
        super().__init__(email, password, latency, token_lifetime_s, clock)
        self.fixtures = FixtureStore(fixtures_dir) if fixtures_dir else None
        if scenario is None and self.fixtures is None:
            today = pump_clock.today("America/New_York")
            scenario = make_scenario(today - dt.timedelta(days=6), today, cutoff=dt.datetime.now(dt.timezone.utc))
        self.scenario = scenario
        self.user_guid = user_guid
        self.max_ws2_days = max_ws2_days
        self.max_ciq_days = max_ciq_days
        self.fixture_upload_sequence = [1, 1, 2]    # getlasteventuploaded_N.json per poll (fixtures only)
        self._viewstates = collections.OrderedDict()
        self._upload_polls = 0
        if self.fixtures is not None:
            page = self.fixtures.read("web/login_get.html")
            m = page and re.search(rb'id="__VIEWSTATE" value="([^"]*)".*id="__EVENTVALIDATION" value="([^"]*)"',
                                   page, re.S)
            if m:
                self._viewstates[m.group(1).decode()] = m.group(2).decode()

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

    def issue_token(self, kind="web"):
        """A valid bearer token without a login ("web" or "android"), for tests."""
        return self._issue_token(kind)

    # ------------------------------------------------------------------ request flow hooks

    def _record(self, host, method, raw_path, headers, status):
        with self._lock:
            self._log.append((host, method, _redact(raw_path)))

    def _internal_error(self):
        return Response(500, "<html><body><h1>Internal Server Error</h1></body></html>")

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
        return Response(status, body, ctype, headers.items())

    # ------------------------------------------------------------------ tokens and logins

    def _issue_token(self, kind):
        token = secrets.token_urlsafe(32)
        expires = self.clock() + self.token_lifetime_s
        with self._lock:
            self._tokens[token] = [kind, expires]      # token -> [kind, expires_at]
        return token

    def _check_bearer(self, headers, kinds):
        """None when the bearer token is valid and of one of ``kinds``, else the 401 answer."""
        auth = headers.get("Authorization") or ""
        challenge = [("WWW-Authenticate", 'Bearer realm="Service"')]
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return Response(401, oauth_error(401, "Unauthorized request: no authentication given",
                                              "unauthorized_request"), JSON, challenge)
        with self._lock:
            entry = self._tokens.get(auth[7:].strip())
        if entry is None or entry[0] not in kinds:
            return Response(401, oauth_error(401, "Invalid token: access token is invalid", "invalid_token"),
                             JSON, challenge)
        if self.clock() >= entry[1]:
            body = (self.fixtures and self.fixtures.read("android/error_401_token_expired.json")) or dumps(TOKEN_EXPIRED)
            return Response(401, body, JSON, challenge)
        return None
