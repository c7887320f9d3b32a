"""What both Tandem backends share: the login limiter, and the re-login rule.

It stays beside the two backend packages (not inside one of them) because ``tconnect`` and
``tandemsource`` both log in to the same Tandem account and must count their logins together.
"""
import logging
import time

from ..errors import LoginThrottled

logger = logging.getLogger(__name__)

RELOGIN_MARGIN_S = 300


def relogin_at(expires_at, now):
    """When to log in again: 5 minutes before expiry, or after 3/4 of a shorter lifetime."""
    margin = min(RELOGIN_MARGIN_S, max(0.0, expires_at - now) / 4)
    return expires_at - margin


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
