"""The HTTP side of the fake Nightscout: routes, auth checks, bodies and limits."""
import copy
import datetime as dt
import email.utils
import http.server
import json
import logging
import re
import socket
import time
import urllib.parse

from .pages import ErrorPage, error_page, not_found_page
from .query import purify_all
from .values import (BadRequest, DEFAULT, HEX24, InvalidDate, JSON_LIMIT, SMALL_LIMIT, iso_ms, js_clean, js_number,
                     parse_date, parse_qs, reject_constant)

logger = logging.getLogger(__name__)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A client that went away (or a connection dropped on purpose while ``down``) is not
        # worth a traceback on stderr.
        logger.debug("fake nightscout: connection error", exc_info=True)


class Handler(http.server.BaseHTTPRequestHandler):
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
            if outcome == "drop":               # the connection closes without an answer
                self._drop_connection()
                return
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
            return 404, not_found_page(method, path), "text/html", None
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
            return 413, error_page(413, "PayloadTooLargeError: request entity too large", {
                "expected": length, "length": length, "limit": limit, "type": "entity.too.large",
                "status": 413, "statusCode": 413, "expose": True}), "text/html", None
        body, body_error = None, None
        if raw_body:
            ctype = (self.headers.get("Content-Type") or "").lower()
            if "json" in ctype:
                try:
                    body = json.loads(raw_body.decode("utf-8"), parse_constant=reject_constant)
                except (ValueError, UnicodeDecodeError) as exc:
                    body_error = str(exc)
            elif "x-www-form-urlencoded" in ctype:
                body = parse_qs(raw_body.decode("utf-8", "replace"))
        if body_error is not None:
            return 400, error_page(400, "SyntaxError: " + body_error, {
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
            return 404, not_found_page(method, path), "text/html", None
        permitted("api:%s:read" % collection)
        with fake.lock:
            if collection == "profile":
                return self._profile(rest, method, body, permitted)
            try:
                return self._collection(collection, rest, method, params, body, permitted)
            except InvalidDate as exc:
                if fake.flavor == "0.12.8":
                    return 500, error_page(500, "Error: Cannot parse %s as a valid ISO-8601 date"
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
            return 404, not_found_page(method, "/api/v1" + rest), "text/html", None
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
                    return 500, error_page(500, "Error: Argument passed in must be a single String "
                                            "of 12 bytes or a string of 24 hex characters"), "text/html", None
                return 400, {"status": 400, "message": "Invalid _id format",
                             "description": "Must be 24-character hex string. Got: %s" % tail}, \
                    "application/json", None
            docs = fake._collections["activity"]
            docs[:] = [d for d in docs if d.get("_id") != tail.lower()]
            return 200, {}, "application/json", None
        return 404, not_found_page(method, "/api/v1" + rest), "text/html", None

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
        return 404, not_found_page(method, "/api/v1" + rest), "text/html", None

    def _post_activity(self, items):
        fake = self.fake
        answers = []
        for item in items:
            item = js_clean(copy.deepcopy(item)) if isinstance(item, dict) else {}
            if fake.flavor != "0.12.8":
                item = purify_all(item)
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
