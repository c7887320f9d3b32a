"""The Tandem Source login: password POST, OIDC authorize with PKCE, the token exchange, the
id_token checked against Tandem's JWKS, and the token cache (see ``docs/tandem-source.md`` §2).

``SourceAuth`` is the client's ``AuthHook``: it gives the bearer headers (logging in lazily, or
reusing the cached token) and logs in afresh when the choke point reports a 401.

The access token is cached in ``config.token_file`` (mode 0600; never the password) and reused
across processes while it is valid for the same e-mail address, region and hosts.
"""
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import urllib.parse

import jwt

from ... import logs
from ...errors import (AccountLocked, BadCredentials, IdTokenRejected, TandemError, TandemFormatError)
from ...http import StatusErrors, join_url
from ..common import credentials_fingerprint, relogin_at, send_login, write_private
from .regions import REGIONS

logger = logging.getLogger(__name__)

NAME = "Tandem Source"
LOGIN_PATH = "accounts/api/login"
AUTHORIZE_PATH = "accounts/api/connect/authorize"
TOKEN_PATH = "accounts/api/connect/token"
JWKS_PATH = "accounts/api/.well-known/openid-configuration/jwks"
SCOPE = "openid profile email"
CLOCK_LEEWAY_S = 120
CACHE_VERSION = 1
LOCKED_TEXT = re.compile(r"\b(locked|lockout|locked out)\b|max attempted logins")

TOKEN_ERRORS = StatusErrors(ok=range(200, 300), default=lambda response, what: TandemError(
    "Tandem Source refused to exchange the login code for a token (HTTP %d%s); try again later."
    % (response.status_code, _error_name(response)), response.status_code))
JWKS_ERRORS = StatusErrors(default=lambda response, what: TandemError(
    "Tandem Source's signing keys (JWKS) answered HTTP %d; try again later." % response.status_code,
    response.status_code))


def pkce_pair():
    """(code_verifier, code_challenge): 64 random bytes base64url, and its S256 challenge."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode("ascii")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return verifier, challenge.decode("ascii")


def ago(seconds):
    """``3 days``, ``5 hours``, ``12 minutes`` (never negative)."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return "%d %s%s" % (n, unit, "" if n == 1 else "s")
    return "less than a minute"


