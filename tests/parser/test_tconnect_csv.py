"""parse_therapytimeline_csv on constructed exports: layout variants and every malformed case."""
import pytest

from tconnectsync.errors import TandemFormatError
from tconnectsync.parser.tconnect import parse_therapytimeline_csv

from ._data import (BASAL_HEADER, BOLUS_HEADER, FIXTURES, IOB_HEADER, MAIN, NEW_YORK,
                    READINGS_HEADER, REPORT_HEADER, basal_row, bolus_row, bolus_values, export,
                    iob_row, quoted, reading_row, text, utc, z)


def parse(csv_text, tz=NEW_YORK):
    return parse_therapytimeline_csv(csv_text, tz)


def one_bolus(**overrides):
    result, warnings = parse(export([BOLUS_HEADER, bolus_row(**overrides)]))
    assert warnings == []
    [bolus] = result.boluses
    return bolus


# --- layout -----------------------------------------------------------------------------------

def test_single_row_sections_are_parsed():
    """Upstream dropped any section with one data row (docs/tconnect.md §12); we do not."""
    result, warnings = parse(export(
        [READINGS_HEADER, reading_row("2021-10-20T00:02:33", 134)],
        [IOB_HEADER, iob_row("2021-10-20T00:00:19", "0.00")],
        [BASAL_HEADER, basal_row("2021-10-20T00:00:00", "0.800")],
        [BOLUS_HEADER, bolus_row()]))
    assert warnings == []
    assert [(z(r.time), r.value, r.kind) for r in result.readings] == [
        ("2021-10-20T04:02:33Z", 134, "EGV")]
    assert [(z(v.time), v.iob) for v in result.iob] == [("2021-10-20T04:00:19Z", 0.0)]
    assert [(z(b.time), b.rate) for b in result.basal] == [("2021-10-20T04:00:00Z", 0.8)]
    [bolus] = result.boluses
    assert (bolus.request_id, z(bolus.request_time), bolus.delivered) == (
        "7001", "2021-10-20T11:42:10Z", 6.41)


def test_only_the_report_header_is_an_empty_export():
    result, warnings = parse(REPORT_HEADER + "\n")
    assert (result.readings, result.iob, result.basal, result.boluses) == ([], [], [], [])
    assert warnings == []


def test_header_only_sections_are_empty():
    result, warnings = parse(export([READINGS_HEADER], [IOB_HEADER], [BOLUS_HEADER]))
    assert (result.readings, result.iob, result.boluses, warnings) == ([], [], [], [])


def test_crlf_stray_whitespace_and_section_order_do_not_matter():
    original = text(MAIN, "ws2_therapytimeline2csv.csv")
    blocks = original.strip("\n").split("\n\n")
    shuffled = [blocks[0]] + blocks[:0:-1]                    # bolus, IOB, readings
    mangled = "\r\n  \r\n".join(b.replace("\n", "  \r\n") for b in shuffled) + "\r\n"
    assert parse(mangled) == parse(original)


def test_bom_and_bytes_are_accepted():
    original = text(MAIN, "ws2_therapytimeline2csv.csv")
    assert parse(("\ufeff" + original).encode("utf-8")) == parse(original)


def test_header_names_with_spaces():
    header = BOLUS_HEADER.replace(",", ", ")                  # 'Type, Description, BG, ...'
    result, warnings = parse(export([header, bolus_row()]))
    assert warnings == [] and result.boluses[0].request_id == "7001"


def test_quoted_values_with_commas():
    values = bolus_values(Description="Standard/Correction")
    values[37] = "CF 1:40, Carb Ratio 1:8 | Override: Pump calculated Bolus = 5.5 units"
    result, warnings = parse(export([BOLUS_HEADER, quoted(values, trailing_comma=True)]))
    assert warnings == [] and result.boluses[0].delivered == 6.41


def test_columns_are_mapped_by_header_name():
    header = "DeviceType,Description,SerialNumber,EventDateTime,Readings (CGM / BGM)"
    row = quoted(["t:slim X2 Insulin Pump", "EGV", "11111111", "2021-10-20T00:02:33", "134"], True)
    result, warnings = parse(export([header, row]))
    assert warnings == [] and [(r.value, r.kind) for r in result.readings] == [(134, "EGV")]


def test_section_without_header_row_uses_documented_order():
    result, warnings = parse(export([bolus_row(), bolus_row("7002", "2021-10-20T12:15:33",
                                                            "2021-10-20T12:17:41")]))
    assert [b.request_id for b in result.boluses] == ["7001", "7002"]
    assert len(warnings) == 1 and "unrecognised header" in warnings[0].reason


def test_unknown_block_is_reported_and_skipped():
    result, warnings = parse(export(["Foo,Bar", '"1","2"'],
                                    [READINGS_HEADER, reading_row("2021-10-20T00:02:33", 134)]))
    assert len(result.readings) == 1
    assert len(warnings) == 1 and "Foo,Bar" in warnings[0].record


