"""A simulated Tandem Source cloud: three local HTTP servers, one per Tandem host.

``sso`` is sso.tandemdiabetes.com (the landing page and the US login callback ``auth/callback``),
``services`` is tdcservices (``accounts/api/``: the credential login, OIDC authorize / token /
JWKS), ``source`` is the Source site (the data API under ``api/reports/bff/`` and the EU login
callback ``authorize/callback``). Region "US" or "EU" picks the OIDC client id, the redirect URI
and the id_token issuer; the issuer is Tandem's real one whatever port the sandbox listens on.

Data comes from one ``Scenario`` per pump (encoded by ``events``), several pumps
per account (e.g. a t:slim X2 and a Mobi), or from the fixtures folder served verbatim. Like the
real service's, the answers hold events the sync does not read (``extras``: codes without a public
definition, codes outside the filter); ``extra_events=False`` leaves them out.

The servers check requests the way Tandem is described to (``docs/tandem-source.md``): the
login session cookie, PKCE, the registered redirect URI, Origin/Referer (403 "The request is
blocked" from the firewall), bearer tokens (401), the pump-logs query (400 for unknown keys such
as the retired ``eventIds``, for bad dates and for windows over 28 days). Fault injection and
request counts as in the legacy sandbox. Standard library plus ``cryptography``/PyJWT (the RSA
key that signs the id_tokens). One module per host group: ``accounts`` (sso and services),
``source``; ``events`` encodes the scenario as pump-log events.

    with TandemSourceSandbox(scenario=make_scenario(date(2026, 8, 1), date(2026, 8, 7))) as sb:
        sb.sso_url, sb.services_url, sb.source_url
"""
import dataclasses
import hashlib
import datetime as dt
import json
import os
import re
import secrets
import time
from typing import Optional
from urllib.parse import unquote_plus

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .. import clock as pump_clock
from ..httpserver import HTML, MultiHostSandbox, Response
from ..scenario import Scenario, make_scenario, therapy
from .accounts import AccountsHost
from .events import PumpEventLog
from .source import SourceHost
from .wire import (CLIENT_IDS, DEFAULT_ACCOUNT_ID, DEFAULT_PUMPER_ID, HOSTS, ISSUERS, JSON, MAX_WINDOW_DAYS,
                   SECRET_KEYS, UNAUTHORIZED, WAF_BLOCKED, LoggedRequest, _origin, _redact_query, b64url, dumps)


@dataclasses.dataclass
class SandboxPump:
    """One pump on the simulated account: its history, model ("tslim" | "mobi") and CGM
    ("g7" | "g6" | "fsl2" | "fsl3"); ``extras``: its answers hold the events the sync does not
    read, as the real service's do (``extras`` module)."""
    scenario: Scenario
    model: str = "tslim"
    cgm: str = "g7"
    assignment_id: Optional[str] = None
    extras: bool = True

    def __post_init__(self):
        if self.assignment_id is None:
            digits = re.sub(r"\D", "", self.scenario.serial) or "0"
            self.assignment_id = "f1c7e5d0-0000-4000-8000-%012d" % (int(digits) % 10 ** 12)
        self.log = PumpEventLog(self.scenario, self.assignment_id, self.model, self.cgm, self.extras)

    @property
    def serial(self):
        return self.scenario.serial


class TandemSourceSandbox(AccountsHost, SourceHost, MultiHostSandbox):
    """The three Tandem Source hosts on 127.0.0.1 (random free ports). See the module doc."""

    HOSTS = HOSTS

    def __init__(self, scenario=None, fixtures_dir=None, region="US", email="demo@example.com",
                 password="demo-password", pumps=None, pumper_id=DEFAULT_PUMPER_ID, account_id=DEFAULT_ACCOUNT_ID,
                 latency=0.0, token_lifetime_s=8 * 3600, clock=time.time, max_window_days=MAX_WINDOW_DAYS,
                 window_overlap_s=0, extra_events=None):
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
                    today = pump_clock.today("America/New_York")
                    scenario = make_scenario(today - dt.timedelta(days=6), today,
                                             cutoff=dt.datetime.now(dt.timezone.utc))
                pumps = [SandboxPump(scenario)]
            self.pumps = [p if isinstance(p, SandboxPump) else SandboxPump(p) for p in pumps]
            if extra_events is not None:        # True/False for every pump; None: as each pump says
                for p in self.pumps:
                    p.log.extras = p.extras = bool(extra_events)
        super().__init__(email, password, latency, token_lifetime_s, clock)
        self.pumper_id = pumper_id
        self.account_id = account_id
        self.max_window_days = max_window_days
        self.window_overlap_s = window_overlap_s    # >0: answer that much beyond each bound (Z read in another zone)
        self._sessions = {}             # session cookie -> email
        self._codes = {}                # authorization code -> dict
        self._tokens = {}               # access token -> [pumper id, expires at]
        self._forge = {"wrong_key": False, "claims": {}}
        self._damaged = {}              # sequence number -> eventProperties served instead (damage_event)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._rogue_key = None
        self.kid = secrets.token_hex(16).upper()

    # ------------------------------------------------------------------ lifecycle and addresses

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
        """From now on sign id_tokens with another key (same kid) and/or override claims, e.g.
        ``aud="0oaNEW"`` (another audience), ``iss=...`` (another issuer), ``exp=<past>`` (expired);
        no arguments: honest tokens again."""
        with self._lock:
            self._forge = {"wrong_key": wrong_key, "claims": dict(claims)}

    def damage_event(self, seq, **props):
        """Serve pump-logs event ``seq`` with ``props`` over its eventProperties (a corrupt event)."""
        with self._lock:
            self._damaged[seq] = props

    # ------------------------------------------------------------------ request flow hooks

    def _record(self, host, method, raw_path, headers, status):
        path, _, raw_query = raw_path.partition("?")
        kept = {k: headers.get(k) for k in ("Origin", "Referer", "Content-Type") if headers.get(k) is not None}
        if headers.get("Authorization"):
            kept["Authorization"] = headers.get("Authorization").split(" ")[0] + " ***"
        query = _redact_query(raw_query)
        pairs = [p.partition("=") for p in raw_query.split("&")] if raw_query else []
        shown = path + ("?" + "&".join(k + "=***" if unquote_plus(k) in SECRET_KEYS else k + s + v
                                       for k, s, v in pairs) if pairs else "")
        with self._lock:
            self._log.append(LoggedRequest(host, method, shown, query, kept, status))

    def _internal_error(self):
        return Response(500, dumps({"statusCode": 500, "message": "Internal server error"}), JSON)

    def _fault_response(self, host, status, headers, body):
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
        return Response(status, body, ctype, headers.items())

    # ------------------------------------------------------------------ logins and tokens

    def _issue_token(self):
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = [self.pumper_id, self.clock() + self.token_lifetime_s]
        return token

    def _bearer(self, headers):
        """(pumper id, None) for a valid bearer token, else (None, the 401 answer)."""
        auth = headers.get("Authorization") or ""
        denied = Response(401, dumps(UNAUTHORIZED), JSON, [("WWW-Authenticate", "Bearer")])
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return None, denied
        with self._lock:
            entry = self._tokens.get(auth[7:].strip())
        if entry is None or self.clock() >= entry[1]:
            return None, Response(401, dumps(UNAUTHORIZED), JSON,
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
            "name": therapy.PATIENT_NAME, "given_name": therapy.PATIENT_NAME.split()[0],
            "family_name": therapy.PATIENT_NAME.split()[-1], "preferred_username": self.email,
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
