"""tconnectws2: the therapy timeline CSV export and the basalsuspension / basaliqtech JSONP.
Mixed into ``TandemLegacySandbox``."""
import datetime as dt
import json
import re

from .. import clock
from ..httpserver import Response
from ..scenario import therapy
from .render import _csv_header, _format_report_time, render_basalsuspension, render_csv
from .wire import JSON, JSONP, TEXT, WS2_TIMEOUT_PAGE, dumps, parse_mdy


class Ws2Host:
    def _route_ws2(self, method, path, raw_query, query, headers, body):
        m = re.fullmatch(r"/(therapytimeline2csv|basalsuspension|basaliqtech)/([^/]+)/([^/]+)/([^/]+)"
                         r"(/filterbasal/1)?/?", path, re.I)
        if not m or (m.group(5) and m.group(1).lower() != "basalsuspension"):
            return Response(404, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>"
                                  "</body></html>")
        if method != "GET":
            return Response(405, "<html><body><h1>405 Method Not Allowed</h1></body></html>")
        endpoint, guid = m.group(1).lower(), m.group(2)
        start, end = parse_mdy(m.group(3)), parse_mdy(m.group(4))
        if start is None or end is None or end < start:
            return Response(400, "Bad Request: dates must be MM-DD-YYYY, end not before start", TEXT)
        known_user = guid.lower() == self.user_guid
        sc = self.scenario if known_user else None
        if endpoint == "therapytimeline2csv":
            if query.get("format") != "csv":
                return Response(400, "Bad Request: unsupported format (use format=csv)", TEXT)
            if self.max_ws2_days is not None and (end - start).days + 1 > self.max_ws2_days:
                return Response(500, WS2_TIMEOUT_PAGE)
            if known_user and self.fixtures is not None:
                known, data = self.fixtures.window_file(start, end, "ws2_therapytimeline2csv.csv")
                if known and data is not None:
                    return Response(200, data, TEXT)
            if sc is None:      # no data (or an unknown user): the report header alone
                now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
                generated = _format_report_time(now.astimezone(clock.zone("America/New_York")))
                name, dob = (therapy.PATIENT_NAME, therapy.PATIENT_DOB) if known_user else ("", None)
                return Response(200, "\n".join(_csv_header(name, dob, generated)) + "\n", TEXT)
            return Response(200, render_csv(sc, sc.window(start, end)), TEXT)
        callback = query.get("callback")
        if endpoint == "basaliqtech":
            fixture_name, payload = "ws2_basaliqtech.jsonp", {"BasalIQTech": []}
        else:
            filterbasal = bool(m.group(5))
            fixture_name = "ws2_basalsuspension_filterbasal.jsonp" if filterbasal else "ws2_basalsuspension.jsonp"
            payload = ({"BasalSuspension": []} if sc is None
                       else render_basalsuspension(sc, sc.window(start, end), filterbasal))
        if known_user and self.fixtures is not None:
            known, data = self.fixtures.window_file(start, end, fixture_name)
            if known and data is not None:
                if callback == "cb":
                    return Response(200, data, JSONP)
                payload = json.loads(data.decode("utf-8").strip()[3:-1])
        text = dumps(payload)
        if callback:
            return Response(200, "%s(%s)" % (callback, text), JSONP)
        return Response(200, text, JSON)
