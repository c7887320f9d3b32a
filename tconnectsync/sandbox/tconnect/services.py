"""tdcservices for the legacy APIs: Control:IQ (``tconnect/controliq/api/``), therapy events
(``tconnect/therapyevents/api/``) and the Android cloud API (``cloud/``). Mixed into
``TandemLegacySandbox``."""
import base64
import re
import secrets
from urllib.parse import parse_qsl

from ..httpserver import Response
from .render import PATIENT_INFO, THERAPY_THRESHOLDS, pump_features, render_summary, render_therapy_events, \
    render_timeline, user_profile
from .wire import (ANDROID_CLIENT_ID, ANDROID_CLIENT_SECRET, ERROR_500, JSON, LOCKOUT_MESSAGE, PROBLEM,
                   WAF_FORBIDDEN_PAGE, _iso_ms, dumps, oauth_error, parse_mdy, problem)


class ServicesHost:
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
                return Response(405, oauth_error(405, "Method not allowed", "method_not_allowed"), JSON)
            denied = self._check_bearer(headers, ("android",))
            return denied or cloud[lpath](query)
        return Response(404, problem(404, "Not Found"), PROBLEM)

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
            return None, Response(400, problem(400, "One or more validation errors occurred.", errors), PROBLEM)
        return (start, end), None

    def _not_found(self):
        body = self.fixtures and self.fixtures.read("controliq/error_404.json")
        return Response(404, body or problem(404, "Not Found"), PROBLEM)

    def _controliq(self, method, endpoint, guid, raw_query, query, headers):
        # the Azure Application Gateway WAF sits in front of the application
        if "mozilla" not in (headers.get("User-Agent") or "").lower():
            return Response(403, WAF_FORBIDDEN_PAGE)
        keys = [k for k, _ in parse_qsl(raw_query, keep_blank_values=True)]
        if "startDate" in keys and "endDate" in keys and keys.index("endDate") < keys.index("startDate"):
            return Response(403, WAF_FORBIDDEN_PAGE)
        if method != "GET":
            return Response(405, problem(400, "Method Not Allowed"), PROBLEM)
        denied = self._check_bearer(headers, ("web", "android"))
        if denied:
            return denied
        if endpoint == "pumpfeatures":
            if guid.lower() != self.user_guid:
                return self._not_found()
            fixture = self.fixtures and self.fixtures.read("controliq/pumpfeatures.json")
            if fixture:
                return Response(200, fixture, JSON)
            return Response(200, dumps([f for f in [pump_features(self.scenario)] if f]), JSON)
        window, bad = self._dates(query.get("startDate"), query.get("endDate"))
        if bad:
            return bad
        if guid.lower() != self.user_guid:
            return self._not_found()
        start, end = window
        if self.max_ciq_days is not None and (end - start).days + 1 > self.max_ciq_days:
            body = self.fixtures and self.fixtures.read("controliq/error_500.json")
            return Response(500, body or dumps(ERROR_500), JSON)
        if self.fixtures is not None:
            known, data = self.fixtures.window_file(start, end, "controliq_%s.json" % endpoint)
            if known:
                return Response(200, data, JSON) if data is not None else self._not_found()
        sc = self.scenario
        if sc is None or not sc.has_ciq_data(start, end):
            return self._not_found()
        w = sc.window(start, end)
        return Response(200, render_timeline(sc, w) if endpoint == "therapytimeline" else render_summary(sc, w),
                         JSON)

    def _therapy_events(self, method, start_s, end_s, query, headers):
        if method != "GET":
            return Response(405, problem(400, "Method Not Allowed"), PROBLEM)
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
                return Response(200, data, JSON)
        if self.scenario is None:
            return Response(200, dumps({"event": []}), JSON)
        return Response(200, render_therapy_events(self.scenario, self.scenario.window(start, end)), JSON)

    def _oauth_token(self, method, headers, body):
        if method != "POST":
            return Response(405, oauth_error(405, "Method not allowed", "method_not_allowed"), JSON)
        client_ok = False
        auth = headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
                client_ok = client_id == ANDROID_CLIENT_ID and client_secret == ANDROID_CLIENT_SECRET
            except (ValueError, UnicodeDecodeError):
                client_ok = False
        if not client_ok:
            return Response(401, oauth_error(401, "Invalid client: client is invalid", "invalid_client"), JSON,
                             [("WWW-Authenticate", 'Basic realm="Service"')])
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return Response(400, oauth_error(400, "Invalid request: content must be application/"
                                                   "x-www-form-urlencoded", "invalid_request"), JSON)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "password":
            return Response(400, oauth_error(400, "Unsupported grant type: `grant_type` is invalid",
                                              "unsupported_grant_type"), JSON)
        for field in ("username", "password"):
            if not form.get(field):
                return Response(400, oauth_error(400, "Missing parameter: `%s`" % field, "invalid_request"), JSON)
        outcome = self._login_attempt(form["username"], form["password"])
        if outcome == "locked":
            return Response(401, oauth_error(401, LOCKOUT_MESSAGE, "invalid_grant"), JSON)
        if outcome == "failed":
            return Response(401, oauth_error(401, "Invalid grant: user credentials are invalid", "invalid_grant"),
                             JSON)
        token = self._issue_token("android")
        now = self.clock()
        with self._lock:
            expires = self._tokens[token][1]
        return Response(200, dumps({"accessToken": token, "accessTokenExpiresAt": _iso_ms(expires),
                                     "refreshToken": secrets.token_urlsafe(32),
                                     "refreshTokenExpiresAt": _iso_ms(now + 14 * 86400),
                                     "user": {"id": self.user_guid}}), JSON)

    def _last_event_uploaded(self, query):
        sn = query.get("sn") or ""
        if not sn.isdigit():
            return Response(400, oauth_error(400, "Invalid request: `sn` must be a serial number",
                                              "invalid_request"), JSON)
        if int(sn) != int(self.serial):
            return Response(404, oauth_error(404, "No uploads found for serial number %s" % sn, "not_found"), JSON)
        if self.scenario is None:
            with self._lock:
                n = self.fixture_upload_sequence[min(self._upload_polls, len(self.fixture_upload_sequence) - 1)]
                self._upload_polls += 1
            return Response(200, self.fixtures.read("android/getlasteventuploaded_%d.json" % n), JSON)
        return Response(200, dumps({"maxPumpEventIndex": self.scenario.max_event_index(), "processingStatus": 1}),
                         JSON)

    def _user_id_ok(self, query):
        return (query.get("userId") or "").lower() == self.user_guid

    def _static_android(self, name, generated):
        body = self.fixtures and self.fixtures.read("android/%s" % name)
        return Response(200, body or dumps(generated), JSON)

    def _user_profile(self, query):
        if not self._user_id_ok(query):
            return Response(404, oauth_error(404, "User not found", "not_found"), JSON)
        return self._static_android("user_profile.json", user_profile(self.user_guid))

    def _patient_info(self, query):
        return self._static_android("patient_info.json", PATIENT_INFO)

    def _therapy_thresholds(self, query):
        if not self._user_id_ok(query):
            return Response(404, oauth_error(404, "User not found", "not_found"), JSON)
        return self._static_android("therapythresholds.json", THERAPY_THRESHOLDS)

    # ------------------------------------------------------------------ tconnectws2
