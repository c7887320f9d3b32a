"""Shared helpers for the parser tests: fixture paths and small CSV builders."""
import datetime as dt
import json

from tconnectsync import timeutil
from tests import data

FIXTURES = data.TCONNECT
MAIN = "window-2021-10-20_2021-10-21"
DST = "window-2021-11-06_2021-11-07-dst"
PRE_CIQ = "window-2020-01-14_2020-01-15-pre-ciq"
WINDOWS = [MAIN, DST, PRE_CIQ]

NEW_YORK = timeutil.get_zone("America/New_York")
BERLIN = timeutil.get_zone("Europe/Berlin")


def text(window, name):
    return (FIXTURES / window / name).read_text(encoding="utf-8")


def load(window, name):
    return json.loads(text(window, name))


def utc(value):
    """'2021-10-20T05:16:17Z' -> aware UTC datetime."""
    return timeutil.parse_iso_utc(value)


def z(instant):
    """Aware datetime -> '2021-10-20T05:16:17Z' (compact assertions)."""
    return instant.astimezone(timeutil.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if instant else None


REPORT_HEADER = ("Tandem Diabetes Care Inc.\nt:connect Therapy Timeline Data Export\n"
                 "Patient Name, Alex Sample\nPatient DOB, 1/1/1990\n"
                 "Report Generated On, 11/7/2021 11:40:12 PM")
READINGS_HEADER = "DeviceType,SerialNumber,Description,EventDateTime,Readings (CGM / BGM)"
IOB_HEADER = "Type,EventID,EventDateTime,IOB"
BASAL_HEADER = "Type,EventDateTime,BasalRate"
BOLUS_NAMES = [
    "Type", "Description", "BG", "IOB", "BolusRequestID", "BolusCompletionID",
    "CompletionDateTime", "InsulinDelivered", "FoodDelivered", "CorrectionDelivered",
    "CompletionStatusID", "CompletionStatusDesc", "BolusIsComplete", "BolexCompletionID",
    "BolexSize", "BolexStartDateTime", "BolexCompletionDateTime", "BolexInsulinDelivered",
    "BolexIOB", "BolexCompletionStatusID", "BolexCompletionStatusDesc", "ExtendedBolusIsComplete",
    "EventDateTime", "RequestDateTime", "BolusType", "BolusRequestOptions", "StandardPercent",
    "Duration", "CarbSize", "UserOverride", "TargetBG", "CorrectionFactor", "FoodBolusSize",
    "CorrectionBolusSize", "ActualTotalBolusRequested", "IsQuickBolus",
    "EventHistoryReportEventDesc", "EventHistoryReportDetails", "NoteID", "IndexID", "Note"]
BOLUS_HEADER = ",".join(BOLUS_NAMES)


def quoted(values, trailing_comma=False):
    line = ",".join('"%s"' % v for v in values)
    return line + ("," if trailing_comma else "")


def reading_row(time, value, description="EGV"):
    return quoted(["t:slim X2 Insulin Pump", "11111111", description, time, str(value)], True)


def iob_row(time, value, event_id="81"):
    return quoted(["IOB", event_id, time, value])


def basal_row(time, rate):
    return quoted(["Basal", time, rate])


def bolus_values(request_id="7001", time="2021-10-20T07:42:10", completion="2021-10-20T07:44:05",
                 **overrides):
    """The 43 values of a CSV bolus row (a completed 6.41 u Standard/Correction by default)."""
    row = {
        "Type": "Bolus", "Description": "Standard/Correction", "BG": "141", "IOB": "",
        "BolusRequestID": "%s.000" % request_id, "BolusCompletionID": "%s.000" % request_id,
        "CompletionDateTime": completion, "InsulinDelivered": "6.41", "FoodDelivered": "5.63",
        "CorrectionDelivered": "0.78", "CompletionStatusID": "3",
        "CompletionStatusDesc": "Completed", "BolusIsComplete": "1", "BolexCompletionID": "",
        "BolexSize": "", "BolexStartDateTime": "", "BolexCompletionDateTime": "",
        "BolexInsulinDelivered": "", "BolexIOB": "", "BolexCompletionStatusID": "",
        "BolexCompletionStatusDesc": "", "ExtendedBolusIsComplete": "", "EventDateTime": time,
        "RequestDateTime": time, "BolusType": "Carb", "BolusRequestOptions": "Standard/Correction",
        "StandardPercent": "100.00", "Duration": "0", "CarbSize": "45", "UserOverride": "0",
        "TargetBG": "110", "CorrectionFactor": "40.00", "FoodBolusSize": "5.63",
        "CorrectionBolusSize": "0.78", "ActualTotalBolusRequested": "6.41", "IsQuickBolus": "0",
    }
    unknown = set(overrides) - set(row)
    assert not unknown, unknown
    row.update(overrides)
    named = [row[name] for name in BOLUS_NAMES[:36]]
    return named + ["0", "Correction & Food Bolus", "CF 1:40 - Carb Ratio 1:8 - Target BG 110",
                    "0", "411867", ""]


def bolus_row(*args, **kwargs):
    return quoted(bolus_values(*args, **kwargs), trailing_comma=True)


def export(*sections, eol="\n"):
    """A CSV export: the report header block, then each section (a header line + row lines)."""
    blocks = [REPORT_HEADER] + ["\n".join(section) for section in sections]
    return eol.join("\n\n".join(blocks).split("\n")) + eol


def step(start, minutes, count):
    """``count`` naive ISO strings every ``minutes`` from ``start``."""
    first = dt.datetime.fromisoformat(start)
    return [(first + dt.timedelta(minutes=minutes * i)).isoformat() for i in range(count)]
