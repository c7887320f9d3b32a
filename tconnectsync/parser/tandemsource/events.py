"""The Tandem event catalog and the two wire forms of a pump-log event, decoded to raw values.

Pure functions. ``decode_json`` reads the BFF pump-logs event objects (docs/tandem-source.md §5.2), ``decode_binary``
the 26-byte big-endian records of the retired endpoints (docs/tandem-source.md §6.1); both give ``RawEvent``s whose
``fields`` are keyed by the catalog's field names (``"Commanded Rate Source"``, ``"EGV TimeStamp"``)
and hold *raw* values: enums as integer codes, bitmasks as integers, ratio fields unscaled, float32
values as the shortest decimal that survives a float32 round trip (so both forms agree exactly).

The catalog is ``parser/data/tandem-source-events.json`` (a copy of upstream's ``events.json``, docs/tandem-source.md §6.2)
plus the four custom definitions of docs/tandem-source.md §6.2 (48, 81, 36, 37; 81 in its current public layout).
An event whose code is not in the catalog is *ignored*: Tandem's answers hold such events on
every day (codes our own request asks for that nobody has a public definition of, and codes no
filter asked for, ``IGNORED_CODES``), so it is kept as a ``RawEvent`` with no fields and
``ignored`` set, logged at DEBUG and counted apart, never a warning. An event of a catalogued
kind that cannot be read is a ``ParseWarning`` and left out; one bad event never stops the others.
"""
import collections
import dataclasses
import datetime as dt
import functools
import importlib.resources
import json
import math
import re
import logging
import struct

from ..records import ParseWarning

logger = logging.getLogger(__name__)

JSON_SOURCE = "Tandem Source pump-logs"
BINARY_SOURCE = "Tandem binary pump events"
RECORD_LENGTH = 26
TANDEM_EPOCH = dt.datetime(2008, 1, 1)
# The catalog file sits in tconnectsync/parser/data/ (setup.py package_data), one level up.
_DATA_PACKAGE = __package__.rpartition(".")[0]

_FORMATS = {"uint8": ">B", "int8": ">b", "uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i",
            "float32": ">f"}
_SIZES = {k: struct.calcsize(v) for k, v in _FORMATS.items()}
_RANGES = {"uint8": (0, 0xFF), "int8": (-0x80, 0x7F), "uint16": (0, 0xFFFF), "int16": (-0x8000, 0x7FFF),
           "uint32": (0, 0xFFFFFFFF), "int32": (-0x80000000, 0x7FFFFFFF)}

# Spec 6.2: definitions upstream layers on top of events.json (name, [(field, type, offset)]); offsets
# count from the 16-byte body after the 10-byte header. 81 is the current public layout: the last
# four bytes are the battery's millivolts (uint16), its charge in percent and a final-event-of-the-day
# flag (the older MSB/LSB "raw percent" reading of bytes 12-13 and millivolts at 14 is wrong).
CUSTOM_EVENTS = {
    48: ("LID_CARBS_ENTERED", [("carbs", "float32", 0)]),
    81: ("LID_DAILY_BASAL", [("dailyTotalBasal", "float32", 0), ("lastBasalRate", "float32", 4),
                             ("iob", "float32", 8), ("batteryLipoMilliVolts", "uint16", 12),
                             ("batteryChargePercent", "uint8", 14), ("finalEventForDay", "uint8", 15)]),
    36: ("LID_USB_CONNECTED", [("negotiatedCurrent", "float32", 0)]),
    37: ("LID_USB_DISCONNECTED", [("negotiatedCurrent", "float32", 0)]),
}


# Codes with no definition that Tandem's answers are known to hold (docs/tandem-source.md §5.2): the
# Source web app's filter, which our request copies, asks for these nine without any public
# definition of them; and live answers hold 8 and 27, which no filter asked for. Any other code
# without a definition is ignored the same way ("no definition"); only the reason differs.
IGNORED_CODES = {**{code: "asked for, no public definition" for code in (57, 69, 558, 559, 562, 563, 564, 565, 566)},
                 **{code: "not asked for" for code in (8, 27)}}


def ignore_reason(code):
    """Why events of ``code`` are ignored, or None for a catalogued (decoded) code."""
    if code in catalog():
        return None
    return IGNORED_CODES.get(code, "no definition")


@dataclasses.dataclass(frozen=True)
class FieldDef:
    name: str                    # as in events.json
    type: str
    offset: int
    bitmask: bool = False
    enum: tuple = ()             # ((code, label), ...)
    ratio: float = None

    @property
    def key(self):
        return normalize_key(self.name)


