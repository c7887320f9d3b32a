"""The Nightscout client: reads and writes treatments and activity through ``/api/v1``.

Every request goes through ``NightscoutClient._call``, which sends the secret only as the header
``api-secret: <sha1 hex>`` (never in a URL), maps statuses to our error types and parses JSON;
everything else calls the public methods (treatments, entries, activity, profiles).
Timeouts, retries of transient failures and redacted logging are ``HttpClient``'s job.

What Nightscout does with what we send (normalisation, dedup keys, the implicit 4-day window of
queries, paging) is described in ``docs/nightscout.md``; ``normalize_for_compare``
predicts the stored form of a treatment so that a sync can tell "already there" from "changed".
"""
import datetime as dt
import hashlib
import json
import logging
import re
import time

from .errors import NightscoutAuthError, NightscoutError, TransientError
from .http import HttpClient, join_url
from .nightscout_form import _json_default, _parse_instant, iso_utc, normalize_for_compare  # noqa: F401 - public here too
from .nightscout_form import DATE_FIELDS, date_form, dates_in_form

logger = logging.getLogger(__name__)

ENTERED_BY = "Pump (tconnectsync)"

UTC = dt.timezone.utc
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def hash_secret(secret):
    """The SHA-1 hex digest (lower case) of the API secret: what Nightscout compares."""
    return hashlib.sha1(secret.encode("utf-8")).hexdigest()


def _exact(value):
    """A ``find`` value that matches ``value`` exactly even if it looks like ``/regex/``."""
    if "/" in value and re.search(r"/(.*)/", value):
        return "/^%s$/" % re.sub(r"([\\^$.|?*+()\[\]{}/-])", r"\\\1", value)
    return value


