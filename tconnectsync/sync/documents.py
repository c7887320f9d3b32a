"""Helpers shared by the feature mappers: identifiers and times as Nightscout wants them, and the
context a Tandem Source chunk is mapped in (which records it decides, where its data ends)."""
import dataclasses
import datetime as dt
import uuid

from .. import timeutil
from .skips import Skip

ENTERED_BY = "Pump (tconnectsync)"
FUTURE_SLACK = dt.timedelta(minutes=5)     # a record dated later than now + this: pump clock ahead
_NAMESPACE = uuid.UUID("6f1d3c2a-9b7e-4f0c-8e2d-5a4b3c2d1e0f")


def identifier(serial, *key):
    """A deterministic UUID for a pump record: same record, same identifier, on every run."""
    return str(uuid.uuid5(_NAMESPACE, ":".join([str(serial)] + [str(k) for k in key])))


def epoch(instant):
    return int(round(instant.timestamp()))


def created_at(instant, tz):
    """ISO-8601 with the pump zone's offset at that instant, e.g. 2021-11-07T01:15:05-05:00.

    Nightscout normalises it to UTC and keeps the offset as utcOffset.
    """
    local = instant.astimezone(tz)
    return local.isoformat(timespec="seconds")


def minutes(seconds):
    return round(seconds / 60.0, 2)


def treatment(event_type, instant, tz, ident, **fields):
    doc = {"eventType": event_type, "created_at": created_at(instant, tz), "enteredBy": ENTERED_BY,
           "identifier": ident}
    doc.update({k: v for k, v in fields.items() if v is not None})
    return doc


def end_of_pump_day(instant, tz):
    """The UTC instant of the pump-local midnight after ``instant``."""
    day = instant.astimezone(tz).date()
    return timeutil.day_bounds_utc(day, tz)[1]


def fmt_units(value):
    return ("%.2f" % value) if value is not None else "?"


SECOND = dt.timedelta(seconds=1)


@dataclasses.dataclass
class ChunkContext:
    """What mapping one Tandem Source chunk needs beyond its records, and what it learns.

    ``until``: what the data is known to cover (never after ``now``); ``owned`` (lo, hi): the
    instants whose records this chunk decides (None: all). ``skipped`` (feature -> [Skip]) and
    ``merged`` (feature -> n) count what became of records that give no document of their own;
    ``open`` is set when an owned record's end is the data's end (more data may move it)."""
    serial: str
    tz: object
    now: dt.datetime
    until: dt.datetime
    skipped: dict = dataclasses.field(default_factory=dict)
    merged: dict = dataclasses.field(default_factory=dict)
    owned: tuple = None
    open: bool = False

    def owns(self, instant):
        """True when the record starting at ``instant`` is this chunk's to decide: the events
        around it (the margin) only give context, a neighbouring chunk decides those."""
        return self.owned is None or instant is None or self.owned[0] <= instant < self.owned[1]

    def skip(self, feature, key, text, at=None):
        if self.owns(at):
            self.skipped.setdefault(feature, []).append(Skip(key, text))

    def merge(self, feature, n=1, at=None):
        """``n`` records of ``feature`` (at ``at``) folded into another record's document."""
        if n and self.owns(at):
            self.merged[feature] = self.merged.get(feature, 0) + n

    def open_at_end(self, start):
        """The record starting at ``start`` lasts until the data's end."""
        if self.owns(start):
            self.open = True

    def local(self, instant):
        return created_at(instant, self.tz)

    def future(self, instant):
        return instant > self.now + FUTURE_SLACK
