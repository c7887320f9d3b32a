"""The Control:IQ API and the therapy-events endpoint on tdcservices (bearer token)."""
import logging
import urllib.parse

from ...errors import NoData, TandemError, TandemFormatError
from ...http import BROWSER_UA, StatusErrors, join_url
from .common import tandem_date

logger = logging.getLogger(__name__)

ERRORS = StatusErrors(
    default=lambda response, what: TandemError("t:connect %s answered HTTP %d." % (what, response.status_code),
                                               response.status_code),
    by_status={403: lambda response, what: TandemError("t:connect %s answered HTTP 403 (Tandem's firewall)." % what,
                                                       403),
               404: lambda response, what: NoData(what)})


class ControlIQApi:
    """``auth`` is the ``AuthHook`` giving the bearer token; ``guid()`` returns the user GUID,
    logging in to the website as needed."""

    def __init__(self, http, base_url, web_url, auth, guid):
        self.http = http
        self.base_url = base_url
        self.origin = web_url.rstrip("/")
        self.auth = auth
        self.guid = guid

    def _get(self, path, query, what):
        # The query string is written by hand: Tandem's firewall answers 403 unless startDate
        # comes before endDate.
        url = join_url(self.base_url, path.format(guid=self.guid()))
        if query:
            url += "?" + "&".join("%s=%s" % (k, urllib.parse.quote(str(v), safe="-")) for k, v in query)
        response = self.http.request("GET", url, auth_hook=self.auth, errors=ERRORS, what=what, headers={
            "User-Agent": BROWSER_UA, "Origin": self.origin, "Referer": self.origin + "/",
            "Accept": "application/json"})
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

    def pump_features(self):
        """The account's pumps as Control:IQ knows them: ``[{"serialNumber", "features"}]``."""
        return self._get("tconnect/controliq/api/pumpfeatures/users/{guid}", [], "Control:IQ pumpfeatures")

    def therapy_events(self, start, end):
        return self._get("tconnect/therapyevents/api/TherapyEvents/%s/%s/false"
                         % (tandem_date(start), tandem_date(end)),
                         [("userId", self.guid())], "therapy events")
