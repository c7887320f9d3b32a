"""The HTTP choke point (tconnectsync.http) against a tiny server on 127.0.0.1 in the test.

The server answers from a script (one answer per request, the last one repeated) and records
what it received, so each test asserts what went over the wire, not what a mock was told.
"""
import http.server
import logging
import threading

import pytest

from tconnectsync.errors import BadCredentials, RateLimited, TandemError, TransientError
from tconnectsync.http import IDEMPOTENT_METHODS, HttpClient, StatusErrors

SECRET_TOKEN = "tok-Secret-123"


class Script:
    """What the server answers, in order; the last answer is repeated."""

    def __init__(self):
        self.answers = [(200, {}, b"{}")]
        self.received = []          # (method, path with query, headers)
        self.lock = threading.Lock()
        self.release = threading.Event()   # a "hang" answer waits for this (or 5 s)

    def answer(self, *answers):
        """Each answer: a status, or (status, headers, body), or "hang"."""
        self.answers = [a if isinstance(a, tuple) or a == "hang" else (a, {}, b"{}") for a in answers]

    def next(self, method, path, headers):
        with self.lock:
            self.received.append((method, path, headers))
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    @property
    def methods(self):
        return [r[0] for r in self.received]


@pytest.fixture
def server():
    script = Script()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            answer = script.next(self.command, self.path, dict(self.headers))
            if answer == "hang":
                script.release.wait(5)
                return
            status, headers, body = answer
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _any

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = "http://127.0.0.1:%d/" % httpd.server_address[1]
    yield script
    script.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def sleeps():
    class Sleeps(list):
        def __call__(self, seconds):
            self.append(seconds)
    return Sleeps()


def client(sleeps, **kw):
    kw.setdefault("attempts", 3)
    kw.setdefault("timeout", (2, 5))
    return HttpClient("Test remote", sleep=sleeps, **kw)


class Hook:
    """An AuthHook whose "login" issues the next token of a list."""

    def __init__(self, tokens=("old", "new", "newer"), fail_relogin=None):
        self.tokens = list(tokens)
        self.token = self.tokens.pop(0)
        self.relogins = 0
        self.fail_relogin = fail_relogin

    def headers(self):
        return {"Authorization": "Bearer %s" % self.token}

    def relogin(self):
        self.relogins += 1
        if self.fail_relogin:
            raise self.fail_relogin
        self.token = self.tokens.pop(0)


ERRORS = StatusErrors(default=lambda r, what: TandemError("%s answered HTTP %d." % (what, r.status_code),
                                                          r.status_code),
                      by_status={404: lambda r, what: LookupError(what)})


# ---------------------------------------------------------------------------- the auth hook

def test_a_401_logs_in_again_once_and_resends(server, sleeps):
    server.answer(401, (200, {}, b'{"ok": true}'))
    hook = Hook()
    response = client(sleeps).request("GET", server.url + "data", auth_hook=hook, errors=ERRORS,
                                      headers={"X-Kept": "yes"})
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert hook.relogins == 1
    assert [h["Authorization"] for _, _, h in server.received] == ["Bearer old", "Bearer new"]
    assert all(h["X-Kept"] == "yes" for _, _, h in server.received)      # the caller's headers, both times
    assert sleeps == []                                                  # a 401 is not a transient failure


def test_a_second_401_is_the_error_of_the_map_without_a_third_login(server, sleeps):
    server.answer(401)
    hook = Hook()
    with pytest.raises(TandemError) as info:
        client(sleeps).request("GET", server.url + "data", auth_hook=hook, errors=ERRORS, what="the data request")
    assert info.value.status == 401 and str(info.value) == "the data request answered HTTP 401."
    assert hook.relogins == 1 and len(server.received) == 2


def test_without_a_map_the_second_401_is_returned(server, sleeps):
    server.answer(401)
    hook = Hook()
    response = client(sleeps).request("GET", server.url + "data", auth_hook=hook)
    assert response.status_code == 401 and hook.relogins == 1 and len(server.received) == 2


def test_a_refused_relogin_ends_the_request(server, sleeps):
    server.answer(401, 200)
    refusal = BadCredentials("wrong password")
    hook = Hook(fail_relogin=refusal)
    with pytest.raises(BadCredentials):
        client(sleeps).request("GET", server.url + "data", auth_hook=hook, errors=ERRORS)
    assert hook.relogins == 1 and len(server.received) == 1          # nothing re-sent with the old token


def test_a_401_without_a_hook_is_just_a_status(server, sleeps):
    server.answer(401)
    with pytest.raises(TandemError) as info:
        client(sleeps).request("GET", server.url + "data", errors=ERRORS)
    assert info.value.status == 401 and len(server.received) == 1


# ---------------------------------------------------------------------------- the status map

@pytest.mark.parametrize("status, error", [(403, TandemError), (404, LookupError), (418, TandemError)])
def test_statuses_become_the_remote_s_errors(server, sleeps, status, error):
    server.answer(status)
    with pytest.raises(error) as info:
        client(sleeps).request("GET", server.url + "a/b?x=1", errors=ERRORS)
    assert type(info.value) is error
    assert "127.0.0.1" in str(info.value) or error is LookupError      # "what" defaults to host/path
    assert "x=1" not in str(info.value)


