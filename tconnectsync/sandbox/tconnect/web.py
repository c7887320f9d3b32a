"""tconnect.tandemdiabetes.com: the ASP.NET login form. Mixed into ``TandemLegacySandbox``."""
import secrets
from urllib.parse import parse_qsl

from ..httpserver import HTML, Response
from .wire import (BAD_CREDENTIALS_MESSAGE, BAD_FORM_MESSAGE, EMAIL_FIELD, EVENT_TARGET, HOME_PAGE, LOCKOUT_MESSAGE,
                   LOGIN_FIELDS, LOGIN_PAGE, OBJECT_MOVED, PASSWORD_FIELD, VIEWSTATE_GENERATOR, _iso_ms)


class WebHost:
    def _login_page(self, notice=None):
        viewstate = "/wEPDwUKLTk5OTk5OTk5OQ9kFgJmD2Q" + secrets.token_urlsafe(36)
        validation = "/wEdAAV" + secrets.token_urlsafe(30)
        with self._lock:
            self._viewstates[viewstate] = validation
            while len(self._viewstates) > 1000:
                self._viewstates.popitem(last=False)
        notice_html = '    <div class="notice_error">%s</div>\n' % notice if notice else ""
        return Response(200, LOGIN_PAGE % {"viewstate": viewstate, "generator": VIEWSTATE_GENERATOR,
                                            "validation": validation, "notice": notice_html})

    def _route_web(self, method, path, raw_query, query, headers, body):
        lpath = path.lower()
        if lpath == "/login.aspx":
            if method == "GET":
                page = self.fixtures and self.fixtures.read("web/login_get.html")
                resp = Response(200, page) if page else self._login_page()
                resp.headers.append(("Set-Cookie", "ASP.NET_SessionId=%s; path=/; secure; HttpOnly; SameSite=Lax"
                                     % secrets.token_hex(12)))
                return resp
            if method == "POST":
                return self._login_post(query, headers, body)
            return Response(405, "<html><body><h1>405 Method Not Allowed</h1></body></html>")
        if lpath in ("/", "/default.aspx"):
            page = self.fixtures and self.fixtures.read("web/login_redirect_target.html")
            return Response(200, page or HOME_PAGE)
        return Response(404, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
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
            return Response(200, page) if page else self._login_page(BAD_CREDENTIALS_MESSAGE)
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
        return Response(302, OBJECT_MOVED % target, HTML,
                         [("Cache-Control", "private"), ("Location", target)] + [("Set-Cookie", c) for c in cookies])

    # ------------------------------------------------------------------ tdcservices
