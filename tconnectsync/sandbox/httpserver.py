"""What every fake Tandem cloud is made of: one local HTTP server per host, and a sandbox
object that owns them, counts and logs requests, injects faults and routes each request to the
method ``_route_<host>`` of the host it reached.

A sandbox subclass of ``MultiHostSandbox`` sets ``HOSTS`` and implements, per host,
``_route_<host>(method, path, raw_query, query, headers, body) -> Response``, plus the hooks
``_fault_response``, ``_internal_error`` and ``_record``. Standard library only.
"""
import collections
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .faults import FaultsMixin

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"


class Response:
    """An answer: status, body (bytes; str is UTF-8 encoded), content type, extra headers."""

    def __init__(self, status, body=b"", content_type=HTML, headers=()):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = list(headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 30

    def setup(self):
        super().setup()
        with self.server.conn_lock:
            self.server.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.conns.discard(self.connection)

    def _any(self):
        self.server.sandbox._handle(self, self.command)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.server.host, fmt % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class HostServer:
    """One listening socket on 127.0.0.1 for one host; ``stop`` closes it and every open
    connection (clients then get "connection refused"). It keeps its port across restarts."""

    def __init__(self, sandbox, host):
        self.sandbox, self.host, self.port = sandbox, host, 0
        self.httpd = None
        self.thread = None

    def start(self):
        if self.httpd is not None:
            return
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.sandbox, httpd.host = self.sandbox, self.host
        httpd.conns, httpd.conn_lock = set(), threading.Lock()
        self.port = httpd.server_address[1]
        self.httpd = httpd
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="tandem-sandbox-%s" % self.host, daemon=True)
        self.thread.start()

    def stop(self):
        httpd, self.httpd = self.httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        self.thread.join(5)
        with httpd.conn_lock:
            conns = list(httpd.conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port


class MultiHostSandbox(FaultsMixin):
    """Hosts, request flow, faults and the login lockout shared by the fake Tandem clouds."""

    HOSTS = ()
    PREDICATE_ERROR = 500           # what a request gets when a fail_when predicate raised

    def __init__(self, email, password, latency, token_lifetime_s, clock):
        self.email = email
        self.password = password
        self.latency = latency
        self.token_lifetime_s = token_lifetime_s
        self.clock = clock
        self.max_failed_logins = 5
        self.lockout_s = 3600
        self.login_attempts = 0
        self.failed_logins = 0
        self.logins = 0                 # successful credential logins
        self._failure_times = []
        self._locked_until = None
        self._lock = threading.RLock()
        self._counts = {h: 0 for h in self.HOSTS}
        self._log = []
        self._faults = {h: collections.deque() for h in self.HOSTS}
        self._predicates = []
        self._tokens = {}
        self._down = set()
        self._running = False
        self._servers = {h: HostServer(self, h) for h in self.HOSTS}

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        self._running = True
        for host in self.HOSTS:
            if host not in self._down:
                self._servers[host].start()
        return self

    def stop(self):
        self._running = False
        stoppers = [threading.Thread(target=server.stop) for server in self._servers.values()]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ request flow

    def _record(self, host, method, raw_path, headers, status):
        """Log one request (``status`` None: dropped without an answer)."""
        raise NotImplementedError

    def _fault_response(self, host, status, headers, body):
        """The answer to an injected failure (``body`` None: the host's usual error body)."""
        raise NotImplementedError

    def _internal_error(self):
        """The answer when a route raised."""
        raise NotImplementedError

    def _handle(self, h, method):
        host = h.server.host
        parts = urlsplit(h.path)
        path, raw_query = parts.path, parts.query
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        with self._lock:
            self._counts[host] += 1
            fault = self._faults[host].popleft() if self._faults[host] else None
            predicates = list(self._predicates)
        if self.latency:
            time.sleep(self.latency)
        if host in self._down or not self._running or (fault and fault[0] == "drop"):
            self._record(host, method, h.path, h.headers, None)
            h.close_connection = True
            return
        resp = None
        if fault:
            resp = self._fault_response(host, fault[1], fault[2], fault[3])
        else:
            for predicate in predicates:
                try:
                    res = predicate(host, method, path, query)
                except Exception:
                    log.exception("fail_when predicate raised on %s %s", method, path)
                    res = self.PREDICATE_ERROR
                if res == "drop":                   # the connection closes without an answer
                    self._record(host, method, h.path, h.headers, None)
                    h.close_connection = True
                    return
                if res is not None:
                    status, headers, fbody = (res, None, None) if isinstance(res, int) else tuple(res)
                    resp = self._fault_response(host, status, headers, fbody)
                    break
        if resp is None:
            try:
                resp = getattr(self, "_route_" + host)(method, path, raw_query, query, h.headers, body)
            except Exception:
                log.exception("sandbox error on %s %s", method, path)
                resp = self._internal_error()
        self._record(host, method, h.path, h.headers, resp.status)
        h.send_response(resp.status)
        h.send_header("Content-Type", resp.content_type)
        h.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers:
            h.send_header(name, value)
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(resp.body)

    # ------------------------------------------------------------------ logins

    @property
    def locked_out(self):
        with self._lock:
            return self._is_locked(self.clock())

    def reset_lockout(self):
        with self._lock:
            self._failure_times = []
            self._locked_until = None

    def _is_locked(self, now):
        if self._locked_until is not None:
            if now < self._locked_until:
                return True
            self._locked_until = None
            self._failure_times = []
        return False

    def _login_attempt(self, email, password):
        """"ok", "failed" or "locked"; counts the attempt and takes part in the lockout."""
        now = self.clock()
        with self._lock:
            self.login_attempts += 1
            if self._is_locked(now):
                return "locked"
            if isinstance(email, str) and email.strip().lower() == self.email.lower() and password == self.password:
                self.logins += 1
                return "ok"
            self.failed_logins += 1
            self._failure_times = [t for t in self._failure_times if now - t < self.lockout_s] + [now]
            if len(self._failure_times) > self.max_failed_logins:
                self._locked_until = now + self.lockout_s
            return "failed"
