"""The sign-in hosts: ``sso`` (the landing page and the US login callback) and ``services``
(tdcservices ``accounts/api/``: credential login, OIDC authorize / token / discovery / JWKS).
Mixed into ``TandemSourceSandbox``."""
import json
import re
import secrets
from urllib.parse import parse_qsl, quote, urlencode

from ..httpserver import Response
from .wire import (CALLBACK_PAGE, CODE_LIFETIME_S, HTML, JSON, LOGIN_FAILED, LOGIN_LOCKED, NOT_FOUND, SESSION_COOKIE,
                   SSO_PAGE, dumps, s256)


class AccountsHost:
    def _route_sso(self, method, path, raw_query, query, headers, body):
        if method not in ("GET", "HEAD"):
            return Response(405, "<html><body><h1>405 Method Not Allowed</h1></body></html>", HTML)
        if path in ("/", "/login"):
            return Response(200, SSO_PAGE, HTML)
        if path == "/auth/callback":
            return Response(200, CALLBACK_PAGE, HTML)
        return Response(404, "<html><body><h1>404 Not Found</h1></body></html>", HTML)

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
            return Response(404, dumps(NOT_FOUND), JSON)
        if method != route[0]:
            return Response(405, dumps({"statusCode": 405, "message": "Method Not Allowed"}), JSON)
        return route[1](query, headers, body)

    def _login(self, query, headers, body):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return Response(415, dumps({"status": "FAILED", "message": "Unsupported Media Type"}), JSON)
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or not data.get("username") or not data.get("password"):
            with self._lock:
                self.login_attempts += 1
            return Response(400, dumps({"status": "FAILED", "message": "Username and password are required."}),
                             JSON)
        outcome = self._login_attempt(data["username"], data["password"])
        if outcome == "locked":
            return Response(401, dumps(LOGIN_LOCKED), JSON)
        if outcome == "failed":
            return Response(401, dumps(LOGIN_FAILED), JSON)
        sid = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions[sid] = data["username"]
        cookie = "%s=%s; path=/; samesite=none; httponly" % (SESSION_COOKIE, sid)
        return Response(200, dumps({"redirectUrl": "/", "status": "SUCCESS"}), JSON, [("Set-Cookie", cookie)])

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
            return Response(400, dumps({"error": name, "error_description": description}), JSON)
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
            return Response(302, "", HTML, [("Location", self.sso_url + "?ReturnUrl=" + quote(
                "/accounts/api/connect/authorize?" + urlencode(query), safe=""))])
        code = secrets.token_hex(32).upper()
        with self._lock:
            self._codes[code] = {"client_id": query["client_id"], "redirect_uri": query["redirect_uri"],
                                 "challenge": challenge, "sid": sid, "expires": self.clock() + CODE_LIFETIME_S}
        target = "%s?code=%s&scope=%s&session_state=%s" % (self.redirect_uri, code, quote(query["scope"]),
                                                           secrets.token_urlsafe(24))
        return Response(302, "", HTML, [("Location", target)])

    def _token(self, query, headers, body):
        def error(name, status=400):
            return Response(status, dumps({"error": name}), JSON)
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
        return Response(200, dumps({"id_token": self._id_token(access, grant["sid"]), "access_token": access,
                                     "expires_in": int(self.token_lifetime_s), "token_type": "Bearer",
                                     "scope": "openid profile email"}), JSON,
                         [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _discovery(self, query, headers, body):
        base = self.services_url + "accounts/api/"
        return Response(200, dumps({
            "issuer": self.issuer, "jwks_uri": base + ".well-known/openid-configuration/jwks",
            "authorization_endpoint": base + "connect/authorize", "token_endpoint": base + "connect/token",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["plain", "S256"],
            "id_token_signing_alg_values_supported": ["RS256"]}), JSON)

    def _jwks(self, query, headers, body):
        return Response(200, dumps(self.jwks()), JSON)

    # ------------------------------------------------------------------ source host
