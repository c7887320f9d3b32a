"""The fake Nightscout's vocabulary: flavours, roles, limits, and values as Nightscout's
JavaScript reads them (numbers, truthiness, dates, object ids, query strings)."""
import datetime as dt
import email.utils
import math
import random
import re
import threading
import time
import urllib.parse

FLAVORS = ("0.12.8", "15.0.7")
UTC = dt.timezone.utc
FOUR_DAYS = dt.timedelta(days=4)
JSON_LIMIT = 50 * 1048576          # treatments, entries, activity
SMALL_LIMIT = 1048576              # everything else
HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
DEFAULT = object()                 # "no body given" for injected failures (None means JSON null)

# Roles an unauthenticated request may get from AUTH_DEFAULT_ROLES (shiro-style permissions).
ROLES = {
    "admin": ["*"],
    "denied": [],
    "status-only": ["api:status:read"],
    "readable": ["*:*:read"],
    "careportal": ["api:treatments:create"],
    "devicestatus-upload": ["api:devicestatus:create"],
    "activity": ["api:activity:create"],
}

NUMBER_FIELDS = ("glucose", "targetTop", "targetBottom", "carbs", "insulin", "duration",
                 "percent", "absolute", "relative", "preBolus")
DROP_WHEN_EMPTY = ("targetTop", "targetBottom", "carbs", "insulin", "percent", "relative",
                   "notes", "preBolus")


class BadRequest(Exception):
    """The request cannot be served: answered with ``status`` and ``body`` (dict or HTML)."""

    def __init__(self, status, body, content_type="application/json"):
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type


class InvalidDate(Exception):
    pass


# ---------------------------------------------------------------- JavaScript-ish values

def js_number(value):
    """``Number(value)`` as JavaScript computes it (NaN as ``math.nan``)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if re.fullmatch(r"[+-]?Infinity", text):
            return -math.inf if text.startswith("-") else math.inf
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
            return int(text, 16)
        if re.fullmatch(r"0[oO][0-7]+", text):
            return int(text[2:], 8)
        if re.fullmatch(r"0[bB][01]+", text):
            return int(text[2:], 2)
        if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            return float(text)
        return math.nan
    if isinstance(value, list):
        if not value:
            return 0
        if len(value) == 1 and not isinstance(value[0], (list, dict)):
            return js_number("" if value[0] is None else str(value[0]))
        return math.nan
    return math.nan


def js_parse_int(value):
    """``parseInt(value)`` (radix 10, or 16 with a 0x prefix)."""
    match = re.match(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|\d+)", str(value))
    if not match:
        return math.nan
    digits = match.group(2)
    number = int(digits, 16) if digits[:2].lower() == "0x" else int(digits)
    return -number if match.group(1) == "-" else number


def is_nan(value):
    return isinstance(value, float) and math.isnan(value)


def truthy(value):
    """JavaScript truthiness."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def js_clean(value):
    """What ``JSON.stringify`` makes of a value: one number type, NaN/Infinity as null."""
    if isinstance(value, dict):
        return {k: js_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [js_clean(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 2 ** 53:
            return int(value)
    return value


def reject_constant(name):
    raise ValueError("invalid JSON constant %s" % name)


# ---------------------------------------------------------------- dates (moment.js-ish)

_ISO = re.compile(
    r"^(\d{4})-?(\d{2})(?:-?(\d{2}))?"
    r"(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$", re.IGNORECASE)


def parse_date(value):
    """(UTC datetime, offset minutes) of a date as ``moment.parseZone`` reads it, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if math.isnan(value) or math.isinf(value):
            return None
        try:
            return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=value), 0
        except OverflowError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _ISO.match(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            naive = dt.datetime(int(year), int(month), int(day or 1), int(hour or 0),
                                int(minute or 0), int(second or 0), micro)
        except ValueError:
            return None
        offset = 0
        if zone and zone.upper() != "Z":
            digits = zone[1:].replace(":", "")
            offset = int(digits[:2]) * 60 + int(digits[2:4] or 0)
            if zone[0] == "-":
                offset = -offset
        return (naive - dt.timedelta(minutes=offset)).replace(tzinfo=UTC), offset
    try:                                          # moment falls back to Date: RFC 2822
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    offset = int(parsed.utcoffset().total_seconds() // 60)
    return parsed.astimezone(UTC), offset


def iso_ms(moment):
    """UTC ISO-8601 with milliseconds and Z, like ``Date.prototype.toISOString``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def new_object_id(counter=[random.randrange(1 << 24)], lock=threading.Lock()):  # noqa: B006
    with lock:
        counter[0] = (counter[0] + 1) % (1 << 24)
        count = counter[0]
    return "%08x%010x%06x" % (int(time.time()) & 0xFFFFFFFF, random.getrandbits(40), count)


# ---------------------------------------------------------------- qs and MongoDB-style queries

def parse_qs(query):
    """A query string parsed the way Express's ``qs`` does (nested ``a[b][c]=v``)."""
    result = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = urllib.parse.unquote_plus(key)
        value = urllib.parse.unquote_plus(value)
        match = re.match(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$", key)
        if match:
            path = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        else:
            path = [key]
        node = result
        for name in path[:-1]:
            child = node.get(name)
            if not isinstance(child, dict):
                child = node[name] = {}
            node = child
        last = path[-1]
        if last == "" or last in node:
            if last == "":
                last = str(sum(1 for k in node if k.isdigit()))
            if last in node:
                existing = node[last]
                node[last] = existing + [value] if isinstance(existing, list) else [existing, value]
                continue
        node[last] = value
    return result