def test_ok_statuses_of_a_map_are_answers(server, sleeps):
    server.answer(302)
    redirects = StatusErrors(ok=(200, 302), default=ERRORS.default)
    assert client(sleeps).request("POST", server.url, errors=redirects, allow_redirects=False).status_code == 302
    with pytest.raises(TandemError):
        client(sleeps).request("POST", server.url, errors=ERRORS, allow_redirects=False)


# ---------------------------------------------------------------------------- what is retried

@pytest.mark.parametrize("method", sorted(IDEMPOTENT_METHODS))
def test_idempotent_methods_are_retried(server, sleeps, method):
    server.answer(503, 502, 200)
    assert client(sleeps).request(method, server.url + "x").status_code == 200
    assert server.methods == [method] * 3 and len(sleeps) == 2


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_post_is_sent_once_on_503_unless_marked_safe(server, sleeps, method):
    server.answer(503, 200)
    http = client(sleeps)
    with pytest.raises(TransientError) as info:
        http.request(method, server.url + "x", data=b"payload")
    assert "HTTP 503 after 1 attempt." in str(info.value)
    assert server.methods == [method] and sleeps == []
    server.received.clear()
    server.answer(503, 200)
    assert http.request(method, server.url + "x", data=b"payload", retry=True).status_code == 200
    assert server.methods == [method, method] and len(sleeps) == 1


def test_a_credential_get_can_be_sent_once(server, sleeps):
    server.answer(503, 200)
    with pytest.raises(TransientError):
        client(sleeps).request("GET", server.url + "x", retry=False)
    assert len(server.received) == 1


def test_retries_are_bounded_with_jittered_backoff(server, sleeps):
    server.answer(500)
    with pytest.raises(TransientError) as info:
        client(sleeps, attempts=4, backoff=1.0).request("GET", server.url + "x")
    assert len(server.received) == 4 and "after 4 attempts" in str(info.value)
    assert len(sleeps) == 3
    for n, delay in enumerate(sleeps):                       # 50-100 % of 1, 2, 4 seconds
        assert 0.5 * 2 ** n <= delay <= 2 ** n


def test_retry_after_is_honoured_and_a_long_one_surfaces(server, sleeps):
    server.answer((503, {"Retry-After": "7"}, b""), 200)
    assert client(sleeps, backoff=0.01).request("GET", server.url).status_code == 200
    assert sleeps == [7.0]
    server.answer((429, {"Retry-After": "3600"}, b""))
    with pytest.raises(RateLimited) as info:
        client(sleeps, max_retry_after=120).request("GET", server.url)
    assert info.value.retry_after == 3600 and sleeps == [7.0]        # not slept on


# ---------------------------------------------------------------------------- timeouts

def test_a_silent_server_fails_after_bounded_attempts(server, sleeps):
    server.answer("hang")
    http = client(sleeps, attempts=2, timeout=(2, 0.3))
    with pytest.raises(TransientError) as info:
        http.request("GET", server.url + "slow")
    assert "did not answer within 0.3 seconds after 2 attempts" in str(info.value)          # seconds, not a tuple
    assert len(server.received) == 2 and len(sleeps) == 1


def test_a_caller_cannot_drop_the_timeout(server, sleeps):
    server.answer("hang")
    with pytest.raises(TransientError) as info:
        client(sleeps, attempts=1, timeout=(2, 0.3)).request("GET", server.url, timeout=None)
    assert "did not answer within 0.3 seconds" in str(info.value)


# ---------------------------------------------------------------------------- logs

def test_logs_name_host_and_path_only(server, sleeps, caplog):
    server.answer(503, 401, 200)
    hook = Hook(tokens=(SECRET_TOKEN, SECRET_TOKEN + "2"))
    logging.getLogger("tconnectsync.http").setLevel(logging.NOTSET)
    with caplog.at_level(logging.DEBUG, logger="tconnectsync"):     # (urllib3's own lines: see logs.setup)
        client(sleeps).request("GET", server.url + "path?password=hunter2&token=" + SECRET_TOKEN, auth_hook=hook)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("tconnectsync"))
    assert "127.0.0.1" in text and "/path" in text and "logging in again" in text and "-> 503" in text
    for secret in ("hunter2", SECRET_TOKEN, "password="):
        assert secret not in text


def test_no_proxy_keeps_a_host_off_the_environments_proxy(monkeypatch, server, sleeps):
    # the proxies themselves and .netrc: tests/api/test_proxy.py
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")          # would refuse the connection
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert client(sleeps).request("GET", server.url).status_code == 200


def test_one_place_spells_the_user_agents():
    """The request shape that works with Tandem's services is defined once, in tconnectsync.http."""
    import pathlib
    import tconnectsync
    from tconnectsync import http
    root = pathlib.Path(tconnectsync.__file__).parent
    spelled = [str(p.relative_to(root)) for p in root.rglob("*.py")
               if "sandbox" not in p.parts and any(ua in p.read_text() for ua in ("Mozilla/", "Dalvik/"))]
    assert spelled == ["http.py"]
    assert http.BROWSER_UA.startswith("Mozilla/5.0") and http.ANDROID_UA.startswith("Dalvik/")
