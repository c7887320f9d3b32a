"""The t:connect Android app's cloud API (OAuth password grant) on tdcservices."""
import logging
import time

from ...errors import AccountLocked, BadCredentials, TandemError, TandemFormatError
from ...http import ANDROID_UA, StatusErrors, join_url
from ..common import relogin_at, send_login
from .common import PasswordLogin, parse_expiry

logger = logging.getLogger(__name__)

# The Android app's public OAuth client (published in the app and in older tools).
ANDROID_CLIENT_ID = "C2331CD6-D450-495E-9C19-67215230C85C"
ANDROID_CLIENT_SECRET = "tz433KW5QDC9V7f!z6@^2o&Y6SGGYh"
SCOPES = "cloud.account cloud.upload cloud.accepttcpp cloud.email cloud.password"
ERRORS = StatusErrors(default=lambda response, what: TandemError(
    "t:connect %s answered HTTP %d." % (what, response.status_code), response.status_code))


class AndroidApi(PasswordLogin):
    """The Android app's API; it is its own ``AuthHook`` (a bearer token from the password grant)."""

    def __init__(self, http, base_url, email, password, limiter, clock=time.time):
        super().__init__(http, base_url, email, password, limiter, clock)
        self.user_id = None

    def __repr__(self):
        return "<AndroidApi %s>" % ("logged in" if self.access_token else "not logged in")

    def needs_login(self):
        return not self.access_token or self.expires_at is None or self.clock() >= self.renew_at

    def login(self):
        response = send_login(self.http, self.limiter, "t:connect (Android API)", lambda: self.http.request(
            "POST", join_url(self.base_url, "cloud/oauth2/token"), retry=False,      # a credential POST
            data={"username": self.email, "password": self._password, "grant_type": "password", "scope": SCOPES},
            auth=(ANDROID_CLIENT_ID, ANDROID_CLIENT_SECRET),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", "User-Agent": ANDROID_UA}))
        if response.status_code in (400, 401, 403):
            text = response.text.lower()
            if "max attempted logins" in text:
                exc = AccountLocked("t:connect locked the account after too many logins; wait a few hours.")
            else:
                exc = BadCredentials("t:connect (Android API) refused the e-mail address or password: check "
                                     "TCONNECT_EMAIL and TCONNECT_PASSWORD.")
            self.limiter.refuse("t:connect (Android API)", exc)
            raise exc
        if response.status_code != 200:
            raise TandemError("The t:connect Android login answered HTTP %d." % response.status_code,
                              response.status_code)
        try:
            body = response.json()
            self.access_token = body["accessToken"]
        except (ValueError, KeyError, TypeError):
            raise TandemFormatError("The t:connect Android login answer has no accessToken field.") from None
        self.expires_at = parse_expiry(body.get("accessTokenExpiresAt")) or self.clock() + 3600
        self.renew_at = relogin_at(self.expires_at, self.clock())
        user = body.get("user") or {}
        self.user_id = user.get("id") if isinstance(user, dict) else None
        logger.info("Logged in to the t:connect Android API")

    # the AuthHook
    def headers(self):
        if self.needs_login():
            self.login()
        return {"Authorization": "Bearer %s" % self.access_token}

    def relogin(self):
        self.login()

    def get(self, path, params=None):
        """GET with the Android token (the choke point logs in again once on a 401)."""
        response = self.http.request("GET", join_url(self.base_url, path), params=params, auth_hook=self,
                                     errors=ERRORS, what=path.split("?")[0],
                                     headers={"User-Agent": ANDROID_UA, "Content-Type": "application/json"})
        try:
            return response.json()
        except ValueError:
            raise TandemFormatError("t:connect %s did not answer JSON." % path) from None

    def last_event_uploaded(self, serial):
        body = self.get("cloud/upload/getlasteventuploaded", params={"sn": serial})
        if not isinstance(body, dict) or "maxPumpEventIndex" not in body:
            raise TandemFormatError("getlasteventuploaded answered without maxPumpEventIndex.")
        return body["maxPumpEventIndex"]

    def user_profile(self):
        if self.needs_login():
            self.login()
        return self.get("cloud/usersettings/api/UserProfile", params={"userId": self.user_id})
