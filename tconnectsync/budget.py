"""The run budget: how long one run (or one daemon cycle) may take, and which hosts gave up.

A host that hangs must not hold a cron run for minutes: every request's timeout is capped by
what is left of the budget (``TCONNECTSYNC_RUN_BUDGET``, default 240 s, well under the README's
10-minute cron interval), a back-off that would outlast the budget is not slept, and a host that
timed out twice is not asked again in this run. Each refusal is a ``RunBudgetExceeded`` (a
``TransientError``): the engine records the day as failed, with its dates to re-run, and moves
on, so the rest of the window fails at once instead of waiting.

``http.HttpClient`` asks the budget before each attempt; ``runtime.build_clients`` hands one
budget to every client of a run.
"""
import logging
import time

from .errors import RunBudgetExceeded

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_S = 240.0
MAX_TIMEOUTS_PER_HOST = 2


class RunBudget:
    """A deadline and a count of timeouts per host, shared by every HTTP client of one run."""

    def __init__(self, seconds=DEFAULT_BUDGET_S, clock=time.monotonic, max_timeouts=MAX_TIMEOUTS_PER_HOST):
        self.seconds = float(seconds)
        self.clock = clock
        self.max_timeouts = max_timeouts
        self.restart()

    def restart(self):
        """A new run (the daemon's next cycle): the whole budget again, every host trusted again."""
        self.deadline = self.clock() + self.seconds
        self.timeouts = {}            # host -> timeouts in this run

    def remaining(self):
        return self.deadline - self.clock()

    def check(self, name, host):
        """Raise ``RunBudgetExceeded`` when no request should be sent to ``host`` any more."""
        if self.timeouts.get(host, 0) >= self.max_timeouts:
            raise RunBudgetExceeded("%s (%s) did not answer twice in this run; not asking it again until the "
                                    "next run." % (name, host), remote=name)
        if self.remaining() <= 0:
            raise RunBudgetExceeded("the run used its time budget of %d seconds (TCONNECTSYNC_RUN_BUDGET) "
                                    "before %s answered; the next run carries on." % (self.seconds, name),
                                    remote=name)

    def cap(self, timeout):
        """``timeout`` (seconds, or a (connect, read) pair) no longer than what is left (at least 1 s)."""
        left = max(1.0, self.remaining())
        if isinstance(timeout, (tuple, list)):
            return tuple(min(float(t), left) for t in timeout)
        return min(float(timeout), left)

    def allows_wait(self, seconds):
        """True when sleeping ``seconds`` still leaves time for another attempt."""
        return self.remaining() - seconds > 1.0

    def timed_out(self, host):
        """Count a timeout of ``host``; True when it has now timed out too often to ask it again."""
        self.timeouts[host] = self.timeouts.get(host, 0) + 1
        if self.timeouts[host] >= self.max_timeouts:
            logger.warning("%s timed out %d times in this run; not asking it again until the next run",
                           host, self.timeouts[host])
            return True
        return False