@dataclasses.dataclass(frozen=True)
class EventDef:
    code: int
    name: str
    fields: tuple                # FieldDef, in file order

    @functools.cached_property
    def by_key(self):
        return {f.key: f for f in self.fields}

    def enum_label(self, field, code):
        for c, label in self.field(field).enum:
            if c == code:
                return label
        return None

    def field(self, name):
        return self.by_key[normalize_key(name)]


RawEvent = collections.namedtuple("RawEvent", "code seq group wall fields origin ignored", defaults=(False,))
RawEvent.__doc__ = """One decoded event: ``wall`` is the pump's naive wall-clock time, ``fields``
maps catalog field names to raw values (absent fields are missing), ``origin`` is "json" or "binary";
``ignored`` is True for an event of a code without a definition (no fields, see ``ignore_reason``)."""


class BadEvent(ValueError):
    """One event cannot be read; the message says why."""


def normalize_key(name):
    """``"EGV TimeStamp"``, ``egvTimeStamp`` -> ``egvtimestamp`` (how JSON keys match the catalog)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@functools.lru_cache(maxsize=1)
def catalog():
    """{code: EventDef} from the packaged definition file plus the custom definitions."""
    text = importlib.resources.files(_DATA_PACKAGE).joinpath("data/tandem-source-events.json").read_text("utf-8")
    out = {}
    for code, spec in json.loads(text)["events"].items():
        fields = []
        for name, f in spec["data"].items():
            kw = {}
            for kind, arg in f.get("transform") or ():
                if kind == "enum":
                    kw["enum"] = tuple(sorted((int(k), v) for k, v in arg.items()))
                elif kind == "bitmask":
                    kw["bitmask"] = True
                elif kind == "ratio":
                    kw["ratio"] = float(arg)
            fields.append(FieldDef(name, f["type"], int(f["offset"]), **kw))
        out[int(code)] = EventDef(int(code), spec["name"], tuple(sorted(fields, key=lambda x: x.offset)))
    for code, (name, fields) in CUSTOM_EVENTS.items():
        out.setdefault(code, EventDef(code, name, tuple(FieldDef(n, t, o) for n, t, o in fields)))
    return out


def shortest_float32(value):
    """The shortest decimal that is the same float32 as ``value`` (0.30000001192092896 -> 0.3)."""
    if not math.isfinite(value):
        return value
    packed = struct.pack(">f", value)
    for digits in range(1, 10):
        candidate = float("%.*g" % (digits, value))
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value


def event_name(code, seq, wall=None, group=0):
    """How warnings name an event: ``event 279 seq 701003 (2026-08-12T00:00:00)``."""
    text = "event %s seq %s" % (code, seq if not group else "%s.%s" % (group, seq))
    if wall is not None:
        text += " (%s)" % (wall.isoformat() if isinstance(wall, dt.datetime) else wall)
    return text


def _ignored(code, seq, group, wall, origin):
    return RawEvent(code, seq, group, wall, {}, origin, True)


def _log_ignored(raws, source):
    """One DEBUG line per ignored code (a month of answers holds hundreds of such events)."""
    seen = {}
    for raw in raws:
        if raw.ignored:
            first, n = seen.get(raw.code, (raw, 0))
            seen[raw.code] = (first, n + 1)
    for code, (first, n) in sorted(seen.items()):
        logger.debug("%s: ignored %d event%s of code %d (%s), the first %s", source, n, "" if n == 1 else "s",
                     code, ignore_reason(code), event_name(code, first.seq, first.wall, first.group))


# ---------------------------------------------------------------------------------------- binary

def decode_binary(data):
    """``(raw events, warnings)`` from the concatenated 26-byte records (docs/tandem-source.md §6.1)."""
    if isinstance(data, str):
        raise TypeError("decode_binary wants bytes; use decode_legacy_response for the JSON/base64 body")
    data = bytes(data)
    defs = catalog()
    out, warnings = [], []
    whole = len(data) - len(data) % RECORD_LENGTH
    for offset in range(0, whole, RECORD_LENGTH):
        record = data[offset:offset + RECORD_LENGTH]
        word, stamp, seq = struct.unpack(">HII", record[:10])
        code = word & 0x0FFF
        wall = TANDEM_EPOCH + dt.timedelta(seconds=stamp)
        definition = defs.get(code)
        if definition is None:
            out.append(_ignored(code, seq, 0, wall, "binary"))
            continue
        payload = record[10:]
        fields = {}
        for f in definition.fields:
            (value,) = struct.unpack_from(_FORMATS[f.type], payload, f.offset)
            fields[f.name] = shortest_float32(value) if f.type == "float32" else value
        out.append(RawEvent(code, seq, 0, wall, fields, "binary"))
    if whole != len(data):
        tail = data[whole:]
        name = "%d trailing bytes at offset %d" % (len(tail), whole)
        if len(tail) >= 10:
            word, stamp, seq = struct.unpack(">HII", tail[:10])
            name = event_name(word & 0x0FFF, seq, TANDEM_EPOCH + dt.timedelta(seconds=stamp)) + " (" + name + ")"
        warnings.append(ParseWarning(BINARY_SOURCE, name, "truncated record: %d of %d bytes"
                                     % (len(tail), RECORD_LENGTH)))
    _log_ignored(out, BINARY_SOURCE)
    return out, warnings


def decode_legacy_response(body):
    """The bytes of a retired ``reportsfacade/pumpevents`` answer: a JSON string of base64
    (given as the response text, or already JSON-decoded). Raises ValueError if it is neither."""
    import base64
    import binascii
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    text = body.strip()
    if text.startswith('"'):
        text = json.loads(text)
    if not isinstance(text, str):
        raise ValueError("the pump events answer is not a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the pump events answer is not base64: %s" % exc) from None


# ------------------------------------------------------------------------------------------ JSON

def _json_int(value, f):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadEvent("%s is %s, not a number" % (f.name, _show(value)))
    if isinstance(value, float):
        if not value.is_integer():
            raise BadEvent("%s is %r, not a whole number" % (f.name, value))
        value = int(value)
    lo, hi = _RANGES[f.type]
    if not lo <= value <= hi:
        raise BadEvent("%s is %d, outside %s" % (f.name, value, f.type))
    return value


def _json_value(value, f):
    if f.type == "float32":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadEvent("%s is %s, not a number" % (f.name, _show(value)))
        if not math.isfinite(value):
            raise BadEvent("%s is %r" % (f.name, value))
        return float(value)
    if f.bitmask and isinstance(value, list):
        bits = _SIZES[f.type] * 8
        mask = 0
        for bit in value:
            if isinstance(bit, bool) or not isinstance(bit, int) or not 0 <= bit < bits:
                raise BadEvent("%s has %s, not a bit position of a %s" % (f.name, _show(bit), f.type))
            mask |= 1 << bit
        return mask
    return _json_int(value, f)


def _show(value):
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _header_int(event, key, default=None):
    value = event.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEvent("%s is %s, not an integer" % (key, _show(value)))
    return value


def parse_pump_time(value):
    """``pumpDateTime`` -> naive wall clock. A trailing ``Z`` is ignored: it is not a real UTC
    marker (docs/tandem-source.md §5.2: ``estimatedDateTime`` is the same wall time with ``Z`` appended)."""
    if not isinstance(value, str):
        raise BadEvent("pumpDateTime is %s, not a string" % _show(value))
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadEvent("pumpDateTime %r is not a date and time" % value) from None
    if parsed.tzinfo is not None:
        raise BadEvent("pumpDateTime %r has an offset; pump times are wall-clock times" % value)
    return parsed


def decode_json(events):
    """``(raw events, warnings)`` from pump-logs event objects (docs/tandem-source.md §5.2).

    Keys of ``eventProperties`` match catalog fields ignoring case and non-alphanumerics;
    unknown keys (``spareA3``, ``reservedD15`` ...) are ignored, absent fields stay absent.
    """
    defs = catalog()
    out, warnings = [], []
    for i, event in enumerate(events):
        name = "events[%d]" % i
        try:
            if not isinstance(event, dict):
                raise BadEvent("not an object but %s" % _show(event))
            code = _header_int(event, "eventCode")
            seq = _header_int(event, "sequenceNumber")
            group = _header_int(event, "sequenceGroup", 0)
            name = event_name(code, seq, event.get("pumpDateTime"), group)
            wall = parse_pump_time(event.get("pumpDateTime"))
            definition = defs.get(code)
            if definition is None:
                out.append(_ignored(code, seq, group, wall, "json"))
                continue
            props = event.get("eventProperties")
            if props is None:
                props = {}
            if not isinstance(props, dict):
                raise BadEvent("eventProperties is %s, not an object" % _show(props))
            fields = {}
            for key, value in props.items():
                f = definition.by_key.get(normalize_key(key))
                if f is None or value is None:
                    continue
                fields[f.name] = _json_value(value, f)
            out.append(RawEvent(code, seq, group, wall, fields, "json"))
        except BadEvent as exc:
            warnings.append(ParseWarning(JSON_SOURCE, name, str(exc)))
    _log_ignored(out, JSON_SOURCE)
    return out, warnings