# --- bolus fields -----------------------------------------------------------------------------

def test_bolus_request_id_and_shifted_columns():
    bolus = one_bolus(BolusRequestID="7001.000")
    assert bolus.request_id == "7001"
    assert (bolus.carbs, bolus.bg, bolus.total_requested, bolus.standard_percent) == (
        45, 141, 6.41, 100.0)


def test_empty_bg_and_bolex_fields_are_none_never_zero():
    bolus = one_bolus(BG="", Description="Automatic Bolus/Correction",
                      BolusRequestOptions="Automatic Bolus/Correction")
    assert bolus.bg is None and bolus.automatic
    assert (bolus.extended_requested, bolus.extended_delivered, bolus.extended_start,
            bolus.extended_end, bolus.extended_status, bolus.extended_complete) == (None,) * 6


def test_automatic_from_description_or_options():
    assert one_bolus(Description="Automatic Bolus/Correction").automatic
    assert one_bolus(BolusRequestOptions="Automatic Bolus/Correction").automatic
    assert not one_bolus().automatic


def test_request_time_falls_back_to_event_time():
    bolus = one_bolus(RequestDateTime="")
    assert z(bolus.request_time) == "2021-10-20T11:42:10Z"


def test_extended_bolus_in_progress():
    bolus = one_bolus(Description="Extended 50.00%/0.00", BolusRequestOptions="Extended",
                      BolexCompletionID="0", BolexSize="2.00",
                      BolexStartDateTime="2021-10-20T07:44:05", BolexIOB="0",
                      BolexCompletionStatusID="0", ExtendedBolusIsComplete="0", Duration="60",
                      StandardPercent="50.00")
    assert bolus.extended and bolus.extended_complete is False
    assert (bolus.extended_requested, z(bolus.extended_start)) == (2.0, "2021-10-20T11:44:05Z")
    assert (bolus.extended_end, bolus.extended_delivered, bolus.extended_status) == (None,) * 3
    assert (bolus.duration_min, bolus.standard_percent) == (60.0, 50.0)


def test_extended_bolus_complete():
    bolus = one_bolus(Description="extended 50.00%/0.00", BolexSize="2.00",
                      BolexStartDateTime="2021-10-20T07:44:05",
                      BolexCompletionDateTime="2021-10-20T08:44:05", BolexInsulinDelivered="1.50",
                      BolexCompletionStatusDesc="User Aborted", ExtendedBolusIsComplete="1")
    assert bolus.extended and bolus.extended_complete
    assert (z(bolus.extended_end), bolus.extended_delivered, bolus.extended_status) == (
        "2021-10-20T12:44:05Z", 1.5, "User Aborted")


def test_partial_and_aborted_boluses_are_kept():
    aborted = one_bolus(InsulinDelivered="0.00", CompletionStatusDesc="User Aborted",
                        BolusIsComplete="0", ActualTotalBolusRequested="0.50")
    assert (aborted.delivered, aborted.status, aborted.complete, aborted.total_requested) == (
        0.0, "User Aborted", False, 0.5)
    partial = one_bolus(InsulinDelivered="1.45", CompletionStatusDesc="Terminated by Alarm",
                        BolusIsComplete="0", ActualTotalBolusRequested="3.00")
    assert (partial.delivered, partial.status, partial.complete) == (1.45, "Terminated by Alarm",
                                                                     False)


def test_no_completion_time_yet():
    bolus = one_bolus(CompletionDateTime="", CompletionStatusDesc="", BolusIsComplete="0")
    assert (bolus.completion_time, bolus.status, bolus.complete) == (None, "", False)


# --- malformed input: a warning naming the record, the rest kept --------------------------------

MALFORMED_BOLUS = [   # (overrides, words expected in the warning's reason)
    (dict(InsulinDelivered="abc"), "InsulinDelivered"),
    (dict(InsulinDelivered=""), "InsulinDelivered"),
    (dict(ActualTotalBolusRequested="nan"), "ActualTotalBolusRequested"),
    (dict(CarbSize="12.5"), "CarbSize"),
    (dict(BG="high"), "BG"),
    (dict(BolexSize="x"), "BolexSize"),
    (dict(RequestDateTime="yesterday"), "RequestDateTime"),
    (dict(RequestDateTime="", EventDateTime=""), "EventDateTime"),
    (dict(CompletionDateTime="2021-10-20T25:00:00"), "CompletionDateTime"),
    (dict(CompletionDateTime="2021-10-20T07:44:05+02:00"), "CompletionDateTime"),
    (dict(BolexStartDateTime="2021-02-30T00:00:00"), "BolexStartDateTime"),
    (dict(Duration="sixty"), "Duration"),
    (dict(BolusIsComplete="yes"), "BolusIsComplete"),
]


@pytest.mark.parametrize("overrides, field", MALFORMED_BOLUS,
                         ids=[f for _, f in MALFORMED_BOLUS])
