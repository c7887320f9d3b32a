"""What Nightscout makes of a treatment: ``normalize_for_compare`` predicts the stored form of a
document (every version, 0.12.8 to 15.0.7), so a sync can tell "already there" from "changed".
Pure functions; the client is ``nightscout.py``."""
import datetime as dt
import json
import math
import re

UTC = dt.timezone.utc
_NUMBER_FIELDS = ("glucose", "targetTop", "targetBottom", "carbs", "insulin", "duration",
                  "percent", "absolute", "relative", "preBolus")
_DROP_WHEN_EMPTY = ("carbs", "insulin", "percent", "relative", "notes", "preBolus",
                    "targetTop", "targetBottom")
_SERVER_FIELDS = ("_id", "utcOffset", "mills")


# Every date we send to Nightscout, in a document or in a query, has one form: RFC 3339 with a
# "T", seconds, optional fraction and an explicit zone ("Z" or "+HH:MM"): the pump's offset in
# treatments' created_at and entries' dateString (Nightscout keeps it as utcOffset), "Z" elsewhere
# (iso_utc). Both 0.12.8 and 15.0.7 parse it in documents and in find[...] queries. A space
# instead of the "T" (e.g. "2026-09-18 00:04:20+00:00", Python's str() of a datetime) is accepted
# in documents but not in queries: 0.12.8 answers HTTP 500 "Cannot parse ... as a valid ISO-8601
# date" (a proxy in front makes it a 502), 15.0.7 answers null; the activity collection even
# stores it verbatim. ``date_form`` rewrites such a value before it is sent.
DATE_FIELDS = ("created_at", "startDate", "dateString", "sysTime", "eventTime")
_SENT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


def is_sent_form(value):
    """Whether ``value`` is a date string in the one form we send (see ``DATE_FIELDS``)."""
    return isinstance(value, str) and bool(_SENT_DATE.match(value))


def date_form(value):
    """``value`` in the one form we send: a datetime (aware: ``iso_utc``) or a string that reads
    as an instant with its zone, rewritten keeping its instant and offset; anything else (a
    value Nightscout stored in another form, a naive time) is returned unchanged."""
    if isinstance(value, dt.datetime):
        return iso_utc(value) if value.tzinfo is not None else value
    if not isinstance(value, str) or is_sent_form(value):
        return value
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = dt.datetime.fromisoformat(_iso_for_python(text))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    out = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return out[:-6] + "Z" if out.endswith("+00:00") and value.rstrip().endswith(("Z", "z")) else out


def _iso_for_python(text):
    """fromisoformat of Python 3.10 wants 3 or 6 fraction digits."""
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
    return text if not match else "%s.%s%s" % (match.group(1), match.group(2)[:6].ljust(6, "0"), match.group(3))


def dates_in_form(body):
    """A request body (a document or a list of them) with each top-level ``DATE_FIELDS`` value
    in the one form we send (``date_form``); the documents are copied only when one changes."""
    if isinstance(body, list):
        return [dates_in_form(doc) for doc in body]
    if not isinstance(body, dict):
        return body
    changed = {k: date_form(body[k]) for k in DATE_FIELDS if k in body and date_form(body[k]) is not body[k]}
    return dict(body, **changed) if changed else body


def iso_utc(moment):
    """An aware datetime as Nightscout writes instants: ``2026-11-20T10:00:00.000Z``."""
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("expected an aware datetime, got %r" % (moment,))
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _json_default(value):
    if isinstance(value, dt.datetime):
        return iso_utc(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError("cannot send %s to Nightscout" % type(value).__name__)


def _number(value):
    """JavaScript's ``Number(value)`` for the values treatments hold (NaN as ``math.nan``)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            return float(text) if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) \
                else math.nan
        except ValueError:
            return math.nan
    return math.nan


def _falsy(value):
    if value is None or value is False or value == "":
        return True
    if isinstance(value, (int, float)):
        return value == 0 or math.isnan(value)
    return False


def _js_numbers(value):
    """JavaScript has one number type: 5.0 is stored and served as 5."""
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer():
            return int(value)
    return value


def _parse_instant(value):
    """An aware UTC datetime from an ISO-8601 string (or datetime), or None."""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2})?)(\.\d+)?([+-]\d{2}:?\d{2})?$", text)
    if match:              # fromisoformat of 3.9/3.10 wants 3 or 6 fraction digits and +HH:MM
        head, fraction, zone = match.groups()
        fraction = ("." + fraction[1:7].ljust(6, "0")) if fraction else ""
        if zone and ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        text = head + fraction + (zone or "")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalize_for_compare(doc):
    """The treatment ``doc`` as Nightscout stores and serves it, minus server-side fields.

    Applies what every Nightscout version (0.12.8 to 15.0.7) does on POST: ``created_at`` (or
    ``eventTime``) to UTC ISO with milliseconds; ``Number()`` on the numeric fields; carbs,
    insulin, percent, relative, notes, preBolus, targetTop, targetBottom dropped when 0 or empty;
    duration ``None`` → 0; absolute/duration dropped when not numeric; no glucose → no
    glucoseType/units; ``isAnnouncement`` on announcements; one number type. Drops ``_id``,
    ``utcOffset`` and ``mills``. (Not modelled: 15.x's HTML sanitising of strings holding
    ``<``, and the preBolus carb split.)
    """
    out = json.loads(json.dumps(doc, default=_json_default))
    if out.get("eventTime"):
        out["created_at"] = out["eventTime"]
    out.pop("eventTime", None)
    instant = _parse_instant(out.get("created_at"))
    if instant is not None:
        out["created_at"] = iso_utc(instant)
    for field in _NUMBER_FIELDS:
        if field in out:
            out[field] = _number(out[field])
    for field in _DROP_WHEN_EMPTY:
        if field in out and _falsy(out[field]):
            del out[field]
    for field in ("absolute", "duration"):
        if field in out and isinstance(out[field], float) and math.isnan(out[field]):
            del out[field]
    if "glucose" not in out or _falsy(out["glucose"]):
        for field in ("glucose", "glucoseType", "units"):
            out.pop(field, None)
    if out.get("eventType") == "Announcement":
        out["isAnnouncement"] = True
    for field in _SERVER_FIELDS:
        out.pop(field, None)
    return _js_numbers(out)
