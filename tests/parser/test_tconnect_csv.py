"""parse_therapytimeline_csv on constructed exports: layout variants and every malformed case."""
import pytest

from tconnectsync.errors import TandemFormatError
from tconnectsync.parser.tconnect import parse_therapytimeline_csv

from ._data import (BASAL_HEADER, BOLUS_HEADER, FIXTURES, IOB_HEADER, MAIN, NEW_YORK,
                    READINGS_HEADER, REPORT_HEADER, basal_row, bolus_row, export, iob_row, quoted,
                    reading_row, text, utc, z)


def parse(csv_text, tz=NEW_YORK):
    return parse_therapytimeline_csv(csv_text, tz)


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


def test_only_the_report_header_is_an_empty_export():
    result, warnings = parse(REPORT_HEADER + "\n")
    assert (result.readings, result.iob, result.basal) == ([], [], [])
    assert warnings == []


def test_header_only_sections_are_empty():
    result, warnings = parse(export([READINGS_HEADER], [IOB_HEADER], [BOLUS_HEADER]))
    assert (result.readings, result.iob, warnings) == ([], [], [])


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
    header = IOB_HEADER.replace(",", ", ")                    # 'Type, EventID, EventDateTime, IOB'
    result, warnings = parse(export([header, iob_row("2021-10-20T00:00:19", "1.25")]))
    assert warnings == [] and [v.iob for v in result.iob] == [1.25]


def test_quoted_values_with_commas():
    row = quoted(["Tandem, t:slim X2 Insulin Pump", "11111111", "EGV", "2021-10-20T00:02:33", "134"],
                 trailing_comma=True)
    result, warnings = parse(export([READINGS_HEADER, row]))
    assert warnings == [] and [(r.value, r.kind) for r in result.readings] == [(134, "EGV")]


def test_columns_are_mapped_by_header_name():
    header = "DeviceType,Description,SerialNumber,EventDateTime,Readings (CGM / BGM)"
    row = quoted(["t:slim X2 Insulin Pump", "EGV", "11111111", "2021-10-20T00:02:33", "134"], True)
    result, warnings = parse(export([header, row]))
    assert warnings == [] and [(r.value, r.kind) for r in result.readings] == [(134, "EGV")]


def test_section_without_header_row_uses_documented_order():
    result, warnings = parse(export([reading_row("2021-10-20T00:02:33", 134),
                                     reading_row("2021-10-20T00:07:33", 131)]))
    assert [(z(r.time), r.value) for r in result.readings] == [("2021-10-20T04:02:33Z", 134),
                                                              ("2021-10-20T04:07:33Z", 131)]
    assert len(warnings) == 1 and "unrecognised header" in warnings[0].reason


def test_unknown_block_is_reported_and_skipped():
    result, warnings = parse(export(["Foo,Bar", '"1","2"'],
                                    [READINGS_HEADER, reading_row("2021-10-20T00:02:33", 134)]))
    assert len(result.readings) == 1
    assert len(warnings) == 1 and "Foo,Bar" in warnings[0].record


# --- the bolus section: recognised, not read (boluses come from the therapy-events JSON) --------

@pytest.mark.parametrize("rows", [
    [BOLUS_HEADER, bolus_row()],
    [BOLUS_HEADER, bolus_row(InsulinDelivered="abc"), ",".join(bolus_row().split(",")[:12])],
    [bolus_row()],                                            # no header row
], ids=["good", "malformed", "headerless"])
def test_bolus_section_is_not_read(rows):
    result, warnings = parse(export([READINGS_HEADER, reading_row("2021-10-20T00:02:33", 134)],
                                    rows))
    assert warnings == [] and [r.value for r in result.readings] == [134]
    assert not hasattr(result, "boluses")


# --- malformed input: a warning naming the record, the rest kept --------------------------------

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
