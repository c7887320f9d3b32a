"""The one place HTTP sessions are made and requests are sent.

Every request has a timeout. Transient failures (connection errors, timeouts, 5xx, 429) are
retried a bounded number of times with exponential back-off and jitter, honouring Retry-After;
only idempotent methods are retried unless the caller says a request is safe to repeat (an upsert
is, a credential POST is not). A client that logs in declares an ``AuthHook``: its headers go on
each request and a 401 makes it log in again once and re-send; a second 401 is an error. A client
declares its remote's error vocabulary once as ``StatusErrors``, and a status that is not an answer
becomes that typed error here. Log lines name the method, host and path only: never query
strings, headers or bodies, so no secret reaches a log.

Proxies: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (upper or lower case) are
honoured as requests, pip and curl read them, resolved for each request from the environment of
that moment (no module reads the environment at import time). The session's ``trust_env`` stays
False, so nothing else is taken from the environment: in particular never ``.netrc`` credentials,
which requests would otherwise send to any host listed there. A proxy is named in messages by host
and port only, never with its user or password.

A hand-written loop instead of urllib3's ``Retry``: the sleep must be injectable (tests and the
daemon's clock), a 429 whose Retry-After is long must surface as ``RateLimited`` instead of
blocking, and each failed attempt is logged in our words.
"""
import logging
import os
import random
import time
import urllib.parse
from typing import Callable, Mapping, Protocol

import requests

from .errors import RateLimited, TransientError

logger = logging.getLogger(__name__)

# The request shape Tandem's services accept, in this one place: these match what works against the
# real services (the Source web app's and t:connect website's browser, and the t:connect Android
# app); Tandem's firewall has answered 403 to other agents. No other module spells a User-Agent.
BROWSER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
ANDROID_UA = "Dalvik/2.1.0 (Linux; U; Android 12; Pixel 4a Build/SP2A.220305.012)"

DEFAULT_TIMEOUT = (10, 60)           # connect, read (seconds)
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# Sending these twice has the effect of sending them once (RFC 9110 §9.2.2): retried by default.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class AuthHook(Protocol):
    """How a client that logs in takes part in ``HttpClient.request``."""

    def headers(self) -> Mapping[str, str]:
        """The authorisation headers for the next request, logging in first if needed."""

    def relogin(self) -> None:
        """The remote refused our token (HTTP 401): log in again (a fresh credential login)."""


class StatusErrors:
    """One remote's error vocabulary: which statuses are answers, and the error each other status
    becomes. ``by_status`` and ``default`` hold factories ``(response, what) -> exception``."""

    def __init__(self, default: Callable, by_status: Mapping[int, Callable] = None, ok=(200,)):
        self.default = default
        self.by_status = dict(by_status or {})
        self.ok = frozenset(ok)

    def check(self, response, what):
        """Return if ``response`` is an answer, else raise its error (``what`` names the request)."""
        if response.status_code in self.ok:
            return
        make = self.by_status.get(response.status_code, self.default)
        raise make(response, what)


def join_url(base, path):
    """``base`` (with or without trailing slash) joined with a relative ``path``."""
    if not base.endswith("/"):
        base = base + "/"
    return urllib.parse.urljoin(base, path.lstrip("/"))


