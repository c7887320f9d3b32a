"""``FakeNightscout``: the server's state, its collections and the rules of the two flavours."""
import collections
import copy
import datetime as dt
import hashlib
import math
import re
import threading

from .handler import Handler, Server
from .pages import error_page
from .query import matches, parse_regex, purify_all, sort_docs, walk_leaves
from .values import (BadRequest, DEFAULT, DROP_WHEN_EMPTY, FLAVORS, FOUR_DAYS, HEX24, InvalidDate, NUMBER_FIELDS,
                     ROLES, UTC, is_nan, iso_ms, js_clean, js_number, js_parse_int, new_object_id, parse_date, truthy)


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
        handler = type("Handler", (Handler,), {"fake": self})
        self._server = Server(("127.0.0.1", self.port), handler)
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
        """``predicate(method, path, query)`` -> a status, (status, body), "drop" (close the
        connection without an answer), or None to serve normally.

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
        return any(shiro_check(pattern, permission)
                   for role in self.default_roles for pattern in ROLES.get(role, []))

    # -- storage operations (called with the lock held)
    def _normalise_treatment(self, obj):
        """Steps 1-8 of docs/nightscout.md §5.2 on one object; returns (obj, prebolus_doc or None)."""
        if not isinstance(obj, dict):
            obj = {}
        if self.flavor != "0.12.8":
            obj = purify_all(obj)
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
                    raise BadRequest(500, error_page(500, "RangeError: Invalid time value"), "text/html")
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
                raise BadRequest(500, error_page(500, "Error: Argument passed in must be a single "
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
                    find[field] = walk_leaves(find[field], js_parse_int)
            for field in ("notes", "eventType", "enteredBy"):
                if truthy(find.get(field)):
                    find[field] = walk_leaves(find[field], parse_regex)
            date_field = "created_at"
        elif collection == "entries":
            for field in ("date", "sgv", "mbg", "filtered", "unfiltered", "rssi", "noise"):
                if truthy(find.get(field)):
                    find[field] = walk_leaves(find[field], js_parse_int)
            date_field = "date"
        else:
            for field in ("date", "sgv"):
                if truthy(find.get(field)):
                    find[field] = walk_leaves(find[field], js_parse_int)
            date_field = "created_at"
        if not truthy(find.get("_id")):
            value = find.get(date_field)
            if truthy(value) and date_field != "date":
                items = value.items() if isinstance(value, dict) else enumerate(value)
                rewritten = {}
                for key, text in items:
                    if not isinstance(text, str):
                        raise BadRequest(500, error_page(500, "TypeError: dateString.replace is "
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
                raise BadRequest(500, error_page(500, "Error: Argument passed in must be a single "
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


def shiro_check(pattern, permission):
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
