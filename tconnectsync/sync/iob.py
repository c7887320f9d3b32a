"""IOB: the newest insulin-on-board value -> one Nightscout ``activity`` document.

Nightscout keeps the activity ``created_at`` as sent, so it is sent as a UTC ISO string, which
sorts correctly across DST changes. Only the newest value is kept in Nightscout.
"""
from .. import timeutil
from .documents import ENTERED_BY, epoch, identifier

ACTIVITY_TYPE = "tconnect_iob"


def newest(values):
    return max(values, key=lambda v: v.time) if values else None


def document(value, serial):
    return {"activityType": ACTIVITY_TYPE, "iob": float(value.iob), "created_at": timeutil.iso_utc(value.time),
            "enteredBy": ENTERED_BY, "identifier": identifier(serial, "iob", epoch(value.time))}