class SourceAuth:
    """The login state of one Tandem Source account (the caller checked ``config.region``)."""

    def __init__(self, config, http, limiter, clock):
        self.config = config
        self.http = http
        self.limiter = limiter
        self.clock = clock
        region = REGIONS[config.region]
        self.issuer = region.issuer
        self.client_id = region.client_id
        self.redirect_uri = join_url(config.sso_url if region.redirect_on == "sso" else config.source_url,
                                     region.redirect_path)
        self.access_token = None
        self.pumper_id = None
        self.account_id = None
        self.id_claims = None        # claims of the last verified id_token (this process only)
        self.expires_at = None
        self.renew_at = 0
        self.logins = 0              # credential logins this instance made

    # ------------------------------------------------------------------ the AuthHook

    def headers(self):
        self.ensure_login()
        return {"Authorization": "Bearer %s" % self.access_token}

    def relogin(self):
        self.access_token = None
        self.login()

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
        self.http.session.cookies.clear()
        landing = self.http.request("GET", cfg.sso_url)
        logger.debug("SSO page answered HTTP %d", landing.status_code)
        response = send_login(self.http, self.limiter, NAME, lambda: self.http.request(
            "POST", join_url(cfg.services_url, LOGIN_PATH), retry=False,      # credentials: see send_login
            allow_redirects=False, json={"username": cfg.email, "password": cfg.password},
            headers={"Referer": cfg.sso_url}))
        try:
            _check_login_answer(response)
        except (AccountLocked, BadCredentials) as exc:
            self.limiter.refuse(NAME, exc)
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
        token = self.http.request("POST", join_url(cfg.services_url, TOKEN_PATH), data=form, retry=False,
                                  errors=TOKEN_ERRORS)           # the code is single-use: never re-sent
        body = json_object(token, "token answer")
        for field in ("access_token", "id_token"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise TandemFormatError("Tandem Source's token answer has no %s; the login changed." % field)
        try:
            claims = self._verify_id_token(body["id_token"])
            for field in ("pumperId", "accountId"):
                if not isinstance(claims.get(field), str) or not claims[field]:
                    raise _rejected("its id_token has no %s claim (the login changed)" % field)
        except IdTokenRejected as exc:
            self.limiter.refused[NAME] = exc        # never sent again in this run (the daemon backs off)
            raise
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

    def _verify_id_token(self, id_token):
        """The id_token's claims, once its signature (RS256, a key of Tandem's JWKS), issuer and
        times check out. Another audience than our client id is a warning, not a failure: Tandem
        has changed client ids before, and the token is still Tandem's own (signature and issuer)."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise _rejected("it sent an id_token that is not a JWT") from None
        if header.get("alg") != "RS256":
            raise _rejected("its id_token is signed with %r instead of RS256" % header.get("alg"))
        answer = self.http.request("GET", join_url(self.config.services_url, JWKS_PATH), errors=JWKS_ERRORS)
        keys = json_object(answer, "JWKS").get("keys")
        if not isinstance(keys, list):
            raise TandemFormatError("Tandem Source's JWKS has no keys list; the login changed.")
        entry = next((k for k in keys if isinstance(k, dict) and k.get("kid") == header.get("kid")), None)
        if entry is None or entry.get("kty") != "RSA":
            raise _rejected("its id_token names a signing key (kid) that its JWKS does not publish as an RSA key")
        try:
            key = jwt.PyJWK(entry, algorithm="RS256").key
            claims = jwt.decode(id_token, key, algorithms=["RS256"], issuer=self.issuer,
                                options={"require": ["iss", "exp", "iat"], "verify_aud": False, "verify_exp": False,
                                         "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWKError as exc:
            raise _rejected("it published an unusable signing key (%s)" % type(exc).__name__) from None
        except jwt.InvalidSignatureError:
            raise _rejected("its id_token's signature does not match Tandem's published key") from None
        except jwt.InvalidIssuerError:
            raise _rejected("its id_token was issued by someone else than %s" % self.issuer) from None
        except jwt.InvalidTokenError as exc:
            raise _rejected("its id_token failed verification (%s)" % exc) from None
        self._check_audience(claims.get("aud"))
        # times against our clock (injectable), with some leeway for clock skew
        now = self.clock()
        try:
            exp, nbf = float(claims["exp"]), float(claims.get("nbf", claims["iat"]))
        except (TypeError, ValueError):
            raise _rejected("its id_token has unreadable exp/nbf claims") from None
        if exp <= now - CLOCK_LEEWAY_S or nbf > now + CLOCK_LEEWAY_S:
            raise IdTokenRejected("The Tandem Source login failed: its id_token is expired or not yet valid, "
                                  "which usually means this computer's clock is wrong; set the clock right and "
                                  "run again.")
        return claims

    def _check_audience(self, aud):
        audiences = aud if isinstance(aud, list) else [aud]
        if self.client_id in audiences:
            return
        seen = ", ".join(repr(a) for a in audiences if a is not None) or "none"
        logs.warn_once(logger, "Tandem Source's id_token is for the audience %s, not our client id %r; logging "
                               "in anyway (its signature and issuer are Tandem's). Tandem may have changed its "
                               "client id: please report this." % (seen, self.client_id))

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
        if not self._same_credentials(data):
            logger.info("The Tandem Source token cache came from other credentials (the password changed); "
                        "logging in again")
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

    def _same_credentials(self, data):
        """The cache belongs to the e-mail address and password configured now (a salted fingerprint)."""
        salt, stored = data.get("salt"), data.get("credentials")
        if not isinstance(salt, str) or not isinstance(stored, str):
            return False
        try:
            return hmac.compare_digest(stored, credentials_fingerprint(self.config.email, self.config.password, salt))
        except ValueError:
            return False

    def _save_cache(self, issued_at):
        path = self.config.token_file
        if not path:
            return
        salt = secrets.token_hex(16)
        data = dict(self._cache_identity(), version=CACHE_VERSION, issued_at=issued_at, expires_at=self.expires_at,
                    access_token=self.access_token, pumper_id=self.pumper_id, account_id=self.account_id,
                    salt=salt, credentials=credentials_fingerprint(self.config.email, self.config.password, salt))
        try:
            write_private(path, data)
        except OSError as exc:
            logger.warning("Could not save the Tandem Source token to %s (%s); every run will log in again.",
                           path, exc.strerror or exc)


def _check_login_answer(response):
    """Raise the error a password POST's answer means (body-dependent, so not a ``StatusErrors``)."""
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
    if response.status_code == 200 and not isinstance(body, dict):
        # A page, not the login API's JSON (maintenance, a captive portal): no verdict on the
        # password, so it is never remembered as a refusal (api/common.py) and a later run tries again.
        raise TandemError("The Tandem Source login answered a page instead of its JSON verdict (HTTP 200); "
                          "this says nothing about your password: try again later.", 200)
    if response.status_code in (200, 400, 401):
        raise BadCredentials("Tandem Source refused the e-mail address or password: check TCONNECT_EMAIL and "
                             "TCONNECT_PASSWORD (log in at the Tandem Source website to be sure).")
    raise TandemError("The Tandem Source login answered HTTP %d; try again later." % response.status_code,
                      response.status_code)


def _rejected(what):
    """The login failure for an id_token that did not verify: one sentence, what to do."""
    return IdTokenRejected("The Tandem Source login failed: %s; this is not a problem with your password, so "
                           "try again later, and report it if it keeps happening." % what)


def json_object(response, what):
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
