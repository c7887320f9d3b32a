"""The Source site: the data API under ``api/reports/bff/`` (pumper, pump-logs) and the EU
login callback. Mixed into ``TandemSourceSandbox``."""
import datetime as dt
import hashlib
import json
import os
import re
import secrets
from urllib.parse import parse_qsl

from ..httpserver import Response
from ..scenario import therapy
from .events import CGM_HIGH, CGM_LOW
from .wire import (CALLBACK_PAGE, FIXTURE_DAY, HTML, JSON, NOT_FOUND, PUMP_LOGS_KEYS, SOURCE_PAGE, WAF_BLOCKED,
                   _parse_bound, dumps, zod_error)


class SourceHost:
    def _route_source(self, method, path, raw_query, query, headers, body):
        if path == "/authorize/callback" and method == "GET":
            return Response(200, CALLBACK_PAGE, HTML)
        if not path.startswith("/api/"):
            if method == "GET" and path == "/":
                return Response(200, SOURCE_PAGE, HTML)
            return Response(404, "<html><body><h1>404 Not Found</h1></body></html>", HTML)
        # the firewall in front of the API: Origin and Referer must be the Source site
        referer = headers.get("Referer") or ""
        if headers.get("Origin") != self.source_origin or not referer.startswith(self.source_url):
            return Response(403, WAF_BLOCKED % secrets.token_hex(10), HTML)
        pumper, denied = self._bearer(headers)
        if denied:
            return denied
        if method != "GET":
            return Response(405, dumps({"statusCode": 405, "message": "Method Not Allowed"}), JSON)
        m = re.fullmatch(r"/api/reports/bff/pumper/([^/]+)/?", path)
        if m:
            if m.group(1) != pumper:
                return Response(404, dumps(NOT_FOUND), JSON)
            return self._pumper()
        m = re.fullmatch(r"/api/reports/bff/pump-logs/([^/]+)/?", path)
        if m:
            return self._pump_logs(m.group(1), pumper, raw_query)
        return Response(404, dumps(NOT_FOUND), JSON)      # includes the retired reportsfacade endpoints

    def _pumper(self):
        if self.fixtures_dir:
            with open(os.path.join(self.fixtures_dir, "bff-pumper-response.json"), "rb") as f:
                return Response(200, f.read(), JSON)
        first, _, last = therapy.PATIENT_NAME.partition(" ")
        return Response(200, dumps({
            "firstName": first, "lastName": last, "name": therapy.PATIENT_NAME,
            "dateOfBirth": therapy.PATIENT_DOB.isoformat(), "lowGlucoseThreshold": 70, "highGlucoseThreshold": 180,
            "country": "US" if self.region == "US" else "DE",
            "pumps": [pumper_entry(p) for p in self.pumps]}), JSON)

    def _pump_logs(self, assignment_id, pumper, raw_query):
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        unknown = sorted({k for k, _ in pairs if k not in PUMP_LOGS_KEYS})
        if unknown:
            return Response(400, zod_error({"code": "unrecognized_keys", "keys": unknown, "path": [],
                                             "message": "Unrecognized key(s) in object: %s"
                                             % ", ".join("'%s'" % k for k in unknown)}), JSON)
        query = dict(pairs)
        issues = []
        for key in ("pumperId", "startDate", "endDate"):
            if key not in query:
                issues.append({"code": "invalid_type", "expected": "string", "received": "undefined",
                               "path": [key], "message": "Required"})
        start, end = _parse_bound(query.get("startDate")), _parse_bound(query.get("endDate"))
        for key, value in (("startDate", start), ("endDate", end)):
            if key in query and value is None:
                issues.append({"code": "invalid_string", "validation": "datetime", "path": [key],
                               "message": "Invalid datetime"})
        codes = None
        if query.get("eventCodes"):
            try:
                codes = {int(c) for c in query["eventCodes"].split(",")}
            except ValueError:
                issues.append({"code": "invalid_string", "validation": "regex", "path": ["eventCodes"],
                               "message": "Invalid"})
        if not issues and end < start:
            issues.append({"code": "custom", "path": ["endDate"], "message": "endDate must not be before startDate"})
        if not issues and (end.date() - start.date()).days + 1 > self.max_window_days:
            issues.append({"code": "custom", "path": ["endDate"],
                           "message": "Date range must not exceed %d days" % self.max_window_days})
        if issues:
            return Response(400, zod_error(*issues), JSON)
        if query["pumperId"] != pumper:
            return Response(404, dumps(NOT_FOUND), JSON)
        if self.fixtures_dir:
            return self._fixture_logs(assignment_id, start, end)
        pump = next((p for p in self.pumps if p.assignment_id == assignment_id), None)
        if pump is None:
            return Response(404, dumps(NOT_FOUND), JSON)
        slop = dt.timedelta(seconds=self.window_overlap_s)
        events = pump.log.events(start - slop, end + slop, codes)
        with self._lock:
            damaged = dict(self._damaged)
        events = [dict(e, eventProperties=dict(e["eventProperties"], **damaged[e["sequenceNumber"]]))
                  if e["sequenceNumber"] in damaged else e for e in events]
        return Response(200, dumps({"events": events, "clockChanges": pump.log.clock_changes()}), JSON)

    def _fixture_logs(self, assignment_id, start, end):
        with open(os.path.join(self.fixtures_dir, "bff-pump-logs-response.json"), "rb") as f:
            raw = f.read()
        data = json.loads(raw.decode("utf-8"))
        known = {e["deviceAssignmentId"] for e in data["events"]}
        if assignment_id not in known:
            return Response(404, dumps(NOT_FOUND), JSON)
        day_start = dt.datetime.combine(FIXTURE_DAY, dt.time())
        if start <= day_start and end >= day_start + dt.timedelta(seconds=86399):
            return Response(200, raw, JSON)             # the whole day: the file verbatim
        lo, hi = start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")
        events = [e for e in data["events"] if lo <= e["pumpDateTime"] <= hi]
        return Response(200, dumps({"events": events, "clockChanges": data["clockChanges"]}), JSON)


