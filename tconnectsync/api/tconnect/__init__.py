"""The retired t:connect APIs (backend ``tconnect``): one client per Tandem API behind ``TConnectApi``."""
import time

from ...http import HttpClient
from ..common import LoginLimiter
from .android import AndroidApi
from .controliq import ControlIQApi
from .webui import WebLogin
from .ws2 import Ws2Api

__all__ = ["TConnectApi"]


class ControlIQAuth:
    """The ``AuthHook`` of the Control:IQ API: the website's token, or the Android app's when the
    website set none (since September 2024 it may set no token cookie)."""

    def __init__(self, web, android):
        self.web = web
        self.android = android

    def headers(self):
        if self.web.needs_login():
            self.web.login()
        if self.web.access_token:
            return {"Authorization": "Bearer %s" % self.web.access_token}
        if self.android.needs_login():
            self.android.login()
        return {"Authorization": "Bearer %s" % self.android.access_token}

    def relogin(self):
        if self.web.access_token:
            self.web.login()
        else:
            self.android.login()


class TConnectApi:
    """The legacy t:connect APIs, sharing one login per token lifetime.

    One ``HttpClient`` (one ``requests`` session) per Tandem host. Logins happen lazily, before
    the first call that needs them and again shortly before a token expires or after a 401.
    """

    def __init__(self, config, clock=time.time, sleep=time.sleep, limiter=None, attempts=4, backoff=1.0):
        timeout = (10, config.http_timeout)
        kw = dict(timeout=timeout, attempts=attempts, backoff=backoff, sleep=sleep)
        self.web_http = HttpClient("t:connect website", **kw)
        self.services_http = HttpClient("t:connect (tdcservices)", **kw)
        self.ws2_http = HttpClient("t:connect ws2", **kw)
        self.limiter = limiter or LoginLimiter(clock=clock)
        self.web = WebLogin(self.web_http, config.web_url, config.email, config.password, self.limiter, clock)
        self.android = AndroidApi(self.services_http, config.services_url, config.email, config.password,
                                  self.limiter, clock)
        self.controliq = ControlIQApi(self.services_http, config.services_url, config.web_url,
                                      ControlIQAuth(self.web, self.android), self._guid)
        self.ws2 = Ws2Api(self.ws2_http, config.ws2_url, self._guid)

    def __repr__(self):
        return "<TConnectApi>"

    def _guid(self):
        if self.web.needs_login():
            self.web.login()
        return self.web.user_guid

    def request_counts(self):
        return {"web": self.web_http.request_count, "services": self.services_http.request_count,
                "ws2": self.ws2_http.request_count}

    def close(self):
        for client in (self.web_http, self.services_http, self.ws2_http):
            client.close()
