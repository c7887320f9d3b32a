"""A fake Nightscout: an HTTP server on 127.0.0.1 that answers like a real one.

Used by the tests, the demo and the benchmarks. It follows the parts of the ``/api/v1`` REST
API an uploader uses (see ``docs/nightscout.md``) for two flavours:

* ``"0.12.8"`` — the npm release, also what 14.x and 15.0.0–15.0.6 do for an uploader:
  treatments are upserted on (normalised ``created_at``, ``eventType``), ``verifyauth`` answers
  ``{"status":200,"message":"OK"}``, deletes answer the MongoDB 3.x driver's result, an
  unparseable date in a query is an HTTP 500 page, only the lower-case SHA-1 is accepted.
* ``"15.0.7"`` — the current release: the upsert key is ``identifier`` > 24-hex ``_id`` >
  (``created_at``, ``eventType``), ``verifyauth`` answers the detailed object, an unparseable
  date answers ``null``, the SHA-1 in any case or the SHA-512 is accepted, default ``count``
  limits apply, strings holding ``<`` are sanitised.

Everything lives in memory. Tests can look at ``treatments()``, ``activity()``, ``entries()``,
``request_log`` and ``request_count``, and inject faults: ``latency``, ``fail_next()``,
``fail_when()``, ``down``.

    with FakeNightscout(api_secret="a-long-secret!", flavor="15.0.7") as ns:
        client = NightscoutClient(ns.url, "a-long-secret!")

``python -m tconnectsync.sandbox.nightscout --port 0 --secret X --flavor 15.0.7`` serves one
until Ctrl-C.
"""
import argparse
import collections
import copy
import datetime as dt
import email.utils
import hashlib
import html
import html.parser
import http.server
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import urllib.parse

logger = logging.getLogger(__name__)

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


def _reject_constant(name):
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


def parse_regex(value):
    """Nightscout's ``parseRegEx``: ``/pattern/flags`` anywhere in the string → a regex."""
    if not isinstance(value, str):
        return value
    match = re.search(r"/(.*)/(.*)", value)
    if not match:
        return value
    pattern, flags = match.groups()
    if set(flags) - set("gimsuy"):
        raise BadRequest(500, _error_page(500, "SyntaxError: Invalid flags supplied to RegExp "
                                               "constructor '%s'" % flags), "text/html")
    re_flags = (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0) \
        | (re.DOTALL if "s" in flags else 0)
    try:
        return re.compile(pattern, re_flags)
    except re.error as exc:
        raise BadRequest(500, _error_page(500, "SyntaxError: Invalid regular expression: %s"
                                               % exc), "text/html")


def _walk_leaves(node, fn):
    if isinstance(node, dict):
        return {k: _walk_leaves(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk_leaves(v, fn) for v in node]
    return fn(node)


def _type_rank(value):
    if value is None:
        return 1
    if isinstance(value, bool):
        return 8
    if isinstance(value, (int, float)):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, dict):
        return 4
    if isinstance(value, list):
        return 5
    return 9


def _get_path(doc, path):
    node = doc
    for name in path.split("."):
        if isinstance(node, dict) and name in node:
            node = node[name]
        elif isinstance(node, list):
            values = [item.get(name) for item in node if isinstance(item, dict) and name in item]
            if not values:
                return False, None
            node = values
        else:
            return False, None
    return True, node


def _equal(stored, wanted):
    if isinstance(wanted, re.Pattern):
        if isinstance(stored, list):
            return any(_equal(item, wanted) for item in stored)
        return isinstance(stored, str) and wanted.search(stored) is not None
    if isinstance(stored, list) and not isinstance(wanted, list):
        return any(_equal(item, wanted) for item in stored)
    if _type_rank(stored) != _type_rank(wanted):
        return False
    return stored == wanted


def _compare(stored, op, wanted):
    if isinstance(stored, list):
        return any(_compare(item, op, wanted) for item in stored)
    if _type_rank(stored) != _type_rank(wanted) or _type_rank(stored) not in (2, 3):
        return False
    if is_nan(stored) or is_nan(wanted):
        return False
    return {"$gt": stored > wanted, "$gte": stored >= wanted,
            "$lt": stored < wanted, "$lte": stored <= wanted}[op]


def matches(doc, query):
    """True when ``doc`` satisfies the MongoDB-style ``query`` (the operators Nightscout uses)."""
    for key, cond in query.items():
        if key == "$or":
            if not any(matches(doc, sub) for sub in cond):
                return False
            continue
        if key == "$and":
            if not all(matches(doc, sub) for sub in cond):
                return False
            continue
        present, value = _get_path(doc, key)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            for op, wanted in cond.items():
                if op in ("$gt", "$gte", "$lt", "$lte"):
                    ok = present and _compare(value, op, wanted)
                elif op == "$eq":
                    ok = present and _equal(value, wanted)
                elif op == "$ne":
                    ok = not (present and _equal(value, wanted))
                elif op == "$exists":
                    ok = present == (truthy(wanted) and wanted not in ("false", "0"))
                elif op == "$in":
                    options = wanted if isinstance(wanted, list) else list(wanted.values()) \
                        if isinstance(wanted, dict) else [wanted]
                    ok = present and any(_equal(value, w) for w in options)
                elif op == "$nin":
                    options = wanted if isinstance(wanted, list) else list(wanted.values()) \
                        if isinstance(wanted, dict) else [wanted]
                    ok = not (present and any(_equal(value, w) for w in options))
                elif op == "$regex":
                    ok = present and _equal(value, parse_regex("/%s/%s" % (wanted, cond.get("$options", ""))))
                elif op == "$options":
                    ok = True
                else:
                    raise BadRequest(500, {"status": 500, "message": "Mongo Error",
                                           "description": "unknown operator: %s" % op})
                if not ok:
                    return False
        elif not (present and _equal(value, cond)):
            if not (cond is None and not present):
                return False
    return True