def test_malformed_bolus_row(overrides, field):
    good = bolus_row("7002", "2021-10-20T12:15:33", "2021-10-20T12:17:41")
    bad = bolus_row("7001", **overrides)
    result, warnings = parse(export([BOLUS_HEADER, bad, good]))
    assert [b.request_id for b in result.boluses] == ["7002"]
    [warning] = warnings
    assert "bolus section" in warning.source and field in warning.reason
    assert "7001" in warning.record and "line 8" in warning.record


def test_malformed_bolus_request_id():
    result, warnings = parse(export([BOLUS_HEADER, bolus_row(BolusRequestID="abc")]))
    assert result.boluses == [] and "BolusRequestID" in warnings[0].reason
    assert "RequestDateTime 2021-10-20T07:42:10" in warnings[0].record


def test_truncated_bolus_row():
    truncated = ",".join(bolus_row().split(",")[:12])
    result, warnings = parse(export([BOLUS_HEADER, truncated, bolus_row("7002")]))
    assert [b.request_id for b in result.boluses] == ["7002"]
    [warning] = warnings
    assert "7001.000" in warning.record and "12 values, expected 41" in warning.reason


def test_truncated_reading_row_with_open_quote():
    rows = [reading_row("2021-10-20T00:02:33", 134),
            '"t:slim X2 Insulin Pump","11111111","EGV","2021-10-20T00:0',
            reading_row("2021-10-20T00:12:33", 130)]
    result, warnings = parse(export([READINGS_HEADER] + rows))
    assert [r.value for r in result.readings] == [134, 130]
    [warning] = warnings
    assert "readings section" in warning.source and "line 9" in warning.record


MALFORMED_ROWS = [   # (section, bad row, words in the record, words in the reason)
    (READINGS_HEADER, reading_row("2021-13-45T00:00:00", 120), "2021-13-45", "EventDateTime"),
    (READINGS_HEADER, reading_row("2021-10-20T00:07:33", "abc"), "00:07:33", "Readings"),
    (READINGS_HEADER, reading_row("2021-10-20T00:07:33", ""), "00:07:33", "Readings"),
    (READINGS_HEADER, reading_row("2021-10-20T00:07:33", 120, "Calibration"), "00:07:33",
     "Description"),
    (IOB_HEADER, iob_row("2021-10-20T00:05:19", "1,5"), "00:05:19", "IOB '1,5'"),
    (IOB_HEADER, iob_row("2021-10-20T00:05:19", "inf"), "00:05:19", "IOB"),
    (IOB_HEADER, iob_row("", "1.00"), "line 9", "EventDateTime"),
    (BASAL_HEADER, basal_row("2021-10-20T06:00:00", "fast"), "06:00:00", "BasalRate"),
    (BASAL_HEADER, '"Basal","2021-10-20T06:00:00"', "line 9", "2 values, expected 3"),
]


@pytest.mark.parametrize("header, bad, record, reason", MALFORMED_ROWS)
def test_malformed_row(header, bad, record, reason):
    good = {READINGS_HEADER: reading_row("2021-10-20T00:02:33", 134),
            IOB_HEADER: iob_row("2021-10-20T00:00:19", "0.50"),
            BASAL_HEADER: basal_row("2021-10-20T00:00:00", "0.800")}[header]
    result, warnings = parse(export([header, good, bad]))
    assert len(result.readings) + len(result.iob) + len(result.basal) == 1
    [warning] = warnings
    assert record in warning.record and reason in warning.reason, warning


@pytest.mark.parametrize("body", [
    (FIXTURES / "web" / "waf_blocked.html").read_text(encoding="utf-8"),
    "<html><body><h1>500 Internal Server Error</h1></body></html>",
    '{"message": "An error has occurred."}',
    "",
    "   \n\n",
    "Some,Other\n1,2\n",
])
def test_not_a_tandem_export(body):
    with pytest.raises(TandemFormatError, match="therapytimeline2csv"):
        parse(body)


def test_not_text():
    with pytest.raises(TandemFormatError):
        parse(None)


def test_warnings_render_as_one_line():
    _, warnings = parse(export([IOB_HEADER, iob_row("2021-10-20T00:05:19", "x")]))
    assert str(warnings[0]).startswith("ws2 therapytimeline2csv (IOB section): skipped line 8")
    assert "\n" not in str(warnings[0])


def test_one_bad_row_does_not_shift_the_others():
    rows = [reading_row(t, v) for t, v in [("2021-10-20T00:02:33", 134),
                                           ("2021-10-20T00:07:33", "x"),
                                           ("2021-10-20T00:12:33", 130)]]
    result, _ = parse(export([READINGS_HEADER] + rows))
    assert [(z(r.time), r.value) for r in result.readings] == [("2021-10-20T04:02:33Z", 134),
                                                              ("2021-10-20T04:12:33Z", 130)]
    assert result.readings[0].time == utc("2021-10-20T04:02:33Z")
