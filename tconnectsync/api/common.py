"""Pieces shared by the Tandem API clients."""
import datetime as dt
import logging
import time

from ..errors import LoginError, TransientError

logger = logging.getLogger(__name__)

BROWSER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
RELOGIN_MARGIN_S = 300


def tandem_date(day):
    """Tandem's ``MM-DD-YYYY`` form of a date."""
    return day.strftime("%m-%d-%Y")


def relogin_at(expires_at, now):
    """When to log in again: 5 minutes before expiry, or after 3/4 of a shorter lifetime."""
    margin = min(RELOGIN_MARGIN_S, max(0.0, expires_at - now) / 4)
    return expires_at - margin


def parse_expiry(value):
    """``2021-10-22T20:15:03.412Z`` -> Unix seconds, or None if absent/unreadable."""
    if not value:
        return None
    try:
        text = value.strip().replace("Z", "+00:00")
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.timestamp()
    except ValueError:
        return None


class LoginThrottled(TransientError):
    """We refused to send another login: too many attempts in the last hour."""


class LoginLimiter:
    """Counts credential requests to Tandem's login endpoints and caps them per hour.

    Tandem locks an account ("Max attempted logins exceeded.") after repeated logins; whatever
    happens (crash loops, expired tokens, outages) we never send more than ``per_hour``.
    """

    def __init__(self, per_hour=6, clock=time.time):
        self.per_hour = per_hour
        self.clock = clock
        self.attempts = []        # Unix times of attempts in the last hour
        self.total = 0
        self.refused = {}         # login endpoint -> the LoginError it answered (never retried)

    def check_refused(self, what):
        """Re-raise the refusal an endpoint already gave: wrong credentials are never re-sent."""
        if what in self.refused:
            raise self.refused[what]

    def forget_refusals(self):
        """For the daemon, after its long back-off: allow one new attempt per endpoint."""
        self.refused.clear()

    def acquire(self, what):
        self.check_refused(what)
        now = self.clock()
        self.attempts = [t for t in self.attempts if now - t < 3600]
        if len(self.attempts) >= self.per_hour:
            wait = 3600 - (now - self.attempts[0])
            raise LoginThrottled("Not logging in to %s again: %d login attempts in the last hour "
                                 "already; next attempt allowed in %d minutes." % (what, len(self.attempts), wait // 60 + 1))
        self.attempts.append(now)
        self.total += 1


class BadCredentials(LoginError):
    """Tandem said the e-mail address or password is wrong."""


class AccountLocked(LoginError):
    """Tandem locked the account after too many logins."""
