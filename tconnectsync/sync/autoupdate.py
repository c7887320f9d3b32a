"""``--auto-update``: poll Tandem for new pump uploads and sync a rolling window when one arrives.

One ``AutoUpdate`` object lives as long as the daemon. Every cycle it asks the backend for its
cheap "newest upload" marker (legacy: the Android API's last uploaded event index). The first
poll counts as a change. On a change it syncs the last ``days`` days ending *now* in
TIMEZONE_NAME through the same ``sync_once`` as the one-shot run, so the window rolls across
midnight, DST changes and months of uptime. While the marker is unchanged it sends nothing but
the poll.

Failures never end the loop: transient ones back off from the poll interval (or Retry-After),
doubling with jitter up to 15 minutes, and the missed days are synced when the service returns;
refused credentials back off up to an hour, one attempt each time. ``clock`` makes time
injectable, so tests drive months of cycles in seconds.
"""
import dataclasses
import datetime as dt
import logging
import os
import random
import threading
import time

from .. import __version__, status as status_file, timeutil
from ..errors import LoginThrottled
from ..errors import LoginError, RateLimited, RunLocked, TconnectsyncError
from ..outcome import problem_of          # the words /health, the page and --check-login use too
from .engine import Stopped, sync_once
from .window import days_since, last_days, today_in

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
MAX_BACKOFF_S = 15 * 60
MAX_CATCH_UP_DAYS = 30          # after a long outage or downtime, re-sync at most this far back
CREDENTIALS_FIRST_BACKOFF_S = 5 * 60
CREDENTIALS_MAX_BACKOFF_S = 60 * 60


class SystemClock:
    """Real time. ``sleep`` returns early (True) when ``stop`` is set."""

    def time(self):
        return time.time()

    def now(self):
        return dt.datetime.now(UTC)

    def sleep(self, seconds, stop=None):
        if stop is None:
            time.sleep(max(0.0, seconds))
            return False
        return stop.wait(max(0.0, seconds))


@dataclasses.dataclass
class Settings:
    interval_s: float = 300.0
    days: int = 2                      # calendar days ending today (sync/window.py): yesterday and today
    features: tuple = ("BASAL", "BOLUS", "IOB")
    pretend: bool = False
    no_new_data_retries: int = 3
    no_data_minutes: float = 60.0
    announce_no_data: bool = False
    status_path: object = None


