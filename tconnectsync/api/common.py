"""What both Tandem backends share: the login limiter, and the re-login rule.

It stays beside the two backend packages (not inside one of them) because ``tconnect`` and
``tandemsource`` both log in to the same Tandem account and must count their logins together.
"""
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
import urllib.parse

from ..errors import AccountLocked, BadCredentials, LoginThrottled, RunBudgetExceeded, TransientError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

logger = logging.getLogger(__name__)

RELOGIN_MARGIN_S = 300
FINGERPRINT_ROUNDS = 100_000


def relogin_at(expires_at, now):
    """When to log in again: 5 minutes before expiry, or after 3/4 of a shorter lifetime."""
    margin = min(RELOGIN_MARGIN_S, max(0.0, expires_at - now) / 4)
    return expires_at - margin


class LoginLimiter:
    """Counts credential requests to Tandem's login endpoints and caps them per hour.

    Tandem locks an account ("Max attempted logins exceeded.") after repeated logins; whatever
    happens (crash loops, expired tokens, outages, cron starting a run every few minutes) we never
    send more than ``per_hour``. With a ``path`` (``for_account``: a file in the state folder,
    mode 0600) the history is shared by every process that logs in to the same account, and so
    is the last refusal: after Tandem refused the credentials (or locked the account) no process
    sends another login until the password setting changes or an hour has passed. The file holds
    times and a salted PBKDF2 fingerprint of the e-mail address and password, never the password.
    Without a ``path`` it counts inside this process only.
    """

    def __init__(self, per_hour=6, clock=time.time, path=None, email="", password=""):
        self.per_hour = per_hour
        self.clock = clock
        self.path = path
        self._email = email
        self._password = password
        self.attempts = []        # Unix times of attempts in the last hour
        self.total = 0
        self.refused = {}         # login endpoint -> the LoginError it answered (never retried)

    @classmethod
    def for_account(cls, config, clock=time.time, per_hour=6):
        """The limiter shared by every process for ``config``'s Tandem account (in-process only
        when there is no state folder)."""
        path = None
        if getattr(config, "state_dir", "") and config.email:
            # The account at its login service (tdcservices, where both backends log in): one
            # history for cron, the daemon and the web app alike, another for a sandbox's.
            service = urllib.parse.urlsplit(getattr(config, "services_url", "") or "").netloc.lower()
            account = "%s\n%s" % (config.email.strip().lower(), service)
            key = hashlib.sha256(account.encode("utf-8")).hexdigest()[:16]
            path = os.path.join(config.state_dir, "logins-%s.json" % key)
        return cls(per_hour=per_hour, clock=clock, path=path, email=config.email, password=config.password)

    def check_refused(self, what):
        """Re-raise the refusal an endpoint already gave (in this process, or in another one within
        the hour for the same password): wrong credentials are never re-sent."""
        if what in self.refused:
            raise self.refused[what]
        if self.path:
            with self._shared() as data:
                self._raise_shared_refusal(data, what)

    def forget_refusals(self):
        """For the daemon, after its long back-off: allow one new attempt per endpoint (a refusal
        shared through the state folder still holds until its hour is over)."""
        self.refused.clear()

    def refuse(self, what, exc):
        """Tandem refused the credentials (``exc``: BadCredentials or AccountLocked): remember it,
        for this process and, with a ``path``, for every other one."""
        self.refused[what] = exc
        if self.path:
            salt = secrets.token_hex(16)
            with self._shared(write=True) as data:
                data["refusal"] = {"at": self.clock(), "what": what,
                                   "kind": "locked" if isinstance(exc, AccountLocked) else "refused",
                                   "salt": salt, "fingerprint": credentials_fingerprint(self._email, self._password,
                                                                                        salt)}

    def acquire(self, what):
        self.check_refused(what)
        now = self.clock()
        if self.path:
            with self._shared(write=True) as data:
                self._raise_shared_refusal(data, what)
                recent = [t for t in data.get("attempts", []) if isinstance(t, (int, float)) and 0 <= now - t < 3600]
                self._check_cap(what, recent, now)
                data["attempts"] = recent + [now]
        else:
            self.attempts = [t for t in self.attempts if now - t < 3600]
            self._check_cap(what, self.attempts, now)
        self.attempts.append(now)
        self.total += 1
        return now

    def release(self, stamp):
        """Un-count the attempt ``acquire`` stamped: its request never left this computer."""
        if stamp in self.attempts:
            self.attempts.remove(stamp)
            self.total -= 1
        if self.path:
            with self._shared(write=True) as data:
                attempts = list(data.get("attempts", []))
                if stamp in attempts:
                    attempts.remove(stamp)
                data["attempts"] = attempts

    def _check_cap(self, what, recent, now):
        if len(recent) >= self.per_hour:
            wait = 3600 - (now - min(recent))
            raise LoginThrottled("Not logging in to %s again: %d login attempts in the last hour "
                                 "already; next attempt allowed in %d minutes." % (what, len(recent), max(1, -(-int(wait) // 60))))

    def _raise_shared_refusal(self, data, what):
        refusal = data.get("refusal")
        if not isinstance(refusal, dict):
            return
        try:
            at = float(refusal["at"])
            same = hmac.compare_digest(str(refusal["fingerprint"]), credentials_fingerprint(
                self._email, self._password, str(refusal["salt"])))
        except (KeyError, TypeError, ValueError):
            return
        now = self.clock()
        if not same or not 0 <= now - at < 3600:
            return                     # the password setting changed, or the hour is over: one new attempt
        until = time.strftime("%H:%M", time.localtime(at + 3600))
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
        who = refusal.get("what") or what
        if refusal.get("kind") == "locked":
            raise AccountLocked("%s locked the account at %s (local time); tconnectsync sends no new login until "
                                "TCONNECT_PASSWORD changes or until %s: wait, or reset the password at Tandem."
                                % (who, when, until))
        raise BadCredentials("%s refused the e-mail address or password at %s (local time); tconnectsync sends no "
                             "new login until TCONNECT_PASSWORD changes or until %s, so that Tandem does not lock "
                             "the account: check TCONNECT_EMAIL and TCONNECT_PASSWORD." % (who, when, until))

    @contextlib.contextmanager
    def _shared(self, write=False):
        """The shared history (a dict) under an exclusive lock; saved afterwards when ``write``."""
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            data = _read_json(self.path)
            yield data
            if write:
                write_private(self.path, dict(data, version=1))
        finally:
            os.close(fd)


def credentials_fingerprint(email, password, salt):
    """A salted PBKDF2-SHA256 fingerprint of the e-mail address and password (hex): tells whether
    the settings changed without storing anything the password could be read back from."""
    material = ("%s\n%s" % ((email or "").strip().lower(), password or "")).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", material, bytes.fromhex(salt), FINGERPRINT_ROUNDS).hex()


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("Starting a new login history: %s is unreadable (%s)", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def write_private(path, data):
    """Write ``data`` as JSON to ``path`` atomically (a temporary file renamed over it), mode 0600,
    creating the folder (mode 0700) if needed. Raises OSError; leaves no temporary file behind."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                fd = None
                json.dump(data, f)
        finally:
            if fd is not None:
                os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def send_login(http, limiter, what, send):
    """Send a credential request with ``send()`` (one ``http.request(..., retry=False)``), and
    send it again after a transient failure (a 5xx, a timeout, a dropped connection), bounded by
    ``http.attempts`` with back-off: each attempt is counted by the ``limiter`` first, so retries
    never exceed the hourly cap. An answer (right or wrong credentials) is returned at once."""
    attempts = max(1, getattr(http, "attempts", 1))
    for attempt in range(attempts):
        stamp = limiter.acquire(what)
        try:
            return send()
        except TransientError as exc:
            if getattr(exc, "delivered", True) is False:
                limiter.release(stamp)        # it never reached Tandem: Tandem did not count it either
            if isinstance(exc, RunBudgetExceeded) or attempt + 1 >= attempts:
                raise
            delay = http._delay(attempt, getattr(exc, "retry_after", None))
            budget = getattr(http, "budget", None)
            if budget is not None and not budget.allows_wait(delay):
                raise
            logger.warning("The %s login failed (%s); trying again in %.1f s (attempt %d of %d)",
                           what, str(exc).rstrip("."), delay, attempt + 2, attempts)
            http.sleep(delay)
