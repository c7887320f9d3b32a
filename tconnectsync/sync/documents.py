"""Helpers shared by the feature mappers: identifiers and times as Nightscout wants them."""
import datetime as dt
import uuid

from .. import timeutil

ENTERED_BY = "Pump (tconnectsync)"
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