class AutoUpdate:
    def __init__(self, config, clients, settings, clock=None, rng=None, stop=None, limiter=None, guard=None):
        self.guard = guard                 # a context manager factory around each cycle (the CLI's run lock)
        self.config = config
        self.clients = clients
        self.settings = settings
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.stop = stop or threading.Event()
        self.limiter = limiter
        self.tz = config.tz
        self.marker = None                 # last poll marker seen
        self.retries_left = 0              # syncs still owed to a marker change with no new data yet
        self.sync_pending = False          # the last sync failed: sync again at the next poll
        self.last_success = None           # the last successful sync (also read back from the status file)
        self.failures = 0                  # consecutive failures
        self.last_window = None            # the window this cycle synced, if it synced
        self.outage = None                 # (first failure time, remote named by the last failure) while failing
        self.credential_failures = 0
        self.last_change = None            # when the marker last moved (new pump data uploaded)
        self.no_data_warned = False
        self.cycles = 0
        self.pending_delay = None          # seconds to wait before the next cycle
        self.status = {
            "version": __version__, "pid": os.getpid(), "backend": config.api, "features": list(settings.features),
            "interval_s": settings.interval_s, "started": self._iso(self.clock.now()),
            "counts": {"polls": 0, "syncs": 0, "failures": 0, "created": 0, "updated": 0},
        }
        if settings.status_path:
            previous = status_file.read(settings.status_path).get("last_success")
            try:
                self.last_success = timeutil.parse_iso_utc(previous) if previous else None
            except ValueError:
                self.last_success = None
            if self.last_success:
                self.status["last_success"] = self._iso(self.last_success)

    @staticmethod
    def _iso(instant):
        return timeutil.iso_utc(instant) if instant else None

    # ------------------------------------------------------------------ the loop

    def run(self, max_cycles=None):
        logger.info("Auto-update: polling every %d s, syncing the last %d day%s of %s%s", self.settings.interval_s,
                    self.settings.days, "" if self.settings.days == 1 else "s", " ".join(self.settings.features),
                    " (pretend)" if self.settings.pretend else "")
        while not self.stop.is_set() and (max_cycles is None or self.cycles < max_cycles):
            # The wait the previous cycle asked for comes first, so that consecutive calls of
            # run() (tests, benchmarks) behave as one continuous daemon.
            if self.pending_delay is not None and self.clock.sleep(self.pending_delay, self.stop):
                break
            self.cycles += 1
            try:
                self.pending_delay = self._guarded_cycle()
            except Stopped:
                break
            self.status["next_poll"] = self._iso(self.clock.now() + dt.timedelta(seconds=self.pending_delay))
            self._save()
        self.status["state"] = "stopped"
        self._save()
        logger.info("Auto-update stopped after %d cycles", self.cycles)
        return 0

    def _guarded_cycle(self):
        """``cycle`` inside ``guard``; a cycle the guard refuses (another run holds the lock) is skipped."""
        if self.guard is None:
            return self.cycle()
        try:
            with self.guard():
                return self.cycle()
        except RunLocked as exc:
            logger.warning("Skipping this poll: %s", exc)
            return self.settings.interval_s

    def cycle(self):
        """One poll (and a sync when due). Returns the seconds to wait before the next one."""
        now = self.clock.now()
        self.last_window = None
        try:
            marker = self.clients.source.poll()
            self.status["last_poll"] = self._iso(now)
            self.status["last_poll_marker"] = marker
            self.status["counts"]["polls"] += 1
            changed = self.marker is None or marker != self.marker
            if changed:
                if self.marker is not None:
                    logger.info("New pump upload (%s -> %s)", self.marker, marker)
                self.last_change = now
                self.status["last_change"] = self._iso(now)
                self.no_data_warned = False
            due = changed or self.retries_left > 0 or self.sync_pending
            if due:
                self.status["state"] = "syncing"
                wrote = self._sync()
                first = self.marker is None
                if changed:
                    self.marker = marker
                    if wrote == 0 and not first:
                        self.retries_left = self.settings.no_new_data_retries
                        logger.info("The pump uploaded, but Tandem has no new data yet; trying again "
                                    "(up to %d times)", self.retries_left)
                    else:
                        self.retries_left = 0
                elif self.retries_left > 0:
                    self.retries_left = 0 if wrote else self.retries_left - 1
            self._check_no_data(now)
            if self.failures:
                self._recovered(now)
            self.failures = 0
            self.credential_failures = 0
            self.status["state"] = "polling"
            self.status["consecutive_failures"] = 0
            return self.settings.interval_s
        except Stopped:
            raise
        except LoginError as exc:
            return self._credentials_refused(exc)
        except TconnectsyncError as exc:
            return self._failed(exc)
        except Exception as exc:  # noqa: BLE001 - the daemon outlives bugs too, loudly
            logger.error("Unexpected %s in the auto-update loop: %s", type(exc).__name__, exc, exc_info=True)
            return self._failed(exc)

    def _window(self):
        """The last ``days`` calendar days ending today, reaching back to the day of the last
        successful sync (at most 30 days) so that nothing uploaded during an outage or a stop is lost."""
        today = today_in(self.tz, self.clock.now())
        days = self.settings.days
        if self.last_success is not None:
            behind = days_since(today, self.last_success.astimezone(self.tz).date())
            days = max(days, min(behind, MAX_CATCH_UP_DAYS + 1))
        return last_days(today, days)

    def _sync(self):
        window = self._window()
        self.last_window = window
        self.status["last_sync_started"] = self._iso(self.clock.now())
        self.sync_pending = True
        summary = sync_once(self.config, self.clients, window, self.settings.features,
                            pretend=self.settings.pretend, should_stop=self.stop.is_set)
        self.status["counts"]["syncs"] += 1
        created = sum(c.created for c in summary.counts.values())
        updated = sum(c.updated for c in summary.counts.values())
        self.status["counts"]["created"] += created
        self.status["counts"]["updated"] += updated
        self.status["last_summary"] = summary.totals()
        self.status["last_ignored"] = summary.ignored_dict()
        self.status["pumps"] = status_file.pumps_of(self.clients.source)
        if not summary.ok:
            message = "some days could not be synced: %s" % "; ".join("%s..%s" % r for r in summary.failed_ranges())
            remotes = {getattr(f.error, "remote", None) for f in summary.failures}
            remote = remotes.pop() if len(remotes) == 1 else None
            if summary.retry_after:
                error = RateLimited(message, summary.retry_after)
            else:
                error = TconnectsyncError(message)
            error.remote = remote
            raise error
        self.sync_pending = False
        if not self.settings.pretend:
            self.last_success = self.clock.now()
        self.status["last_success"] = self._iso(self.last_success) if self.last_success else None
        logger.info("Synced %s..%s: %d created, %d updated", window[0], window[1], created, updated)
        return created + updated

    # ------------------------------------------------------------------ failures

    def _failed(self, exc):
        self.failures += 1
        since = self.outage[0] if self.outage else self.clock.now()
        self.outage = (since, getattr(exc, "remote", None))
        self.status["counts"]["failures"] += 1
        self.status["consecutive_failures"] = self.failures
        self.status["state"] = "backing-off"
        base = self.settings.interval_s
        if isinstance(exc, RateLimited) and exc.retry_after:
            base = max(base, exc.retry_after)
        delay = min(MAX_BACKOFF_S, base * (2 ** (self.failures - 1)))
        delay = min(MAX_BACKOFF_S, delay * (0.8 + 0.4 * self.rng.random()))
        if isinstance(exc, RateLimited) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        if isinstance(exc, LoginThrottled):
            delay = max(delay, 600)
        message = str(exc) if isinstance(exc, TconnectsyncError) else "unexpected %s" % type(exc).__name__
        self.status["last_error"] = {"time": self._iso(self.clock.now()), "message": message, "problem": problem_of(exc)}
        logger.warning("Sync failed (%d in a row): %s; next try in %d s", self.failures, message.rstrip("."), delay)
        return delay

    def _recovered(self, now):
        """One line when the daemon works again after failed polls: which remote, since when,
        and from which day it caught up."""
        since, remote = self.outage or (now, None)
        window = self.last_window
        caught_up = ("caught up from %s" % window[0]) if window else "nothing to catch up"
        logger.info("%s after %d failed poll%s (since %s); %s.",
                    "%s answers again" % remote if remote else "Syncing works again", self.failures,
                    "" if self.failures == 1 else "s", since.astimezone(self.tz).strftime("%Y-%m-%d %H:%M"),
                    caught_up)
        self.outage = None

    def _credentials_refused(self, exc):
        self.credential_failures += 1
        self.status["counts"]["failures"] += 1
        self.status["state"] = "credentials-refused"
        delay = min(CREDENTIALS_MAX_BACKOFF_S, CREDENTIALS_FIRST_BACKOFF_S * (2 ** (self.credential_failures - 1)))
        self.status["last_error"] = {"time": self._iso(self.clock.now()), "message": str(exc), "problem": problem_of(exc)}
        logger.error("%s Still running; the next login attempt is in %d minutes.", exc, delay // 60)
        limiter = self.limiter or getattr(getattr(self.clients.source, "api", None), "limiter", None)
        if limiter is not None:
            limiter.forget_refusals()       # one new attempt after the back-off, never a loop
        return delay

    # ------------------------------------------------------------------ data stopped

    def _check_no_data(self, now):
        if self.last_change is None or self.no_data_warned:
            return
        quiet = (now - self.last_change).total_seconds() / 60
        if quiet < self.settings.no_data_minutes:
            return
        self.no_data_warned = True
        since = self.last_change.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        text = ("No new pump data from Tandem since %s (%s): check that the pump's phone app is running "
                "and uploading." % (since, self.config.timezone_name))
        logger.warning("%s", text)
        if self.settings.announce_no_data and not self.settings.pretend:
            try:
                self.clients.nightscout.post_announcement("tconnectsync: " + text, now)
            except TconnectsyncError as exc:
                logger.warning("Could not post the Nightscout announcement: %s", exc)

    def _save(self):
        if self.settings.status_path:
            try:
                status_file.write(self.settings.status_path, self.status)
            except OSError as exc:
                logger.warning("Could not write the status file %s: %s", self.settings.status_path, exc.strerror)