def sort_docs(docs, sort):
    """Sort like MongoDB (type order, then value); ties keep insertion order.

    ``sort`` maps fields to 1 (ascending) or -1.
    """
    for field, direction in reversed(list(sort.items())):
        reverse = direction != 1

        def key(doc, field=field):
            present, value = _get_path(doc, field)
            rank = _type_rank(value) if present else 0
            if rank in (2, 3):
                return rank, value
            return rank, 0
        docs.sort(key=key, reverse=reverse)
    return docs


# ---------------------------------------------------------------- HTML sanitising (15.x)

class _Purifier(html.parser.HTMLParser):
    """A small stand-in for DOMPurify: drops script-like elements and event attributes."""

    DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.DROP_WITH_CONTENT:
            self.skipping += 1
            return
        if self.skipping:
            return
        kept = "".join(' %s="%s"' % (name, html.escape(val or "", quote=True))
                       for name, val in attrs
                       if not name.startswith("on") and "javascript:" not in (val or "").lower())
        self.out.append("<%s%s>" % (tag, kept))

    def handle_endtag(self, tag):
        if tag in self.DROP_WITH_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if not self.skipping:
            self.out.append("</%s>" % tag)

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def purify(text):
    if "<" not in text:
        return text
    parser = _Purifier()
    parser.feed(text)
    leftover = parser.rawdata
    parser.rawdata = ""             # an unfinished tag at the end is dropped
    if leftover and not leftover.startswith("<"):
        parser.handle_data(leftover)
    return "".join(parser.out)


def _purify_all(value):
    if isinstance(value, dict):
        return {k: _purify_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_purify_all(v) for v in value]
    if isinstance(value, str) and is_nan(js_number(value)):
        return purify(value)
    return value


class ErrorPage(str):
    """An answer of Nightscout's error handler (Express ``errorhandler``, both versions).

    The handler picks its format from the request's ``Accept`` header, preferring in this order
    HTML, JSON, plain text: the HTML page for no header, ``*/*`` or ``text/html``;
    ``{"error": {"message", "stack", ...the error's own properties}}`` when JSON is preferred
    (e.g. ``Accept: application/json``, which our client sends); the stack as text otherwise.
    As a ``str`` it is the HTML page. ``message`` is ``"Name: text"`` as the stack's first line;
    ``props`` are the extra properties (body-parser errors carry ``type``, ``status``, ...).
    """

    def __new__(cls, status, message, props=None):
        text = html.escape(message)
        page = ("<html>\n  <head>\n    <meta charset='utf-8'> \n    <title>%s</title>\n  </head>\n"
                "  <body>\n    <div id=\"wrapper\">\n      <h1>Connect</h1>\n"
                "      <h2><em>%d</em> %s</h2>\n    </div>\n  </body>\n</html>\n" % (text, status, text))
        self = super().__new__(cls, page)
        self.status = status
        self.message = message
        self.props = dict(props or {})
        return self

    def negotiate(self, accept):
        """(body, content type) for the request's Accept header."""
        chosen = preferred_type(accept, ("text/html", "application/json", "text/plain"))
        stack = self.message + "\n    at (FakeNightscout)"
        if chosen == "text/html":
            return str(self), "text/html"
        if chosen == "application/json":
            _name, _, text = self.message.partition(": ")
            return {"error": {"message": text or self.message, "stack": stack, **self.props}}, "application/json"
        return stack, "text/plain"


def _error_page(status, message, props=None):
    """The error handler's answer (see ``ErrorPage``; its HTML page has the message, no stack)."""
    return ErrorPage(status, message, props)


def preferred_type(accept, offers):
    """The offer an ``Accept`` header prefers (as the npm ``negotiator`` ranks them), else None.

    No header means the first offer. Each offer takes the quality of the most specific matching
    range; the highest quality wins, then the more specific range, then the earlier range, then
    the earlier offer.
    """
    if accept is None or not accept.strip():
        return offers[0]
    ranges = []
    for order, part in enumerate(accept.split(",")):
        bits = [b.strip() for b in part.split(";")]
        if "/" not in bits[0]:
            continue
        kind, sub = (x.strip().lower() for x in bits[0].split("/", 1))
        quality = 1.0
        for bit in bits[1:]:
            name, _, value = bit.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((kind, sub, quality, order))
    ranked = []
    for index, offer in enumerate(offers):
        kind, sub = offer.split("/")
        best = None
        for r_kind, r_sub, quality, order in ranges:
            if r_kind not in ("*", kind) or r_sub not in ("*", sub):
                continue
            spec = (4 if r_kind == kind else 0) | (2 if r_sub == sub else 0)
            if best is None or (spec, quality) > (best[1], best[0]):
                best = (quality, spec, order)
        if best is not None and best[0] > 0:
            ranked.append((-best[0], -best[1], best[2], index, offer))
    return min(ranked)[-1] if ranked else None


def _not_found_page(method, path):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>Error</title>\n</head>\n<body>\n<pre>Cannot %s %s</pre>\n</body>\n</html>\n"
            % (method, html.escape(path)))