class NightscoutClient:
    """One Nightscout site. Thread-compatible (one HTTP session), not thread-safe."""

    def __init__(self, url, secret, http=None, batch_size=1000, page_size=1000, timeout=(10, 60),
                 sleep=time.sleep):
        if not url or not isinstance(url, str):
            raise ValueError("a Nightscout URL is needed")
        url = url.strip()
        self.url = url if url.endswith("/") else url + "/"
        self._secret_hash = hash_secret(secret) if secret else None
        self._secret = secret
        self.http = http or HttpClient("Nightscout", timeout=timeout, sleep=sleep)
        self.batch_size = max(1, int(batch_size))
        self.page_size = max(1, int(page_size))

    def __repr__(self):
        return "NightscoutClient(%r)" % self.url

    @property
    def request_count(self):
        return self.http.request_count

    # ------------------------------------------------------------ the one choke point
    def _call(self, method, path, what, params=None, body=None):
        url = join_url(self.url, path)
        headers = {"Accept": "application/json"}
        if self._secret_hash:
            headers["api-secret"] = self._secret_hash
        data = None
        if params:                  # every date in one form (nightscout_form.DATE_FIELDS)
            params = [(k, date_form(v)) if _date_filter(k) else (k, v) for k, v in params]
        if body is not None:
            body = dates_in_form(body)
            data = json.dumps(body, default=_json_default, allow_nan=False,
                              separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        # retry=True: the POSTs here (treatments, activity) are upserts, so safe to repeat.
        response = self.http.request(method, url, params=params, data=data, headers=headers, retry=True)
        status = response.status_code
        if status == 401:
            raise NightscoutAuthError(
                "Nightscout refused the secret (HTTP 401): check NS_SECRET (the site's API_SECRET, "
                "at least 12 characters; it must allow reading and writing treatments). It happened "
                "while %s." % what, status)
        if status >= 400:
            raise NightscoutError(self._failure_sentence(method, what, response), status)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise NightscoutError("Nightscout answered %s with something that is not JSON (HTTP %d, "
                                  "%s): is NS_URL the address of a Nightscout site?"
                                  % (what, status, response.headers.get("Content-Type", "no type")),
                                  status) from None

    def _failure_sentence(self, method, what, response):
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        text = response.text or ""
        if "html" in content_type or text.lstrip().startswith("<"):
            title = re.search(r"<(?:title|pre|h2)>(.*?)</", text, re.S)
            detail = re.sub(r"<[^>]+>", "", title.group(1)).strip() if title else ""
        else:
            detail = text.strip()
        detail = self._redact(detail)[:200]
        if status == 404 and method in ("POST", "PUT", "DELETE") and "html" in content_type:
            return ("Nightscout has no write API here (HTTP 404 while %s): enable careportal "
                    "(add it to ENABLE on the Nightscout server) and check NS_URL." % what)
        if status == 404:
            return "Nightscout answered HTTP 404 while %s: check NS_URL (%s)." % (what, detail or "not found")
        if status == 413:
            return ("Nightscout refused a request that was too large (HTTP 413) while %s: lower "
                    "the batch size." % what)
        return "Nightscout answered HTTP %d while %s (%s)." % (status, what, detail or "no detail")

    def _redact(self, text):
        for secret in (self._secret, self._secret_hash):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text

    # ------------------------------------------------------------ status and auth
    def status(self):
        body = self._call("GET", "api/v1/status.json", "reading the status")
        if not isinstance(body, dict):
            raise NightscoutError("Nightscout's status has an unknown shape: is NS_URL the address "
                                  "of a Nightscout site?")
        return body

    def verify_auth(self):
        """Whether the secret works: ``{"ok", "can_write", "message"}`` for every version.

        ``can_write`` is None when the server does not say (0.12.8 and 14.0.x only tell "OK",
        meaning full rights, or "UNAUTHORIZED").
        """
        body = self._call("GET", "api/v1/verifyauth", "checking the secret")
        inner = body.get("message") if isinstance(body, dict) else None
        if isinstance(inner, dict):             # 14.x / 15.x
            message = str(inner.get("message", ""))
            ok = message == "OK"
            if "canWrite" in inner:
                can_write = bool(inner.get("canWrite"))
            else:
                can_write = True if ok else None
        elif isinstance(inner, str):            # 0.12.8
            message = inner
            ok = message == "OK"
            can_write = True if ok else None
        else:
            raise NightscoutError("Nightscout's verifyauth answer has an unknown shape.")
        return {"ok": ok, "can_write": can_write, "message": message}

    # ------------------------------------------------------------ treatments
    def treatments(self, start, end, entered_by=ENTERED_BY, event_type=None):
        """All treatments with ``start <= created_at < end``, by ``entered_by``; oldest first.

        Pages newest first, the server's default order: ``sort[created_at]=1`` is not honoured
        by 0.12.8 (the string "1" reaches the database, which sorts descending anyway). Each
        page is ``count=page_size`` below the oldest ``created_at`` seen so far (``$lte``, and
        documents already seen are skipped by ``_id``), so documents sharing an instant across a
        page boundary are all read. When a whole page shares one instant, that instant is read
        on its own and paging goes on below it. The explicit ``created_at`` range keeps the
        server's implicit 4-day window away.
        """
        lower, upper = iso_utc(start), iso_utc(end)
        if lower >= upper:
            return []
        filters = []
        if entered_by is not None:
            filters.append(("find[enteredBy]", _exact(entered_by)))
        if event_type is not None:
            filters.append(("find[eventType]", _exact(event_type)))
        what = "reading treatments from %s to %s" % (lower, upper)
        found, seen, bounds_tried = [], set(), set()
        bound, bound_op = upper, "$lt"
        while True:
            if (bound, bound_op) in bounds_tried:
                raise NightscoutError("Nightscout ignored the created_at range while %s (the same "
                                      "page came back twice)." % what)
            bounds_tried.add((bound, bound_op))
            page = self._treatment_page(what, filters, lower, bound_op, bound, self.page_size)
            fresh = self._add_unseen(page, seen, found)
            if len(page) < self.page_size:
                break
            stamps = [doc.get("created_at") for doc in page if isinstance(doc.get("created_at"), str)]
            if not stamps:
                break
            oldest = min(stamps)
            if fresh and oldest != bound:
                bound, bound_op = oldest, "$lte"
                continue
            # A whole page on the instant paging stopped at: more documents share that
            # created_at than a page holds. Read that instant on its own, then go on below it.
            same = self._treatment_page(what, filters, oldest, "$lte", oldest, 0)
            self._add_unseen(same, seen, found)
            bound, bound_op = oldest, "$lt"
        found.sort(key=lambda doc: (str(doc.get("created_at", "")), str(doc.get("_id", ""))))
        logger.debug("Nightscout: %d treatments from %s to %s", len(found), lower, upper)
        return found

    @staticmethod
    def _add_unseen(page, seen, found):
        fresh = 0
        for doc in page:
            key = doc.get("_id")
            if key not in seen:
                seen.add(key)
                found.append(doc)
                fresh += 1
        return fresh

    def _treatment_page(self, what, filters, lower, high_op, high, count):
        params = [("find[created_at][$gte]", lower), ("find[created_at][%s]" % high_op, high)]
        params += filters
        # count 0 would mean "no limit" to MongoDB but "default" to Nightscout 14+: ask for a
        # large explicit number instead. No sort parameter: newest first is the default.
        params.append(("count", str(count or 1000000)))
        body = self._call("GET", "api/v1/treatments.json", what, params=params)
        if body is None:
            raise NightscoutError("Nightscout could not read the date range while %s (it answered "
                                  "null)." % what)
        if not isinstance(body, list):
            raise NightscoutError("Nightscout answered %s with %s instead of a list."
                                  % (what, type(body).__name__))
        return [doc for doc in body if isinstance(doc, dict)]

    def newest_treatment(self, before, entered_by=ENTERED_BY, skip_event_types=("Announcement",), look_at=20):
        """The newest treatment by ``entered_by`` with ``created_at <= before`` (a datetime), or None.

        One request: the server's newest ``look_at`` documents (its default order is newest
        first), skipping ``skip_event_types`` (our announcements are stamped when posted, not by
        a pump record). ``before`` keeps a pump clock set in the future from answering "now"
        forever; the explicit range also lifts the server's implicit 4-day window.
        """
        params = [("find[created_at][$gte]", "1970-01-01T00:00:00.000Z"),
                  ("find[created_at][$lte]", iso_utc(before))]
        if entered_by is not None:
            params.append(("find[enteredBy]", _exact(entered_by)))
        params.append(("count", str(max(1, int(look_at)))))
        what = "reading the newest treatment by %s" % (entered_by or "anyone")
        body = self._call("GET", "api/v1/treatments.json", what, params=params)
        if not isinstance(body, list):
            raise NightscoutError("Nightscout answered %s with %s instead of a list."
                                  % (what, type(body).__name__ if body is not None else "null"))
        newest, newest_at = None, None
        for doc in body:
            if not isinstance(doc, dict) or doc.get("eventType") in skip_event_types:
                continue
            at = _parse_instant(doc.get("created_at"))
            if at is not None and (newest_at is None or at > newest_at):
                newest, newest_at = doc, at
        return newest

    def upload_treatments(self, docs):
        """POST ``docs`` in batches of at most ``batch_size``; returns how many were sent."""
        docs = list(docs)
        batches = [docs[i:i + self.batch_size] for i in range(0, len(docs), self.batch_size)]
        sent = 0
        for number, batch in enumerate(batches, 1):
            what = "uploading treatments batch %d of %d (%d, created_at %s to %s)" % (
                number, len(batches), len(batch), _created(batch[0]), _created(batch[-1]))
            try:
                body = self._call("POST", "api/v1/treatments", what, body=batch)
            except TransientError:
                logger.warning("Nightscout: giving up on %s", what)
                raise
            if not isinstance(body, list):
                raise NightscoutError("Nightscout answered %s with %s instead of a list."
                                      % (what, type(body).__name__))
            sent += len(batch)
            logger.debug("Nightscout: sent %s", what)
        return sent

    def update_treatment(self, doc):
        """Replace the stored treatment ``doc["_id"]`` with ``doc``."""
        _id = doc.get("_id") if isinstance(doc, dict) else None
        if not isinstance(_id, str) or not _OBJECT_ID.match(_id):
            raise ValueError("update_treatment needs a document with a 24-hex _id")
        self._call("PUT", "api/v1/treatments", "updating treatment %s (created_at %s)"
                   % (_id, _created(doc)), body=doc)

    def delete_treatment(self, _id):
        if not isinstance(_id, str) or not _OBJECT_ID.match(_id):
            # "*" or a malformed id would delete whatever the 4-day window holds.
            raise ValueError("delete_treatment needs a 24-hex _id, got %r" % (_id,))
        self._call("DELETE", "api/v1/treatments/" + _id, "deleting treatment %s" % _id)

    def post_announcement(self, text, created_at):
        when = iso_utc(created_at) if isinstance(created_at, dt.datetime) else created_at
        self.upload_treatments([{"eventType": "Announcement", "notes": text,
                                 "created_at": when, "enteredBy": ENTERED_BY}])

    # ------------------------------------------------------------ activity
    def activities(self, activity_type, entered_by=ENTERED_BY):
        """Activity documents of ``activity_type`` by ``entered_by``, newest first.

        Activity ``created_at`` is stored as sent (not normalised), so the explicit range is
        only there to lift the server's 4-day window.
        """
        params = [("find[created_at][$gte]", "1970-01-01T00:00:00.000Z"),
                  ("find[activityType]", activity_type)]
        if entered_by is not None:
            params.append(("find[enteredBy]", entered_by))
        params.append(("count", "1000000"))
        what = "reading %s activity" % activity_type
        body = self._call("GET", "api/v1/activity.json", what, params=params)
        if not isinstance(body, list):
            raise NightscoutError("Nightscout answered %s with %s instead of a list."
                                  % (what, type(body).__name__))
        docs = [doc for doc in body if isinstance(doc, dict)]
        docs.sort(key=lambda doc: _parse_instant(doc.get("created_at"))
                  or dt.datetime.min.replace(tzinfo=UTC), reverse=True)
        return docs

    def upload_activities(self, docs):
        docs = list(docs)
        sent = 0
        for start in range(0, len(docs), self.batch_size):
            batch = docs[start:start + self.batch_size]
            what = "uploading %d activity documents (created_at %s to %s)" % (
                len(batch), _created(batch[0]), _created(batch[-1]))
            self._call("POST", "api/v1/activity", what, body=batch)
            sent += len(batch)
        return sent

    def delete_activity(self, _id):
        if not isinstance(_id, str) or not _OBJECT_ID.match(_id):
            raise ValueError("delete_activity needs a 24-hex _id, got %r" % (_id,))
        self._call("DELETE", "api/v1/activity/" + _id, "deleting activity %s" % _id)


    # ------------------------------------------------------------ entries (CGM)
    def entries(self, lo_ms, hi_ms, entry_type="sgv"):
        """Every entry of ``entry_type`` (any device) with ``lo_ms <= date <= hi_ms`` (epoch ms), one request."""
        params = [("find[date][$gte]", str(int(lo_ms))), ("find[date][$lte]", str(int(hi_ms))),
                  ("find[type]", entry_type), ("count", "1000000")]
        body = self._call("GET", "api/v1/entries.json", "reading CGM entries", params=params)
        if not isinstance(body, list):
            raise NightscoutError("Nightscout answered reading CGM entries with %s instead of a list."
                                  % type(body).__name__)
        return [e for e in body if isinstance(e, dict)]

    def upload_entries(self, docs):
        """POST entries in batches of at most ``batch_size``; returns how many were sent."""
        docs = list(docs)
        for i in range(0, len(docs), self.batch_size):
            batch = docs[i:i + self.batch_size]
            self._call("POST", "api/v1/entries", "uploading %d CGM readings (%s to %s)"
                       % (len(batch), batch[0].get("dateString", "?"), batch[-1].get("dateString", "?")), body=batch)
        return len(docs)

    # ------------------------------------------------------------ profiles
    def current_profile(self):
        """The profile document in force (``/profile/current``), or None when there is none."""
        body = self._call("GET", "api/v1/profile/current", "reading the current profile")
        return body if isinstance(body, dict) and isinstance(body.get("store"), dict) else None

    def profiles(self, count=50):
        """The newest ``count`` profile documents, newest first."""
        body = self._call("GET", "api/v1/profile.json", "reading profile history", params=[("count", str(int(count)))])
        return [d for d in body if isinstance(d, dict)] if isinstance(body, list) else []

    def upload_profile(self, doc, what="adding a profile"):
        """POST a new profile document (Nightscout keeps the older ones as history)."""
        self._call("POST", "api/v1/profile", what, body=doc)

    def update_profile(self, doc, what="replacing the profile"):
        """PUT ``doc`` over the stored profile document with its ``_id``."""
        if not isinstance(doc.get("_id"), str) or not _OBJECT_ID.match(doc["_id"]):
            raise ValueError("update_profile needs a document with a 24-hex _id")
        self._call("PUT", "api/v1/profile", what, body=doc)


def _date_filter(key):
    """Whether a query parameter filters on a date field: ``find[created_at][$gte]``."""
    return key.startswith("find[") and key[5:].split("]", 1)[0] in DATE_FIELDS


def _created(doc):
    value = doc.get("created_at") if isinstance(doc, dict) else None
    if isinstance(value, dt.datetime):
        return iso_utc(value) if value.tzinfo else value.isoformat()
    return value if isinstance(value, str) else "?"
