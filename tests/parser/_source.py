"""Builders for Tandem Source test events: pump-logs JSON objects and 26-byte binary records."""
import datetime as dt
import json
import struct

from tconnectsync import timeutil
from tconnectsync.parser.tandemsource.events import TANDEM_EPOCH, catalog
from tests import data

FIXTURES = data.TANDEMSOURCE
NEW_YORK = timeutil.get_zone("America/New_York")
ASSIGNMENT = "f1c7e5d0-0000-4000-8000-000011111111"
SERIAL = "11111111"
_FORMATS = {"uint8": ">B", "int8": ">b", "uint16": ">H", "int16": ">h", "uint32": ">I", "float32": ">f"}


def fixture_json(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_bytes(name):
    return (FIXTURES / name).read_bytes()


def wall(text):
    return dt.datetime.fromisoformat(text)


def camel(name):
    """events.json field name -> the pump-logs JSON key (docs/tandem-source.md §5.2)."""
    words = [w for w in name.replace("_", " ").split(" ") if w]
    key = words[0][:1].lower() + words[0][1:] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return key


def ev(code, seq, when, group=0, **props):
    """A pump-logs event object; ``props`` are JSON keys (any case) with raw values."""
    return {"deviceAssignmentId": ASSIGNMENT, "eventCode": code, "sequenceGroup": group, "sequenceNumber": seq,
            "pumpDateTime": when, "eventProperties": props, "estimatedDateTime": when + "Z"}


def record(code, seq, when, **fields):
    """A 26-byte binary record; ``fields`` by events.json name (spaces as underscores allowed)."""
    definition = catalog()[code]
    payload = bytearray(16)
    by_name = {f.name.replace(" ", "_"): f for f in definition.fields}
    for name, value in fields.items():
        f = by_name.get(name) or definition.field(name)
        struct.pack_into(_FORMATS[f.type], payload, f.offset, value)
    stamp = int((wall(when) - TANDEM_EPOCH).total_seconds())
    return struct.pack(">HII", code, stamp, seq) + bytes(payload)


def tandem_seconds(when):
    return int((wall(when) - TANDEM_EPOCH).total_seconds())


def basal(seq, when, rate_mu, source=3):
    return ev(279, seq, when, commandedRateSource=source, commandedRate=rate_mu, profileBasalRate=rate_mu,
              algorithmRate=rate_mu, tempRate=65535)


def time_changed(seq, when, prior, after, unit=1000):
    """Event 13 stamped at ``when`` (the time after the change); prior/after as HH:MM:SS."""
    def sod(text):
        h, m, s = (int(x) for x in text.split(":"))
        return (h * 3600 + m * 60 + s) * unit
    return ev(13, seq, when, timePrior=sod(prior), timeAfter=sod(after), rawRtcTime=0)


def z(instant):
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