# ---------------------------------------------------------------- the server state

class FakeNightscout:
    """An in-memory Nightscout on 127.0.0.1 (see the module doc)."""

    def __init__(self, api_secret=None, flavor="15.0.7", port=0, auth_default_roles="denied",
                 careportal=True, auth_fail_delay=0.0, units="mg/dl", now=None, prefix="/"):
        """``prefix``: serve under a sub-path (``/ns/``), as behind a reverse proxy.
        ``now``: a callable giving the server's aware "now" (the 4-day window, missing dates).
        ``auth_fail_delay`` (seconds, 15.0.7 only): the per-IP penalty after a failed attempt.
        """
        if flavor not in FLAVORS:
            raise ValueError("flavor must be one of %s" % (FLAVORS,))
        self.flavor = flavor
        self.port = port
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self.careportal = careportal
        self.auth_fail_delay = auth_fail_delay
        self.units = units
        self.now = now or (lambda: dt.datetime.now(UTC))
        self.default_roles = [r for r in re.split(r"[, :]", auth_default_roles or "") if r]
        self._secret_ok = set()
        if api_secret is not None and len(api_secret) >= 12:
            sha1 = hashlib.sha1(api_secret.encode("utf-8")).hexdigest()
            self._sha1 = sha1
            self._sha512 = hashlib.sha512(api_secret.encode("utf-8")).hexdigest()
        else:
            self._sha1 = self._sha512 = None
        self.lock = threading.RLock()
        self._collections = {"treatments": [], "activity": [], "entries": [], "profile": []}
        self._tindex = None     # lookup of treatments by upsert key; None = rebuild on next use
        self.request_log = []
        self.latency = 0.0
        self.down = False
        self._fail_queue = collections.deque()
        self._fail_when = None
        self._not_before = 0.0
        self._server = None
        self._thread = None

    # -- lifecycle
    @property
    def url(self):
        if not self._server:
            raise RuntimeError("FakeNightscout is not started")
        return "http://127.0.0.1:%d%s" % (self._server.server_address[1], self.prefix)

    def start(self):
        if self._server:
            return self
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", self.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-nightscout",
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- inspection and seeding
    def treatments(self):
        with self.lock:
            return copy.deepcopy(self._collections["treatments"])

    def activity(self):
        with self.lock:
            return copy.deepcopy(self._collections["activity"])

    def profiles(self):
        with self.lock:
            return copy.deepcopy(self._collections["profile"])

    def entries(self):
        with self.lock:
            return copy.deepcopy(self._collections["entries"])

    def seed(self, collection, docs):
        """Store ``docs`` as they are (no normalisation), giving each an ``_id``; returns them."""
        stored = []
        with self.lock:
            for doc in docs:
                doc = js_clean(copy.deepcopy(doc))
                doc.setdefault("_id", new_object_id())
                self._collections[collection].append(doc)
                stored.append(copy.deepcopy(doc))
            self._tindex = None
        return stored

    def clear(self):
        with self.lock:
            for docs in self._collections.values():
                docs.clear()
            self._tindex = None

    @property
    def request_count(self):
        with self.lock:
            return len(self.request_log)

    # -- fault injection
    def fail_next(self, n=1, status=500, body=DEFAULT, headers=None):
        """Answer the next ``n`` requests with ``status`` (and ``body``, ``headers``).

        ``body``: a JSON value (None is JSON ``null``), or a str sent as HTML; by default a
        Nightscout-style ``{"status", "message", "description"}`` object.
        """
        with self.lock:
            for _ in range(n):
                self._fail_queue.append((status, body, dict(headers or {})))

    def fail_when(self, predicate):
        """``predicate(method, path, query)`` -> a status, (status, body), or None to serve normally.

        ``path`` is the URL path (prefix removed), ``query`` the decoded query string.
        ``fail_when(None)`` clears it.
        """
        with self.lock:
            self._fail_when = predicate

    # -- auth
    def _is_admin(self, credential):
        if not credential or not self._sha1:
            return False
        if self.flavor == "0.12.8":
            return credential == self._sha1
        return credential.lower() == self._sha1 or credential == self._sha512

    def _default_allows(self, permission):
        return any(_shiro_check(pattern, permission)
                   for role in self.default_roles for pattern in ROLES.get(role, []))

    # -- storage operations (called with the lock held)
    def _normalise_treatment(self, obj):
        """Steps 1-8 of docs/nightscout.md §5.2 on one object; returns (obj, prebolus_doc or None)."""
        if not isinstance(obj, dict):
            obj = {}
        if self.flavor != "0.12.8":
            obj = _purify_all(obj)
            if "_id" in obj and not (isinstance(obj["_id"], str) and HEX24.match(obj["_id"])):
                old = obj.pop("_id")
                if old not in (None, "") and not obj.get("identifier"):
                    obj["identifier"] = str(old)
        parsed = parse_date(obj.get("created_at")) if "created_at" in obj else None
        if parsed is None:
            parsed = (self.now().astimezone(UTC), 0)
        moment, offset = parsed
        obj["created_at"] = iso_ms(moment)
        obj["utcOffset"] = offset
        for field in NUMBER_FIELDS:
            obj[field] = js_number(obj.get(field)) if field in obj else math.nan
        if "eventTime" in obj:
            if truthy(obj["eventTime"]):
                event = parse_date(obj["eventTime"])
                if event is None:
                    raise BadRequest(500, _error_page(500, "RangeError: Invalid time value"), "text/html")
                obj["created_at"] = iso_ms(event[0])
            del obj["eventTime"]
        prebolus_carbs = ""
        if truthy(obj["preBolus"]) and truthy(obj["carbs"]):
            prebolus_carbs = obj.pop("carbs")
        if obj.get("eventType") == "Announcement":
            obj["isAnnouncement"] = True
        for field in DROP_WHEN_EMPTY:
            if field in obj and not truthy(obj[field]):
                del obj[field]
        for field in ("absolute", "duration"):
            if is_nan(obj.get(field)):
                del obj[field]
        if not truthy(obj["glucose"]):
            for field in ("glucose", "glucoseType", "units"):
                obj.pop(field, None)
        prebolus = None
        if truthy(obj.get("preBolus")):
            moment = parse_date(obj["created_at"])[0] + dt.timedelta(minutes=obj["preBolus"])
            prebolus = {"created_at": iso_ms(moment), "eventType": obj.get("eventType"),
                        "carbs": prebolus_carbs}
            if truthy(obj.get("notes")):
                prebolus["notes"] = obj["notes"]
        return js_clean(obj), prebolus

    @staticmethod
    def _keys(doc):
        keys = [("at", doc.get("created_at"), doc.get("eventType")), ("_id", doc.get("_id"))]
        if doc.get("identifier") not in (None, ""):
            keys.append(("ident", doc.get("identifier")))
        return keys

    def _treatment_lookup(self, *keys):
        """The first stored treatment matching any of ``keys`` (as a real upsert would find it):
        an index kept in step with writes, so large fakes stay fast."""
        if self._tindex is None:
            self._tindex = {}
            for i, doc in enumerate(self._collections["treatments"]):
                for k in self._keys(doc):
                    self._tindex.setdefault(k, i)
        found = [self._tindex[k] for k in keys if k in self._tindex]
        return min(found) if found else None

    def _find_index(self, collection, predicate):
        for index, doc in enumerate(self._collections[collection]):
            if predicate(doc):
                return index
        return None

    def _replace_or_insert(self, collection, index, obj):
        """Whole-document replace at ``index`` (keeping its _id) or insert; returns (doc, inserted)."""
        docs = self._collections[collection]
        if index is None:
            stored = dict(obj)
            stored.setdefault("_id", new_object_id())
            stored = {"_id": stored.pop("_id"), **stored}
            docs.append(stored)
            if collection == "treatments" and self._tindex is not None:
                for k in self._keys(stored):
                    self._tindex.setdefault(k, len(docs) - 1)
            return stored, True
        if collection == "treatments" and self._keys(docs[index]) != self._keys(
                {"_id": docs[index]["_id"], **{k: v for k, v in obj.items() if k != "_id"}}):
            self._tindex = None
        old_id = docs[index]["_id"]
        if "_id" in obj and obj["_id"] != old_id:
            raise BadRequest(500, {"status": 500, "message": "Mongo Error",
                                   "description": "Performing an update on the path '_id' would "
                                                  "modify the immutable field '_id'"})
        stored = {"_id": old_id, **{k: v for k, v in obj.items() if k != "_id"}}
        docs[index] = stored
        return stored, False

    def _upsert_treatment(self, obj):
        """POST semantics for one object; returns the response objects."""
        obj, prebolus = self._normalise_treatment(obj)
        key_created, key_type = obj["created_at"], obj.get("eventType")
        answer_id = False
        if self.flavor == "0.12.8":
            index = self._treatment_lookup(("at", key_created, key_type))
        elif obj.get("identifier") not in (None, ""):
            ident = obj["identifier"]
            index = self._treatment_lookup(("ident", ident), ("_id", ident))
            answer_id = True
        elif obj.get("_id"):
            index = self._treatment_lookup(("_id", obj["_id"]))
        else:
            index = self._treatment_lookup(("at", key_created, key_type))
        stored, inserted = self._replace_or_insert("treatments", index, obj)
        answer = dict(obj)
        if inserted or answer_id:
            answer["_id"] = stored["_id"]
        answers = [answer]
        if prebolus:
            pb_index = self._find_index(
                "treatments", lambda d: d.get("created_at") == prebolus["created_at"]
                and d.get("eventType") == prebolus["eventType"])
            pb_stored, pb_inserted = self._replace_or_insert("treatments", pb_index, prebolus)
            pb_answer = dict(prebolus)
            if pb_inserted and self.flavor != "0.12.8":
                pb_answer["_id"] = pb_stored["_id"]      # 15.0.7 names a new carbs record's _id
            answers.append(pb_answer)
        return answers

    def _put_treatment(self, obj):
        if not isinstance(obj, dict):
            obj = {}
        if self.flavor == "0.12.8":
            if "_id" in obj and obj["_id"] is not None and not (isinstance(obj["_id"], str)
                                                                and HEX24.match(obj["_id"])):
                raise BadRequest(500, _error_page(500, "Error: Argument passed in must be a single "
                                 "String of 12 bytes or a string of 24 hex characters"), "text/html")
            obj = dict(obj)
            obj["_id"] = obj.get("_id") or new_object_id()
            obj, _ = self._normalise_treatment(obj)
            index = self._find_index("treatments", lambda d: d.get("_id") == obj["_id"])
            stored, inserted = self._replace_or_insert("treatments", index, obj)
            result = {"ok": 1, "n": 1, "nModified": 0 if inserted else 1}
            if inserted:
                result["upserted"] = [{"index": 0, "_id": stored["_id"]}]
            answer = {"result": dict(result), "connection": {"id": 0, "host": "127.0.0.1",
                                                             "port": 27017}}
            answer.update(result)
            return answer
        answers = self._upsert_treatment(obj)
        answer = answers[0]
        if "_id" not in answer:
            key = answer.get("identifier")
            for doc in self._collections["treatments"]:
                if (key and doc.get("identifier") == key) or (
                        not key and doc.get("created_at") == answer["created_at"]
                        and doc.get("eventType") == answer.get("eventType")):
                    answer = {"_id": doc["_id"], **answer}
                    break
        return answer

    def _query(self, collection, params):
        """The MongoDB query Nightscout builds from the query string (``query.js``)."""
        find = params.get("find") if isinstance(params.get("find"), dict) else {}
        find = copy.deepcopy(find)
        if collection == "treatments":
            for field in ("insulin", "carbs", "glucose"):
                if truthy(find.get(field)):
                    find[field] = _walk_leaves(find[field], js_parse_int)
            for field in ("notes", "eventType", "enteredBy"):
                if truthy(find.get(field)):
                    find[field] = _walk_leaves(find[field], parse_regex)
            date_field = "created_at"
        elif collection == "entries":
            for field in ("date", "sgv", "mbg", "filtered", "unfiltered", "rssi", "noise"):
                if truthy(find.get(field)):
                    find[field] = _walk_leaves(find[field], js_parse_int)
            date_field = "date"
        else:
            for field in ("date", "sgv"):
                if truthy(find.get(field)):
                    find[field] = _walk_leaves(find[field], js_parse_int)
            date_field = "created_at"
        if not truthy(find.get("_id")):
            value = find.get(date_field)
            if truthy(value) and date_field != "date":
                items = value.items() if isinstance(value, dict) else enumerate(value)
                rewritten = {}
                for key, text in items:
                    if not isinstance(text, str):
                        raise BadRequest(500, _error_page(500, "TypeError: dateString.replace is "
                                                               "not a function"), "text/html")
                    if is_nan(js_number(text)):
                        parsed = parse_date(text.replace(" ", "+", 1))
                        if parsed is None:
                            raise InvalidDate(text)
                        text = iso_ms(parsed[0])
                    rewritten[key] = text
                if isinstance(value, dict):
                    find[date_field] = rewritten
            elif not truthy(value) and not truthy(find.get("dateString")):
                since = self.now() - FOUR_DAYS
                if date_field == "date":
                    find["date"] = {"$gte": int(since.timestamp() * 1000)}
                else:
                    find[date_field] = {"$gte": iso_ms(since)}
        elif isinstance(find["_id"], str):
            if HEX24.match(find["_id"]):
                find["_id"] = find["_id"].lower()          # an ObjectId, whatever the case
            elif self.flavor == "0.12.8" and len(find["_id"]) != 12:
                raise BadRequest(500, _error_page(500, "Error: Argument passed in must be a single "
                                 "String of 12 bytes or a string of 24 hex characters"), "text/html")
        return find

    def _list(self, collection, params, default_sort, default_count=None):
        query = self._query(collection, params)
        docs = [doc for doc in self._collections[collection] if matches(doc, query)]
        sort = params.get("sort") if isinstance(params.get("sort"), dict) and params.get("sort") \
            else default_sort
        docs = sort_docs(docs, {field: self._direction(value) for field, value in sort.items()})
        count = params.get("count")
        limit = js_parse_int(count) if truthy(count) else default_count
        if limit is not None and not is_nan(limit) and limit != 0:
            docs = docs[:abs(limit)]
        return copy.deepcopy(docs)

    def _direction(self, value):
        """A sort direction from the query string (always a string there).

        15.x's driver reads "1"/"asc"/"ascending" as ascending. 0.12.8's driver hands the string
        to the database unchanged, which does not read "1" as ascending (observed on 0.12.8:
        ``sort[created_at]=1`` still answers newest first); only "asc"/"ascending" work there.
        """
        if isinstance(value, int):
            return 1 if value > 0 else -1
        text = str(value).strip().lower()
        if text in ("asc", "ascending"):
            return 1
        if self.flavor != "0.12.8" and text == "1":
            return 1
        return -1

    def _delete(self, collection, params):
        query = self._query(collection, params)
        before = self._collections[collection]
        kept = [doc for doc in before if not matches(doc, query)]
        removed = len(before) - len(kept)
        self._collections[collection][:] = kept
        self._tindex = None
        return removed

    def _delete_answer(self, removed):
        if self.flavor == "0.12.8":
            return {"result": {"ok": 1, "n": removed},
                    "connection": {"id": 0, "host": "127.0.0.1", "port": 27017},
                    "ok": 1, "n": removed}
        return {"acknowledged": True, "deletedCount": removed}

    def _status(self):
        now = self.now()
        enable = ["careportal", "basal", "iob", "cob", "bolus"] if self.careportal else []
        return {
            "status": "ok", "name": "nightscout", "version": self.flavor,
            "serverTime": iso_ms(now), "serverTimeEpoch": int(now.timestamp() * 1000),
            "apiEnabled": bool(self._sha1), "careportalEnabled": bool(self._sha1) and self.careportal,
            "boluscalcEnabled": False,
            "settings": {"units": self.units, "enable": enable,
                         "authDefaultRoles": " ".join(self.default_roles)},
            "extendedSettings": {"devicestatus": {"advanced": True, "days": 1}},
            "authorized": None,
        }


