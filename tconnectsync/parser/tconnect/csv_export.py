"""ws2 ``therapytimeline2csv`` export -> readings, IOB values and basal rates.

The export's bolus section is recognised and not read: boluses come from the therapy-events JSON
(``events``), which orders them unambiguously even in the repeated hour of a fall-back night.
"""
import csv
import re

from ... import timeutil
from ...errors import TandemFormatError
from ..records import CsvBasalRate, CsvExport, IobValue, ParseWarning, Reading
from .common import CSV, _Bad, _excerpt, _integer, _naive, _number

# Column orders documented in docs/tconnect.md §5.1, used only when a block's header row is unrecognised.
READING_COLUMNS = ["DeviceType", "SerialNumber", "Description", "EventDateTime",
                   "Readings (CGM / BGM)"]
IOB_COLUMNS = ["Type", "EventID", "EventDateTime", "IOB"]
BASAL_COLUMNS = ["Type", "EventDateTime", "BasalRate"]
DEFAULT_COLUMNS = {"readings": READING_COLUMNS, "IOB": IOB_COLUMNS, "basal": BASAL_COLUMNS}
UNREAD_SECTIONS = ("bolus",)             # known, not read (boluses: therapy-events JSON)


def _section_of_header(names):
    if not names:
        return None
    if names[0] == "DeviceType":
        return "readings"
    if names[0] == "Type":
        if "BolusRequestID" in names or names[1:3] == ["Description", "BG"]:
            return "bolus"
        if "BasalRate" in names:
            return "basal"
        if "IOB" in names:
            return "IOB"
    return None


def _section_of_row(values):
    first = values[0].strip() if values else ""
    if first in ("Bolus", "Basal", "IOB"):
        return first.lower() if first != "IOB" else "IOB"
    if "Insulin Pump" in first or (len(values) > 2 and values[2].strip() in ("EGV", "BG")):
        return "readings"
    return None


def _split_blocks(text):
    """Blocks of (line number, values) rows, split at blank lines; csv handles the quoting."""
    blocks, block = [], []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line.strip():
            if block:
                blocks.append(block)
            block = []
            continue
        try:
            values = next(csv.reader([line], skipinitialspace=True))
        except (csv.Error, StopIteration):
            values = [line]
        block.append((number, [v.strip() for v in values]))
    if block:
        blocks.append(block)
    return blocks


def _csv_rows(kind, block, warnings):
    """Rows of one section as (line, dict by column name), dropping rows too short to map."""
    names = block[0][1]
    rows = block[1:]
    if _section_of_header(names) != kind:
        # no recognisable header: map by the documented order (the first line may be data)
        if _section_of_row(names) == kind:
            rows = block
        warnings.append(ParseWarning("%s (%s section)" % (CSV, kind), "header line %d %s"
                                     % (block[0][0], _excerpt(",".join(block[0][1]))),
                                     "unrecognised header; columns taken in the documented order"))
        names = DEFAULT_COLUMNS[kind]
    out = []
    for number, values in rows:
        if len(values) < len(names):
            warnings.append(ParseWarning("%s (%s section)" % (CSV, kind), "line %d %s"
                                         % (number, _excerpt(",".join(values))),
                                         "%d values, expected %d" % (len(values), len(names))))
            continue
        row = {}
        for name, value in zip(names, values):
            row.setdefault(name, value)
        out.append((number, row))
    return out


def _row_name(number, row, *keys):
    shown = ", ".join("%s %s" % (k, row[k]) for k in keys if row.get(k))
    return "line %d (%s)" % (number, shown) if shown else "line %d" % number


def _reading_value(row):
    for name, value in row.items():
        if name.startswith("Readings"):
            return value
    raise _Bad("no Readings column")


def _timed_rows(kind, rows, build, tz, warnings):
    """Records from (line, row) pairs whose EventDateTime is localized in file order."""
    source = "%s (%s section)" % (CSV, kind)
    ready = []
    for number, row in rows:
        try:
            ready.append((_naive(row.get("EventDateTime"), "EventDateTime"), build(row)))
        except _Bad as err:
            warnings.append(ParseWarning(source, _row_name(number, row, "EventDateTime"), str(err)))
    instants = timeutil.localize_sequence([naive for naive, _ in ready], tz)
    return [make(instant) for instant, (_, make) in zip(instants, ready)]


def _reading(row):
    kind = row.get("Description")
    if kind not in ("EGV", "BG"):
        raise _Bad("Description %r is neither EGV nor BG" % kind)
    value = _integer(_reading_value(row), "Readings (CGM / BGM)")
    return lambda t: Reading(time=t, value=value, kind=kind)


def _iob(row):
    value = _number(row.get("IOB"), "IOB")
    return lambda t: IobValue(time=t, iob=value)


def _basal(row):
    rate = _number(row.get("BasalRate"), "BasalRate")
    return lambda t: CsvBasalRate(time=t, rate=rate)


def _is_report_header(first):
    return bool(first) and (first[0].startswith("Tandem Diabetes Care")
                            or "Therapy Timeline" in first[0])


def _looks_like_export(blocks):
    return any(_is_report_header(b[0][1]) or _section_of_header(b[0][1]) for b in blocks)


def parse_therapytimeline_csv(text, tz):
    """ws2 ``therapytimeline2csv`` text -> (CsvExport, warnings)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise TandemFormatError("%s: expected text, got %s." % (CSV, type(text).__name__))
    text = text.lstrip("\ufeff")
    blocks = _split_blocks(text)
    if text.lstrip().startswith("<") or not _looks_like_export(blocks):
        raise TandemFormatError("%s: the answer is not a t:connect therapy timeline export (it "
                                "starts %r); Tandem may have changed this API or sent an error "
                                "page." % (CSV, text.strip()[:40]))
    warnings = []
    sections = {"readings": [], "IOB": [], "basal": []}
    for block in blocks:
        first = block[0][1]
        if _is_report_header(first):
            continue
        kind = _section_of_header(first) or _section_of_row(first) or (
            _section_of_row(block[1][1]) if len(block) > 1 else None)
        if kind is None:
            warnings.append(ParseWarning(CSV, "block at line %d %s" % (block[0][0], _excerpt(
                ",".join(first))), "unrecognised section"))
            continue
        if kind in UNREAD_SECTIONS:
            continue
        sections[kind] += _csv_rows(kind, block, warnings)

    readings = _timed_rows("readings", sections["readings"], _reading, tz, warnings)
    iob = _timed_rows("IOB", sections["IOB"], _iob, tz, warnings)
    basal = _timed_rows("basal", sections["basal"], _basal, tz, warnings)

    return CsvExport(readings=readings, iob=iob, basal=basal), warnings