def describe(url):
    """``host/path`` of a URL, without scheme, credentials or query: safe to log."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return host + parts.path


def environ_proxies(url):
    """The proxies for ``url`` from the environment as requests/curl read it (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY`` with host, domain-suffix and CIDR entries, lower
    case first): ``{}`` when none applies or NO_PROXY names the host."""
    found = requests.utils.get_environ_proxies(url, no_proxy=None)
    return {scheme: proxy for scheme, proxy in found.items() if scheme != "no" and proxy}


def environ_ca_bundle(environ=None):
    """The CA bundle a TLS-inspecting company proxy needs, as requests and pip read it
    (``REQUESTS_CA_BUNDLE``, then ``CURL_CA_BUNDLE``): a path, or None for the default store.
    (With ``trust_env`` off, requests would not read them itself.)"""
    environ = os.environ if environ is None else environ
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    return None


def describe_proxy(proxy_url):
    """``host:port`` of a proxy URL: never its user or password."""
    parts = urllib.parse.urlsplit(proxy_url if "://" in proxy_url else "http://" + proxy_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return "%s%s" % (parts.hostname or "?", ":%d" % port if port else "")


def retry_after_seconds(response):
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class HttpClient:
    """A ``requests`` session bound to one remote, with our timeout and retry policy."""

    def __init__(self, name, timeout=DEFAULT_TIMEOUT, attempts=4, backoff=1.0,
                 max_backoff=30.0, max_retry_after=120.0, headers=None, sleep=time.sleep,
                 rng=None, verify=True):
        self.name = name                      # e.g. "Nightscout", "t:connect Control:IQ API"
        self.timeout = timeout
        self.attempts = max(1, int(attempts))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.session = requests.Session()
        self.session.verify = verify
        self.session.trust_env = False        # no .netrc credentials; proxies: see environ_proxies
        if headers:
            self.session.headers.update(headers)
        self.request_count = 0
        self.budget = None                    # a budget.RunBudget shared by one run's clients (runtime.py)

    def close(self):
        self.session.close()

    def _delay(self, attempt, retry_after=None):
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        delay = delay * (0.5 + self.rng.random() / 2)        # jitter: 50-100 %
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def request(self, method, url, retry=None, auth_hook=None, errors=None, what=None, **kwargs):
        """Send a request; return the response for any status that is not transient.

        ``retry``: None retries idempotent methods only; True says this request is safe to repeat
        (an upsert POST); False sends once (a credential POST). ``auth_hook``: an ``AuthHook``; a 401
        makes it log in again once and re-send. ``errors``: a ``StatusErrors``; a status that is
        not an answer raises its error, naming the request by ``what`` (default: host and path).
        Raises ``TransientError`` / ``RateLimited`` when the remote keeps failing. Other keyword
        arguments go to ``requests`` (``auth`` there is basic auth, not the hook).
        """
        if retry is None:
            retry = method.upper() in IDEMPOTENT_METHODS
        if auth_hook is None:
            response = self._send(method, url, retry, kwargs)
        else:
            headers = dict(kwargs.pop("headers", None) or {})
            response = self._send(method, url, retry, dict(kwargs, headers={**headers, **auth_hook.headers()}))
            if response.status_code == 401:
                logger.info("%s refused the token for %s %s (HTTP 401); logging in again",
                            self.name, method, describe(url))
                auth_hook.relogin()
                response = self._send(method, url, retry, dict(kwargs, headers={**headers, **auth_hook.headers()}))
        if errors is not None:
            errors.check(response, what or describe(url))
        return response

    def _send(self, method, url, retry, kwargs):
        """One request with the timeout and the bounded retries of transient failures."""
        if kwargs.get("timeout") is None:
            kwargs = dict(kwargs, timeout=self.timeout)         # never without a timeout
        attempts = self.attempts if retry else 1
        where = describe(url)
        if kwargs.get("proxies") is None:
            kwargs = dict(kwargs, proxies=environ_proxies(url))
        if kwargs.get("verify") is None and url.startswith("https:") and environ_ca_bundle():
            kwargs = dict(kwargs, verify=environ_ca_bundle())
        host = urllib.parse.urlsplit(url).netloc
        last_problem = None
        budget = self.budget
        delivered = True                      # False: the last attempt never reached the remote
        for attempt in range(attempts):
            if budget is not None:
                budget.check(self.name, host)
                kwargs = dict(kwargs, timeout=budget.cap(kwargs["timeout"]))
            self.request_count += 1
            delivered = True
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.exceptions.ProxyError:
                scheme = urllib.parse.urlsplit(url).scheme
                proxy = kwargs["proxies"].get(scheme) or kwargs["proxies"].get("all") or ""
                last_problem = "could not be reached through the proxy %s (check HTTPS_PROXY/HTTP_PROXY, " \
                               "or name the host in NO_PROXY)" % describe_proxy(proxy)
                delivered = False
                retry_after = None
            except requests.exceptions.Timeout as exc:
                delivered = not isinstance(exc, requests.exceptions.ConnectTimeout)
                last_problem = "did not answer within %s" % _seconds(kwargs["timeout"], exc)
                retry_after = None
                if budget is not None and budget.timed_out(host):
                    attempts = attempt + 1              # not asked again in this run
            except requests.exceptions.ConnectionError as exc:
                last_problem = "could not be reached (%s)" % _connection_reason(exc)
                delivered = _connection_reason(exc) not in NOT_SENT
                retry_after = None
            except requests.exceptions.RequestException as exc:
                last_problem = _request_problem(exc)
                retry_after = None
            else:
                logger.debug("%s %s -> %d", method, where, response.status_code)
                if response.status_code == 429:
                    retry_after = retry_after_seconds(response)
                    last_problem = "answered 429 Too Many Requests"
                    if retry_after is not None and retry_after > self.max_retry_after:
                        raise RateLimited("%s asked us to wait %d seconds before trying again (HTTP 429)."
                                          % (self.name, retry_after), retry_after, remote=self.name)
                elif response.status_code in TRANSIENT_STATUSES:
                    retry_after = retry_after_seconds(response)
                    last_problem = "answered HTTP %d" % response.status_code
                else:
                    return response
            if attempt + 1 >= attempts:
                break
            delay = self._delay(attempt, retry_after)
            if budget is not None and not budget.allows_wait(delay):
                attempts = attempt + 1              # the run's budget would run out while waiting
                break
            logger.warning("%s %s %s %s; trying again in %.1f s (attempt %d of %d)",
                           self.name, method, where, last_problem, delay, attempt + 2, attempts)
            self.sleep(delay)
        message = "%s %s after %d attempt%s." % (self.name, last_problem, attempts,
                                                 "" if attempts == 1 else "s")
        if last_problem and "429" in last_problem:
            raise RateLimited(message, remote=self.name)
        error = TransientError(message, remote=self.name)
        error.delivered = delivered           # a login that never reached Tandem is not counted (api/common.py)
        raise error


def _seconds(timeout, exc):
    """``10 seconds``: the part of a (connect, read) timeout that ran out, as a number of seconds."""
    if isinstance(timeout, (tuple, list)):
        timeout = timeout[0] if isinstance(exc, requests.exceptions.ConnectTimeout) else timeout[-1]
    value = float(timeout)
    return "%s second%s" % (("%d" % value) if value == int(value) else ("%.1f" % value), "" if value == 1 else "s")


# Connection failures that mean the request never left this computer.
NOT_SENT = frozenset({"connection refused", "name or service not known", "temporary failure in name resolution",
                      "no route to host"})


def _request_problem(exc):
    """What went wrong with a request, in words (never the exception's class name)."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "broke the connection mid-answer"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "sent an answer that could not be decoded"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return "redirected us too many times"
    return "failed before answering completely"


def _connection_reason(exc):
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "Connection reset", "Remote end closed connection", "RemoteDisconnected",
                   "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return "connection error"