def _shiro_check(pattern, permission):
    want = permission.split(":")
    have = pattern.split(":")
    for index, part in enumerate(want):
        if index >= len(have):
            return True
        options = have[index].split(",")
        if "*" not in options and part not in options:
            return False
    return True


# ---------------------------------------------------------------- HTTP

class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A client that went away (or a connection dropped on purpose while ``down``) is not
        # worth a traceback on stderr.
        logger.debug("fake nightscout: connection error", exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeNightscout"
    sys_version = ""
    fake = None                # set on the subclass made by FakeNightscout.start()

    def setup(self):
        super().setup()
        # Headers and body leave in two writes: without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):        # no stderr chatter; paths only, at DEBUG
        logger.debug("fake nightscout: %s %s", self.command, urllib.parse.urlsplit(self.path).path)

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    def do_PATCH(self):
        self._serve()

    # -- plumbing
    def _send(self, status, body, content_type="application/json", headers=None):
        if isinstance(body, ErrorPage):
            body, content_type = body.negotiate(self.headers.get("Accept"))
        if not isinstance(body, (str, bytes)) or content_type == "application/json":
            payload = json.dumps(js_clean(body), separators=(",", ":")).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        else:
            payload = body.encode("utf-8") if isinstance(body, str) else body
            if "charset" not in content_type:
                content_type += "; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop_connection(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        remaining, chunks = length, []
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            if length <= JSON_LIMIT:
                chunks.append(chunk)
        return length, b"".join(chunks)

    def _serve(self):
        fake = self.fake
        split = urllib.parse.urlsplit(self.path)
        path, raw_query = split.path, split.query
        if fake.prefix != "/":
            if path.startswith(fake.prefix):
                path = path[len(fake.prefix) - 1:]
            else:
                path = "/outside-prefix" + path
        with fake.lock:
            fake.request_log.append((self.command, self.path))
            down = fake.down
            latency = fake.latency
        if down:
            self._drop_connection()
            return
        length, raw_body = self._read_body()
        if latency:
            time.sleep(latency)
        with fake.lock:
            injected = fake._fail_queue.popleft() if fake._fail_queue else None
            predicate = fake._fail_when
        if injected is None and predicate is not None:
            outcome = predicate(self.command, path, urllib.parse.unquote(raw_query))
            if outcome is not None:
                status, body = outcome if isinstance(outcome, tuple) else (outcome, DEFAULT)
                injected = (status, body, {})
        if injected is not None:
            status, body, headers = injected
            if body is DEFAULT:
                try:
                    phrase = http.HTTPStatus(status).phrase
                except ValueError:
                    phrase = "Error"
                body = {"status": status, "message": phrase, "description": "injected by FakeNightscout"}
            content_type = "text/html" if isinstance(body, (str, bytes)) else "application/json"
            self._send(status, body, content_type, headers)
            return
        try:
            status, body, content_type, headers = self._route(path, raw_query, length, raw_body)
        except BadRequest as exc:
            status, body, content_type, headers = exc.status, exc.body, exc.content_type, None
        self._send(status, body, content_type, headers)

    def _route(self, path, raw_query, length, raw_body):
        fake = self.fake
        method = self.command
        if not path.startswith("/api/v1/"):
            return 404, _not_found_page(method, path), "text/html", None
        rest = path[len("/api/v1"):]
        params = parse_qs(raw_query)
        fmt = None
        match = re.match(r"^(.*)\.(json|csv|tsv|txt|html|svg|png|js)$", rest)
        if match:
            rest, fmt = match.group(1), match.group(2)
        collection = None
        for name in ("treatments", "activity", "entries", "profile"):
            if rest == "/" + name or rest.startswith("/" + name + "/"):
                collection = name
        limit = JSON_LIMIT if collection else SMALL_LIMIT
        if length > limit:
            return 413, _error_page(413, "PayloadTooLargeError: request entity too large", {
                "expected": length, "length": length, "limit": limit, "type": "entity.too.large",
                "status": 413, "statusCode": 413, "expose": True}), "text/html", None
        body, body_error = None, None
        if raw_body:
            ctype = (self.headers.get("Content-Type") or "").lower()
            if "json" in ctype:
                try:
                    body = json.loads(raw_body.decode("utf-8"), parse_constant=_reject_constant)
                except (ValueError, UnicodeDecodeError) as exc:
                    body_error = str(exc)
            elif "x-www-form-urlencoded" in ctype:
                body = parse_qs(raw_body.decode("utf-8", "replace"))
        if body_error is not None:
            return 400, _error_page(400, "SyntaxError: " + body_error, {
                "expose": True, "statusCode": 400, "status": 400,
                "body": raw_body.decode("utf-8", "replace"), "type": "entity.parse.failed"}), "text/html", None

        credential = params.get("secret") if isinstance(params.get("secret"), str) else None
        credential = credential or self.headers.get("api-secret")
        if not credential and isinstance(body, dict) and isinstance(body.get("secret"), str):
            credential = body.pop("secret")
        elif not credential and isinstance(body, list) and body and isinstance(body[0], dict) \
                and isinstance(body[0].get("secret"), str):
            credential = body[0].pop("secret")
        self._wait_not_before()
        admin = fake._is_admin(credential)

        def permitted(permission):
            if admin or fake._default_allows(permission):
                return True
            self._auth_failed()
            raise BadRequest(401, {"status": 401, "message": "Unauthorized",
                                   "description": "Invalid/Missing"})

        if rest in ("/verifyauth", "/verifyauth/"):
            if credential and not admin:
                self._auth_failed()
            return 200, {"status": 200, "message": self._verify_message(credential, admin)}, \
                "application/json", None
        if rest in ("/status", "/status/"):
            permitted("api:status:read")
            accept = self.headers.get("Accept") or "*/*"
            if fmt == "json" or (fmt is None and "json" in accept and "html" not in accept):
                return 200, fake._status(), "application/json", None
            if fmt == "txt":
                return 200, "STATUS OK", "text/plain", None
            return 200, "<h1>STATUS OK</h1>", "text/html", None
        if collection is None:
            return 404, _not_found_page(method, path), "text/html", None
        permitted("api:%s:read" % collection)
        with fake.lock:
            if collection == "profile":
                return self._profile(rest, method, body, permitted)
            try:
                return self._collection(collection, rest, method, params, body, permitted)
            except InvalidDate as exc:
                if fake.flavor == "0.12.8":
                    return 500, _error_page(500, "Error: Cannot parse %s as a valid ISO-8601 date"
                                            % exc), "text/html", None
                return 200, None, "application/json", None

    def _collection(self, collection, rest, method, params, body, permitted):
        fake = self.fake
        tail = rest[len("/" + collection):].lstrip("/")
        # 0.12.8 mounts the write routes only with API_SECRET set and careportal enabled.
        writable = fake.careportal and (fake._sha1 is not None or fake.flavor != "0.12.8")
        if method == "GET" and not tail:
            if collection == "treatments":
                default_count = None if fake.flavor == "0.12.8" else (1000 if "find" in params else 100)
                docs = fake._list(collection, params, {"created_at": -1}, default_count)
                for doc in docs:
                    doc["carbs"] = js_number(doc["carbs"]) if "carbs" in doc else None
                    doc["insulin"] = js_number(doc["insulin"]) if "insulin" in doc else None
            elif collection == "entries":
                docs = fake._list(collection, params, {"date": -1}, 10)
            else:
                docs = fake._list(collection, params, {"created_at": -1})
            headers = {}
            stamps = [parse_date(d.get("created_at")) for d in docs if "created_at" in d]
            stamps = [s[0] for s in stamps if s]
            if stamps:
                headers["Last-Modified"] = email.utils.format_datetime(max(stamps), usegmt=True)
            return 200, docs, "application/json", headers
        if method == "GET" and collection == "entries" and re.fullmatch(r"[a-z]+", tail or ""):
            if tail == "current":
                docs = fake._list(collection, {}, {"date": -1}, 1)
            else:
                merged = dict(params)
                find = dict(merged.get("find") or {})
                find["type"] = tail
                merged["find"] = find
                docs = fake._list(collection, merged, {"date": -1}, 10)
            return 200, docs, "application/json", None
        if not writable and collection in ("treatments", "activity"):
            return 404, _not_found_page(method, "/api/v1" + rest), "text/html", None
        if method == "POST" and not tail:
            permitted("api:%s:create" % collection)
            items = body if isinstance(body, list) else [body if body is not None else {}]
            if collection == "treatments":
                answers = []
                for item in items:
                    answers.extend(fake._upsert_treatment(copy.deepcopy(item)))
                return 200, answers, "application/json", None
            if collection == "activity":
                return 200, self._post_activity(items), "application/json", None
            return 200, self._post_entries(body), "application/json", None
        if method == "PUT" and not tail and collection == "treatments":
            permitted("api:treatments:update")
            return 200, fake._put_treatment(copy.deepcopy(body)), "application/json", None
        if method == "DELETE" and collection == "treatments":
            permitted("api:treatments:delete")
            merged = dict(params)
            if tail:
                find = dict(merged["find"]) if isinstance(merged.get("find"), dict) else {}
                if tail != "*":
                    find["_id"] = tail
                else:
                    find.pop("_id", None)
                merged["find"] = find
            return 200, fake._delete_answer(fake._delete(collection, merged)), "application/json", None
        if method == "DELETE" and collection == "activity" and tail:
            permitted("api:activity:delete")
            if not HEX24.match(tail):
                if fake.flavor == "0.12.8":
                    return 500, _error_page(500, "Error: Argument passed in must be a single String "
                                            "of 12 bytes or a string of 24 hex characters"), "text/html", None
                return 400, {"status": 400, "message": "Invalid _id format",
                             "description": "Must be 24-character hex string. Got: %s" % tail}, \
                    "application/json", None
            docs = fake._collections["activity"]
            docs[:] = [d for d in docs if d.get("_id") != tail.lower()]
            return 200, {}, "application/json", None
        return 404, _not_found_page(method, "/api/v1" + rest), "text/html", None

    def _profile(self, rest, method, body, permitted):
        """Profiles (docs/nightscout.md §8): newest startDate first; POST inserts; PUT by _id; DELETE by _id."""
        fake = self.fake
        docs = fake._collections["profile"]
        tail = rest[len("/profile"):].lstrip("/")
        newest = sorted(docs, key=lambda d: str(d.get("startDate") or d.get("created_at") or ""), reverse=True)
        if method == "GET" and tail == "current":
            return 200, (copy.deepcopy(newest[0]) if newest else None), "application/json", None
        if method == "GET" and not tail:
            return 200, copy.deepcopy(newest[:10]), "application/json", None
        if method == "POST" and not tail:
            permitted("api:profile:create")
            answers = []
            for item in (body if isinstance(body, list) else [body or {}]):
                item = js_clean(copy.deepcopy(item)) if isinstance(item, dict) else {}
                if "_id" in item and item["_id"] is not None and not (isinstance(item["_id"], str)
                                                                       and HEX24.match(item["_id"])):
                    raise BadRequest(400, {"status": 400, "message": "Invalid _id format",
                                           "description": "Must be 24-character hex string or omit for "
                                                          "auto-generation. Got: %s" % item["_id"]})
                item.setdefault("created_at", iso_ms(dt.datetime.now(dt.timezone.utc)))
                stored, _ = fake._replace_or_insert("profile", None, item)
                answers.append(copy.deepcopy(stored))
            return 200, answers, "application/json", None
        if method == "PUT" and not tail:
            permitted("api:profile:update")
            item = js_clean(copy.deepcopy(body)) if isinstance(body, dict) else {}
            if not (isinstance(item.get("_id"), str) and HEX24.match(item["_id"])):
                raise BadRequest(400, {"status": 400, "message": "Invalid _id format",
                                       "description": "Must be 24-character hex string"})
            index = fake._find_index("profile", lambda d: d.get("_id") == item["_id"])
            stored, _ = fake._replace_or_insert("profile", index, item)
            return 200, copy.deepcopy(stored), "application/json", None
        if method == "DELETE" and tail:
            permitted("api:profile:delete")
            docs[:] = [d for d in docs if d.get("_id") != tail.lower()]
            return 200, {}, "application/json", None
        return 404, _not_found_page(method, "/api/v1" + rest), "text/html", None

    def _post_activity(self, items):
        fake = self.fake
        answers = []
        for item in items:
            item = js_clean(copy.deepcopy(item)) if isinstance(item, dict) else {}
            if fake.flavor != "0.12.8":
                item = _purify_all(item)
                if "_id" in item and item["_id"] is not None and not (
                        isinstance(item["_id"], str) and HEX24.match(item["_id"])):
                    raise BadRequest(400, {"status": 400, "message": "Invalid _id format",
                                           "description": "Must be 24-character hex string or omit "
                                                          "for auto-generation. Got: %s" % item["_id"]})
                same = fake._find_index("activity", lambda d: {k: v for k, v in d.items()
                                                               if k != "_id"} == item)
                if same is not None:
                    fake._collections["activity"][same] = {"_id": fake._collections["activity"][same]["_id"], **item}
                    answers.append(dict(item))
                    continue
            stored, _ = fake._replace_or_insert("activity", None, item)
            answer = dict(item)
            answer["_id"] = stored["_id"]
            answers.append(answer)
        return answers

    def _post_entries(self, body):
        fake = self.fake
        items = body if isinstance(body, list) else ([body] if isinstance(body, dict) and "date" in body else [])
        answers = []
        for item in items:
            item = js_clean(copy.deepcopy(item)) if isinstance(item, dict) else {}
            parsed = parse_date(item.get("dateString")) if item.get("dateString") else None
            if parsed is None and isinstance(item.get("date"), (int, float)):
                parsed = parse_date(item["date"])
            if parsed is None:
                parsed = (fake.now(), 0)
            item["sysTime"] = iso_ms(parsed[0])
            item["utcOffset"] = parsed[1]
            if "dateString" in item:
                item["dateString"] = iso_ms(parsed[0])
            index = fake._find_index("entries", lambda d: d.get("sysTime") == item["sysTime"]
                                     and d.get("type") == item.get("type"))
            stored, _ = fake._replace_or_insert("entries", index, item)
            answers.append(copy.deepcopy(stored))
        return answers

    def _verify_message(self, credential, admin):
        fake = self.fake
        if fake.flavor == "0.12.8":
            return "OK" if admin else "UNAUTHORIZED"
        can_read = admin or fake._default_allows("api:treatments:read")
        can_write = admin or fake._default_allows("api:treatments:create")
        return {"canRead": can_read, "canWrite": can_write, "isAdmin": admin,
                "message": "OK" if admin else "UNAUTHORIZED", "rolefound": "NOTFOUND",
                "permissions": "ROLE" if credential else "DEFAULT"}

    def _auth_failed(self):
        fake = self.fake
        if fake.flavor != "0.12.8" and fake.auth_fail_delay:
            with fake.lock:
                fake._not_before = max(fake._not_before, time.monotonic()) + fake.auth_fail_delay

    def _wait_not_before(self):
        with self.fake.lock:
            wait = self.fake._not_before - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A fake Nightscout on 127.0.0.1 (for demos and tests).")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument("--secret", default=os.environ.get("NS_SECRET"),
                        help="API_SECRET (>= 12 characters; default: $NS_SECRET)")
    parser.add_argument("--flavor", choices=FLAVORS, default="15.0.7")
    parser.add_argument("--auth-default-roles", default="denied")
    args = parser.parse_args(argv)
    if not args.secret or len(args.secret) < 12:
        parser.error("--secret must have at least 12 characters")
    fake = FakeNightscout(api_secret=args.secret, flavor=args.flavor, port=args.port,
                          auth_default_roles=args.auth_default_roles).start()
    print("Fake Nightscout %s serving at %s (Ctrl-C to stop)" % (args.flavor, fake.url), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
