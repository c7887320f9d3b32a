"""The Control:IQ API and the therapy-events endpoint on tdcservices (bearer token)."""
import logging
import urllib.parse

from ..errors import TandemError, TandemFormatError
from ..http import join_url
from .common import BROWSER_UA, tandem_date

logger = logging.getLogger(__name__)


class NoData(Exception):
    """Tandem answered 404: it has no data of this kind for the window (e.g. before Control-IQ)."""


class ControlIQApi:
    """Needs a token provider: ``tokens()`` returns (user_guid, bearer) after logging in as
    needed, ``refresh()`` logs in again after a 401."""

    def __init__(self, http, base_url, web_url, tokens, refresh):
        self.http = http
        self.base_url = base_url
        self.origin = web_url.rstrip("/")
        self.tokens = tokens
        self.refresh = refresh

    def _get(self, path, query, what):
        # The query string is written by hand: Tandem's firewall answers 403 unless startDate
        # comes before endDate.
        for attempt in (0, 1):
            guid, token = self.tokens()
            url = join_url(self.base_url, path.format(guid=guid))
            if query:
                url += "?" + "&".join("%s=%s" % (k, urllib.parse.quote(str(v), safe="-")) for k, v in query)
            response = self.http.request("GET", url, headers={
                "Authorization": "Bearer %s" % token, "User-Agent": BROWSER_UA,
                "Origin": self.origin, "Referer": self.origin + "/", "Accept": "application/json"})
            if response.status_code == 401 and attempt == 0:
                logger.info("t:connect token refused (HTTP 401) by %s; logging in again", what)
                self.refresh()
                continue
            if response.status_code == 404:
                raise NoData(what)
            if response.status_code != 200:
                hint = " (Tandem's firewall)" if response.status_code == 403 else ""
                raise TandemError("t:connect %s answered HTTP %d%s." % (what, response.status_code, hint),
                                  response.status_code)
            try:
                return response.json()
            except ValueError:
                raise TandemFormatError("t:connect %s did not answer JSON." % what) from None

    def therapy_timeline(self, start, end):
        return self._get("tconnect/controliq/api/therapytimeline/users/{guid}",
                         [("startDate", tandem_date(start)), ("endDate", tandem_date(end))],
                         "Control:IQ therapytimeline")

    def summary(self, start, end):
        return self._get("tconnect/controliq/api/summary/users/{guid}",
                         [("startDate", tandem_date(start)), ("endDate", tandem_date(end))],
                         "Control:IQ summary")

    def therapy_events(self, start, end):
        guid, _ = self.tokens()
        return self._get("tconnect/therapyevents/api/TherapyEvents/%s/%s/false"
                         % (tandem_date(start), tandem_date(end)),
                         [("userId", guid)], "therapy events")
