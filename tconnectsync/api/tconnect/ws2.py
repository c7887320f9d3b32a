"""tconnectws2: the legacy website backend (CSV export and JSONP), addressed by user GUID."""
import logging

from ...errors import TandemError
from ...http import BROWSER_UA, StatusErrors, join_url
from .common import tandem_date

logger = logging.getLogger(__name__)

ERRORS = StatusErrors(default=lambda response, what: TandemError(
    "t:connect ws2 %s answered HTTP %d." % (what, response.status_code), response.status_code))


class Ws2Api:
    def __init__(self, http, base_url, guid):
        self.http = http
        self.base_url = base_url
        self.guid = guid             # callable returning the user GUID (logs in as needed)

    def _get(self, path, what):
        return self.http.request("GET", join_url(self.base_url, path), headers={"User-Agent": BROWSER_UA},
                                 errors=ERRORS, what=what).text

    def therapy_timeline_csv(self, start, end):
        return self._get("therapytimeline2csv/%s/%s/%s?format=csv" % (self.guid(), tandem_date(start), tandem_date(end)),
                         "therapytimeline2csv")

    def basal_suspension(self, start, end):
        return self._get("basalsuspension/%s/%s/%s/?callback=cb" % (self.guid(), tandem_date(start), tandem_date(end)),
                         "basalsuspension")

    def basaliq_tech(self, start, end):
        return self._get("basaliqtech/%s/%s/%s?callback=cb" % (self.guid(), tandem_date(start), tandem_date(end)),
                         "basaliqtech")