def pumper_entry(pump):
    """One ``pumps[]`` entry of the pumper answer (docs/tandem-source.md §5.1) for a sandbox pump."""
    sc, model = pump.scenario, pump.log.model
    newest, oldest = pump.log.newest_event(), pump.log.oldest_event()
    last = newest["pumpDateTime"] if newest else None
    segments = []
    for sod, rate in sc.profile:
        segments.append({"startTime": sod // 60, "basalRate": int(round(rate * 1000)), "isf": therapy.CF,
                         "carbRatio": therapy.CR * 1000, "targetBg": therapy.TARGET})
    details = {"profiles": {"activeIdp": 1, "profile": [
        {"name": "Default", "idp": 1, "timeDependentSegments": segments, "insulinDuration": 300,
         "carbEntry": "UnitsAsCarbs", "maxBolus": 25000}]},
        "cgmSettings": {"highGlucoseAlertMgPerDl": CGM_HIGH, "lowGlucoseAlertMgPerDl": CGM_LOW}}
    tail = pump.assignment_id[-12:]
    settings = None if last is None else {
        "id": "5e771125-0000-4000-8000-%s" % tail, "deviceAssignmentId": pump.assignment_id,
        "uploadedTimeStamp": last, "settingsHash": hashlib.sha256(dumps(details).encode()).hexdigest(),
        "uploadId": "0ad10ad1-0000-4000-8000-%s" % tail, "details": details}
    return {
        "assignmentId": pump.assignment_id, "serialNumber": pump.serial, "modelNumber": model.model_number,
        "modelName": model.model_name, "softwareVersion": model.software_version, "partNumber": model.part_number,
        "availableDataRange": {"start": oldest["pumpDateTime"] if oldest and last else None, "end": last},
        "glucoseUnit": "mg/dL", "lastUploadDate": last, "maxDateOfEvents": last,
        "lastUploadClientType": ("Mobile" if model.phone_boluses else "Desktop") if last else None,
        "settings": settings,
    }
