"""The Tandem Source API: OIDC login (password POST + PKCE), the pumper and the pump-logs.

See ``docs/tandem-source.md`` §1-5. One ``HttpClient`` (one cookie jar) for
the login hosts and the Source data host. Every URL is derived from the configured base URLs
(``sso_url``, ``services_url``, ``source_url``), so a test server or a proxy receives every
request; the id_token's issuer and audience are always checked against Tandem's real values.

The access token is cached in ``config.token_file`` (mode 0600; never the password) and reused
across processes while it is valid for the same e-mail address, region and hosts.
"""
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import time
import urllib.parse
from typing import Optional

import jwt

from .. import timeutil
from ..errors import ConfigError, TandemError, TandemFormatError
from ..http import HttpClient, join_url
from .common import AccountLocked, BadCredentials, BROWSER_UA, LoginLimiter, relogin_at

logger = logging.getLogger(__name__)

NAME = "Tandem Source"
ISSUERS = {"US": "https://tdcservices.tandemdiabetes.com/accounts/api",
           "EU": "https://tdcservices.eu.tandemdiabetes.com/accounts/api"}
CLIENT_IDS = {"US": "0oa4wnbvtladeyVZX4h7", "EU": "1519e414-eeec-492e-8c5e-97bea4815a10"}
LOGIN_PATH = "accounts/api/login"
AUTHORIZE_PATH = "accounts/api/connect/authorize"
TOKEN_PATH = "accounts/api/connect/token"
JWKS_PATH = "accounts/api/.well-known/openid-configuration/jwks"
PUMPER_PATH = "api/reports/bff/pumper/%s"
PUMP_LOGS_PATH = "api/reports/bff/pump-logs/%s"
SCOPE = "openid profile email"
MAX_WINDOW_DAYS = 28
CLOCK_LEEWAY_S = 120
CACHE_VERSION = 1
STALE_PUMP_DAYS = 3
LOCKED_TEXT = re.compile(r"\b(locked|lockout|locked out)\b|max attempted logins")
# The event codes the Source web app asks for (docs/tandem-source.md §5.2; what tconnectsync 3.0.3 sends). The
# server has ignored the filter in the past, so callers must not rely on it either way.
DEFAULT_EVENT_CODES = (229, 5, 28, 4, 26, 562, 563, 566, 99, 279, 3, 16, 59, 21, 55, 20, 280, 64, 65, 66, 61, 33,
                       371, 171, 369, 460, 172, 370, 461, 372, 480, 399, 256, 213, 406, 477, 394, 212, 404, 214,
                       405, 486, 447, 313, 60, 14, 69, 57, 6, 90, 230, 140, 12, 11, 53, 559, 558, 565, 564, 13, 63,
                       203, 307, 191)


class IdTokenRejected(TandemError):
    """The id_token from the login did not verify (signature, issuer, audience or times)."""


@dataclasses.dataclass(frozen=True)
class SourcePump:
    """A pump on the Tandem Source account (one ``pumps[]`` entry of the pumper)."""
    serial: str
    assignment_id: str                     # the device id of the pump-logs URL
    model: str                             # "t:slim X2" | "Tandem Mobi"
    model_name: str                        # as Tandem labels it
    last_event_local: Optional[dt.datetime]  # maxDateOfEvents: naive pump wall-clock time, None if never uploaded
    last_event: Optional[dt.datetime]      # the same as an aware UTC instant (read in TIMEZONE_NAME)
    settings: Optional[dict] = dataclasses.field(default=None, repr=False, compare=False)
    raw: Optional[dict] = dataclasses.field(default=None, repr=False, compare=False)

    def describe(self):
        return "%s (%s)" % (self.serial, self.model)


@dataclasses.dataclass
class PumpLogs:
    events: list          # raw PumpLogEvent dicts, de-duplicated, in sequence order
    clock_changes: list   # raw events 13/14 (the pump's clock changes), de-duplicated


def pkce_pair():
    """(code_verifier, code_challenge): 64 random bytes base64url, and its S256 challenge."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode("ascii")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return verifier, challenge.decode("ascii")


def origin_of(url):
    parts = urllib.parse.urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def date_windows(start, end, max_days=MAX_WINDOW_DAYS):
    """Inclusive date windows of at most ``max_days`` days covering [start, end]."""
    return timeutil.split_days(start, end, max_days)


def model_label(entry):
    name = "%s %s" % (entry.get("modelName") or "", entry.get("modelNumber") or "")
    return "Tandem Mobi" if "mobi" in name.lower() else "t:slim X2"


def ago(seconds):
    """``3 days``, ``5 hours``, ``12 minutes`` (never negative)."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return "%d %s%s" % (n, unit, "" if n == 1 else "s")
    return "less than a minute"


def _as_date(value):
    return value.date() if isinstance(value, dt.datetime) else value


class TandemSourceApi:
    """Tandem Source, logged in lazily (see the module doc)."""

    name = "source"

    def __init__(self, config, clock=time.time, sleep=time.sleep, limiter=None, attempts=4, backoff=1.0):
        if config.region not in ISSUERS:
            raise ConfigError("TCONNECT_REGION must be US or EU, not %r." % config.region)
        self.config = config
        self.clock = clock
        self.limiter = limiter or LoginLimiter(clock=clock)
        self.http = HttpClient(NAME, timeout=(10, config.http_timeout), attempts=attempts, backoff=backoff,
                               sleep=sleep, headers={"User-Agent": BROWSER_UA})
        self.issuer = ISSUERS[config.region]
        self.client_id = CLIENT_IDS[config.region]
        if config.region == "US":
            self.redirect_uri = join_url(config.sso_url, "auth/callback")
        else:
            self.redirect_uri = join_url(config.source_url, "authorize/callback")
        self.source_origin = origin_of(config.source_url)
        self.access_token = None
        self.pumper_id = None
        self.account_id = None
        self.id_claims = None        # claims of the last verified id_token (this process only)
        self.expires_at = None
        self.renew_at = 0
        self.logins = 0              # credential logins this instance made

    def __repr__(self):
        return "<TandemSourceApi %s %s>" % (self.config.region, "logged in" if self.access_token else "not logged in")

    def close(self):
        self.http.close()

    def request_counts(self):
        return {"source": self.http.request_count}

    # ------------------------------------------------------------------ login

    def needs_login(self):
        return not self.access_token or self.clock() >= self.renew_at

    def ensure_login(self):
        if self.needs_login() and not self._load_cache():
            self.login()

    def login(self):
        """A fresh credential login (docs/tandem-source.md §2); ignores and then replaces the token cache."""
        cfg = self.config
        self.limiter.check_refused(NAME)
        session = self.http.session
        session.cookies.clear()
        landing = self.http.request("GET", cfg.sso_url)
        logger.debug("SSO page answered HTTP %d", landing.status_code)
        self.limiter.acquire(NAME)
        response = self.http.request("POST", join_url(cfg.services_url, LOGIN_PATH), retry=False,
                                     allow_redirects=False, json={"username": cfg.email, "password": cfg.password},
                                     headers={"Referer": cfg.sso_url})
        try:
            self._check_login_answer(response)
        except (AccountLocked, BadCredentials) as exc:
            self.limiter.refused[NAME] = exc
            raise
        verifier, challenge = pkce_pair()
        params = {"client_id": self.client_id, "response_type": "code", "scope": SCOPE,
                  "redirect_uri": self.redirect_uri, "code_challenge": challenge, "code_challenge_method": "S256"}
        answer = self.http.request("GET", join_url(cfg.services_url, AUTHORIZE_PATH), params=params,
                                   headers={"Referer": cfg.sso_url}, allow_redirects=True)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.url).query).get("code", [None])[0]
        if not 200 <= answer.status_code < 300 or not code:
            raise TandemError("Tandem Source accepted the password but its authorize step gave no code (HTTP %d); "
                              "try again later." % answer.status_code, answer.status_code)
        form = {"grant_type": "authorization_code", "client_id": self.client_id, "code": code,
                "redirect_uri": self.redirect_uri, "code_verifier": verifier}
        token = self.http.request("POST", join_url(cfg.services_url, TOKEN_PATH), data=form, retry=False)
        if not 200 <= token.status_code < 300:
            raise TandemError("Tandem Source refused to exchange the login code for a token (HTTP %d%s); try "
                              "again later." % (token.status_code, _error_name(token)), token.status_code)
        body = _json(token, "token answer")
        for field in ("access_token", "id_token"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise TandemFormatError("Tandem Source's token answer has no %s; the login changed." % field)
        claims = self._verify_id_token(body["id_token"])
        for field in ("pumperId", "accountId"):
            if not isinstance(claims.get(field), str) or not claims[field]:
                raise TandemFormatError("Tandem Source's id_token has no %s claim; the login changed." % field)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            raise TandemFormatError("Tandem Source's token answer has an unreadable expires_in.") from None
        now = self.clock()
        self.access_token = body["access_token"]
        self.pumper_id = claims["pumperId"]
        self.account_id = claims["accountId"]
        self.id_claims = claims
        self.expires_at = now + lifetime
        self.renew_at = relogin_at(self.expires_at, now)
        self.logins += 1
        logger.info("Logged in to Tandem Source (%s); the token is valid for %s", cfg.region, ago(lifetime))
        self._save_cache(now)

    def _check_login_answer(self, response):
        lowered = (response.text or "").lower()
        try:
            body = response.json()
        except ValueError:
            body = None
        status = body.get("status") if isinstance(body, dict) else None
        if response.status_code == 200 and status == "SUCCESS":
            return
        if response.status_code == 403:
            raise TandemError("Tandem's firewall blocked the Tandem Source login (HTTP 403); wait an hour before "
                              "trying again.", 403)
        if status == "LOCKED" or LOCKED_TEXT.search(lowered):
            raise AccountLocked("Tandem Source locked the account after too many logins; wait a few hours (or "
                                "reset the password at Tandem Source) before running tconnectsync again.")
        if response.status_code in (200, 400, 401):
            raise BadCredentials("Tandem Source refused the e-mail address or password: check TCONNECT_EMAIL and "
                                 "TCONNECT_PASSWORD (log in at the Tandem Source website to be sure).")
        raise TandemError("The Tandem Source login answered HTTP %d; try again later." % response.status_code,
                          response.status_code)

    def _verify_id_token(self, id_token):
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise IdTokenRejected("Tandem Source sent an id_token that is not a JWT; refusing to log in.") from None
        if header.get("alg") != "RS256":
            raise IdTokenRejected("Tandem Source's id_token is signed with %r instead of RS256; refusing to log in."
                                  % header.get("alg"))
        answer = self.http.request("GET", join_url(self.config.services_url, JWKS_PATH))
        if answer.status_code != 200:
            raise TandemError("Tandem Source's signing keys (JWKS) answered HTTP %d; try again later."
                              % answer.status_code, answer.status_code)
        keys = _json(answer, "JWKS").get("keys")
        if not isinstance(keys, list):
            raise TandemFormatError("Tandem Source's JWKS has no keys list; the login changed.")
        entry = next((k for k in keys if isinstance(k, dict) and k.get("kid") == header.get("kid")), None)
        if entry is None or entry.get("kty") != "RSA":
            raise IdTokenRejected("Tandem Source's id_token names a signing key (kid) that its JWKS does not "
                                  "publish as an RSA key; refusing to log in.")
        try:
            key = jwt.PyJWK(entry, algorithm="RS256").key
            claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=self.client_id, issuer=self.issuer,
                                options={"require": ["iss", "aud", "exp", "iat"], "verify_exp": False,
                                         "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWKError as exc:
            raise IdTokenRejected("Tandem Source published an unusable signing key (%s); refusing to log in."
                                  % type(exc).__name__) from None
        except jwt.InvalidTokenError as exc:
            raise IdTokenRejected("Tandem Source's id_token failed verification (%s); refusing to log in."
                                  % exc) from None
        # times against our clock (injectable), with some leeway for clock skew
        now = self.clock()
        try:
            exp, nbf = float(claims["exp"]), float(claims.get("nbf", claims["iat"]))
        except (TypeError, ValueError):
            raise IdTokenRejected("Tandem Source's id_token has unreadable exp/nbf claims.") from None
        if exp <= now - CLOCK_LEEWAY_S or nbf > now + CLOCK_LEEWAY_S:
            raise IdTokenRejected("Tandem Source's id_token is expired or not yet valid; check this computer's "
                                  "clock.")
        return claims

    # ------------------------------------------------------------------ the token cache

    def _cache_identity(self):
        cfg = self.config
        return {"email": cfg.email.strip().lower(), "region": cfg.region, "services_url": cfg.services_url,
                "source_url": cfg.source_url}

    def _load_cache(self):
        """Use the cached token if it belongs to this account and hosts and is not due for renewal."""
        path = self.config.token_file
        if not path or self.limiter.refused.get(NAME):
            return False
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            logger.warning("Ignoring the Tandem Source token cache %s: %s", path, exc)
            return False
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return False
        if any(data.get(k) != v for k, v in self._cache_identity().items()):
            return False
        try:
            issued, expires = float(data["issued_at"]), float(data["expires_at"])
            token, pumper, account = data["access_token"], data["pumper_id"], data["account_id"]
        except (KeyError, TypeError, ValueError):
            return False
        if not all(isinstance(v, str) and v for v in (token, pumper, account)):
            return False
        renew = relogin_at(expires, issued)
        if self.clock() >= renew:
            return False
        if token == self.access_token:
            return False           # the token we already found stale; never reload it
        self.access_token, self.pumper_id, self.account_id = token, pumper, account
        self.expires_at, self.renew_at = expires, renew
        logger.debug("Using the cached Tandem Source token (valid for %s)", ago(expires - self.clock()))
        return True

    def _save_cache(self, issued_at):
        path = self.config.token_file
        if not path:
            return
        data = dict(self._cache_identity(), version=CACHE_VERSION, issued_at=issued_at, expires_at=self.expires_at,
                    access_token=self.access_token, pumper_id=self.pumper_id, account_id=self.account_id)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        try:
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    fd = None
                    json.dump(data, f)
            finally:
                if fd is not None:
                    os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            logger.warning("Could not save the Tandem Source token to %s (%s); every run will log in again.",
                           path, exc.strerror or exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    # ------------------------------------------------------------------ data calls

    def _get(self, path, params=None, what="request"):
        """GET ``source_url + path`` with the token and the Source site's Origin/Referer; the decoded
        JSON. A 401 gets one fresh login and one retry."""
        self.ensure_login()
        url = join_url(self.config.source_url, path)
        for attempt in (1, 2):
            headers = {"Authorization": "Bearer %s" % self.access_token, "Origin": self.source_origin,
                       "Referer": self.config.source_url}
            response = self.http.request("GET", url, params=params, headers=headers, allow_redirects=False)
            if response.status_code == 401 and attempt == 1:
                logger.info("Tandem Source refused the token (HTTP 401); logging in again")
                self.access_token = None
                self.login()
                continue
            break
        status = response.status_code
        if status == 200:
            return _json(response, what)
        if status == 401:
            raise TandemError("Tandem Source refused a fresh login's token (HTTP 401) for the %s; try again later."
                              % what, 401)
        if status == 403:
            raise TandemError("Tandem's firewall blocked the %s (HTTP 403%s): the Origin/Referer must be the "
                              "Source site (check TANDEM_SOURCE_URL); if it persists, wait an hour."
                              % (what, ', "The request is blocked"' if "request is blocked" in response.text.lower()
                                 else ""), 403)
        if status == 404:
            raise TandemError("Tandem Source answered HTTP 404 for the %s: the pump or the endpoint is gone; "
                              "tconnectsync may need an update." % what, 404)
        raise TandemError("Tandem Source answered HTTP %d for the %s%s." % (status, what, _error_message(response)),
                          status)

    def pumper(self):
        """The pumper (docs/tandem-source.md §5.1): profile, ``pumps`` with their settings; decoded JSON."""
        self.ensure_login()
        body = self._get(PUMPER_PATH % urllib.parse.quote(self.pumper_id, safe=""), what="pumper request")
        if not isinstance(body, dict) or not isinstance(body.get("pumps"), list):
            raise TandemFormatError("Tandem Source's pumper answer has no pumps list; the API changed.")
        return body

    def pumps(self, pumper=None):
        """Every pump on the account as ``SourcePump``."""
        body = pumper if pumper is not None else self.pumper()
        out = []
        for entry in body["pumps"]:
            if not isinstance(entry, dict):
                raise TandemFormatError("Tandem Source's pumper lists a pump that is not an object.")
            for field in ("assignmentId", "serialNumber"):
                if not isinstance(entry.get(field), str) or not entry[field]:
                    raise TandemFormatError("Tandem Source's pumper lists a pump without %s; the API changed."
                                            % field)
            local = _parse_local(entry.get("maxDateOfEvents"), "maxDateOfEvents")
            out.append(SourcePump(serial=entry["serialNumber"], assignment_id=entry["assignmentId"],
                                  model=model_label(entry), model_name=entry.get("modelName") or "",
                                  last_event_local=local, last_event=self._utc(local), settings=entry.get("settings"),
                                  raw=entry))
        return out

    def _utc(self, local):
        return None if local is None else timeutil.localize(local, self.config.tz)

    def last_seen(self, pump):
        if pump.last_event is None:
            return "never uploaded"
        return "last event %s ago" % ago(self.clock() - pump.last_event.timestamp())

    def choose_pump(self, serial=None):
        """The pump to sync: ``serial`` if given (None: PUMP_SERIAL_NUMBER), else the most recently
        active pump, with a warning that names the others."""
        if serial is None:
            serial = self.config.pump_serial
        pumps = self.pumps()
        if not pumps:
            raise TandemError("The Tandem Source account has no pumps; upload your pump once with the Tandem "
                              "Source app or website, then run tconnectsync again.")
        serial = (serial or "").strip()
        if serial:
            found = [p for p in pumps if p.serial == serial] or [
                p for p in pumps if p.serial.isdigit() and serial.isdigit() and int(p.serial) == int(serial)]
            if not found:
                listed = ", ".join("%s (%s, %s)" % (p.serial, p.model, self.last_seen(p)) for p in pumps)
                raise ConfigError("PUMP_SERIAL_NUMBER=%s is not a pump on this Tandem Source account, which has: "
                                  "%s. Set PUMP_SERIAL_NUMBER to one of these, or leave it empty to use the most "
                                  "recently active pump." % (serial, listed))
            pump = found[0]
            if pump.last_event is None or self.clock() - pump.last_event.timestamp() > STALE_PUMP_DAYS * 86400:
                logger.warning("Pump %s has not uploaded to Tandem Source recently (%s).", pump.describe(),
                               self.last_seen(pump))
            return pump
        seen = [p for p in pumps if p.last_event is not None]
        pump = max(seen, key=lambda p: p.last_event) if seen else pumps[0]
        others = [p for p in pumps if p is not pump]
        if others:
            logger.warning("Using pump %s, the most recently active of the %d pumps on the Tandem Source account "
                           "(%s); the others: %s. Set PUMP_SERIAL_NUMBER to choose another.", pump.describe(),
                           len(pumps), self.last_seen(pump),
                           "; ".join("%s, %s" % (p.describe(), self.last_seen(p)) for p in others))
        return pump

    def pump_logs(self, pump, start_date, end_date, event_codes=None):
        """The pump's events for pump-local dates [start_date, end_date] (inclusive), fetched in
        windows of at most 28 days and de-duplicated on (sequenceGroup, sequenceNumber).

        ``event_codes``: None for the Source web app's list (``DEFAULT_EVENT_CODES``), an empty
        sequence for every type."""
        start_date, end_date = _as_date(start_date), _as_date(end_date)
        if end_date < start_date:
            raise ValueError("end date %s is before start date %s" % (end_date, start_date))
        codes = DEFAULT_EVENT_CODES if event_codes is None else tuple(event_codes)
        self.ensure_login()
        events, changes = {}, {}
        for a, b in date_windows(start_date, end_date):
            params = [("pumperId", self.pumper_id), ("startDate", a.strftime("%Y-%m-%dT00:00:00Z")),
                      ("endDate", b.strftime("%Y-%m-%dT23:59:59Z")),
                      ("eventCodes", ",".join(str(c) for c in codes))]
            body = self._get(PUMP_LOGS_PATH % urllib.parse.quote(pump.assignment_id, safe=""), params=params,
                             what="pump-logs request")
            if not isinstance(body, dict) or not isinstance(body.get("events"), list):
                raise TandemFormatError("Tandem Source's pump-logs answer has no events list; the API changed.")
            _collect(events, body["events"], "events")
            _collect(changes, body.get("clockChanges") or [], "clockChanges")
        return PumpLogs(events=[events[k] for k in sorted(events)], clock_changes=[changes[k] for k in sorted(changes)])

    def pump_events(self, pump, start_date, end_date, event_codes=None):
        """The raw events of ``pump_logs`` (decoded JSON objects, in sequence order)."""
        return self.pump_logs(pump, start_date, end_date, event_codes).events

    def newest_event_time(self, pump):
        """When ``pump`` logged its newest event (aware UTC, from the pumper's maxDateOfEvents), or
        None if it never uploaded: one pumper request, for the --auto-update poll (docs/tandem-source.md §7.5)."""
        for p in self.pumps():
            if p.assignment_id == pump.assignment_id:
                return p.last_event
        raise TandemError("Pump %s is no longer on the Tandem Source account." % pump.describe())


def _collect(into, events, where):
    for ev in events:
        if not isinstance(ev, dict):
            raise TandemFormatError("Tandem Source's pump-logs %s holds a non-object; the API changed." % where)
        try:
            key = (int(ev.get("sequenceGroup") or 0), int(ev["sequenceNumber"]))
        except (KeyError, TypeError, ValueError):
            raise TandemFormatError("A Tandem Source pump-logs event has no usable sequenceNumber; the API "
                                    "changed.") from None
        into.setdefault(key, ev)


def _parse_local(value, field):
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", ""))
    except ValueError:
        raise TandemFormatError("Tandem Source's pumper has an unreadable %s (%r)." % (field, value)) from None
    return parsed.replace(tzinfo=None)


def _json(response, what):
    """The decoded JSON object of an answer (a TandemFormatError if it is not an object)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TandemFormatError("Tandem Source's %s is not a JSON object; the API changed." % what)
    return body


def _error_name(response):
    try:
        body = response.json()
    except ValueError:
        return ""
    return ": %s" % body["error"] if isinstance(body, dict) and isinstance(body.get("error"), str) else ""


def _error_message(response):
    """A short, secret-free excerpt of an error answer."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        issues = (body.get("error") or {}).get("issues") if isinstance(body.get("error"), dict) else None
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            return ": %s" % str(issues[0].get("message"))[:200]
        if isinstance(body.get("message"), str):
            return ": %s" % body["message"][:200]
    return ""
