"""Runs of the web app: one at a time across threads and processes, each with its own log.

``Runner.start`` takes the sync lock (a ``threading.Lock`` for this process, then ``flock`` on
``<state dir>/sync.lock`` for the other gunicorn workers), starts the run in a thread and returns
at once; a second caller gets the id of the run that holds the lock instead. The interval job,
``/run`` and ``/update`` all come through here.

Every run is recorded in ``<state dir>/web-runs.json`` (the last ``KEEP_RUNS``: when, how long,
outcome, counts per feature, the error sentence, its log lines), so the status page of any
worker shows them; a real (not pretend) run also updates the status file (``status.py``) with
``last_success`` and ``last_data`` (the newest pump record time the run saw), which ``/health``
reads. A run's log lines are the records logged by its own thread: nothing swaps stdout.
"""
import contextlib
import dataclasses
import datetime as dt
import fcntl
import logging
import os
import secrets as secrets_module
import threading
import time

from .. import __version__, logs, status, timeutil
from ..config import load_config
from ..errors import LoginError, TconnectsyncError
from .. import outcome
from ..budget import RunBudget
from ..runlock import run_lock
from ..runtime import http_clients
from .settings import MAX_DAYS, features_for

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
KEEP_RUNS = 20
MAX_LOG_LINES = 300
MAX_LINE_CHARS = 500
FORGET_REFUSAL_S = 3600        # wrong credentials: one new login attempt per hour, never a loop


def now_utc():
    return dt.datetime.now(UTC)


def iso(instant):
    return instant.astimezone(UTC).isoformat(timespec="milliseconds") if instant else None


def parse_iso(text):
    try:
        return timeutil.parse_iso_utc(text) if text else None
    except (ValueError, AttributeError, TypeError):
        return None


def new_run_id(now=None):
    return "%s-%s" % ((now or now_utc()).strftime("%Y%m%dT%H%M%SZ"), secrets_module.token_hex(3))


def sync_window(tz, days=None, last_success=None, now=None):
    """(start, end) pump-local dates: ``days`` calendar days ending today (as the CLI's --days).

    Without ``days``: yesterday and today, or, when the last successful sync is older, every day
    from that one's (at most MAX_DAYS), so a few days of downtime are caught up by the next run."""
    from ..sync.window import DEFAULT_DAYS, days_since, last_days, today_in
    today = today_in(tz, now)
    if days is None:
        days = DEFAULT_DAYS
        if last_success is not None:
            days = min(MAX_DAYS, max(DEFAULT_DAYS, days_since(today, last_success.astimezone(tz).date())))
    return last_days(today, days)


class SyncLock:
    """One sync at a time: in this process (a thread lock) and across processes (flock).

    The holder writes its run id into the lock file, so a caller that finds the lock taken can
    name the run that holds it."""

    def __init__(self, path):
        self.path = str(path)
        self._thread_lock = threading.Lock()
        self._fd = None

    def try_acquire(self, run_id):
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            self._thread_lock.release()
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            self._thread_lock.release()
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, run_id.encode("ascii"), 0)
        self._fd = fd
        return True

    def release(self):
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)          # a reader never sees the id of a finished run
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            self._thread_lock.release()

    def holder(self):
        """The run id written by the holder ("" while it is being written, or when free)."""
        try:
            with open(self.path, "rb") as fh:
                return fh.read(100).decode("ascii", "replace").strip()
        except OSError:
            return ""

    def held(self):
        """True when a thread or process holds the lock. A probe (a shared flock taken and
        dropped at once); a run starting in that instant retries."""
        if self._thread_lock.locked():
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)                   # drops the probe's lock
        return False


class RunHistory:
    """The last runs, newest first, in one JSON file written atomically by the lock holder."""

    def __init__(self, path):
        self.path = path

    def runs(self):
        runs = status.read(self.path).get("runs")
        return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []

    def get(self, run_id):
        return next((r for r in self.runs() if r.get("id") == run_id), None)

    def save(self, record):
        """Insert or replace ``record``. A "running" record of another run is from a process that
        died mid-run (we hold the lock): mark it interrupted."""
        runs = [r for r in self.runs() if r.get("id") != record["id"]]
        for r in runs:
            if r.get("state") == "running":
                r["state"] = "interrupted"
                r["error"] = "The server stopped during this run (restart or crash); the next run repeats it."
        runs.insert(0, record)
        status.write(self.path, {"runs": runs[:KEEP_RUNS]})


class CaptureHandler(logging.Handler):
    """Keeps the log lines of one thread (the run's), redacted, without touching stdout."""

    def __init__(self, thread_id, scrub):
        super().__init__(logging.INFO)
        self.thread_id = thread_id
        self.scrub = scrub
        self.lines = []
        self.dropped = 0

    def filter(self, record):
        return record.thread == self.thread_id and super().filter(record)

    def emit(self, record):
        if len(self.lines) >= MAX_LOG_LINES:
            self.dropped += 1
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not end the run
            message = str(record.msg)
        stamp = dt.datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        line = "%s %-7s %s" % (stamp, record.levelname, self.scrub(message))   # no tracebacks
        self.lines.append(line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "...")

    def result(self):
        if self.dropped:
            return self.lines + ["... %d more lines in the server log" % self.dropped]
        return list(self.lines)


class _Watch:
    """Wraps the backend to note the newest pump record time each chunk hands the engine."""

    def __init__(self, source):
        self._source = source
        self.newest = None

    def __getattr__(self, name):
        return getattr(self._source, name)

    def _bump(self, instant):
        if instant is not None and (self.newest is None or instant > self.newest):
            self.newest = instant

    def chunk(self, *args, **kwargs):
        result = self._source.chunk(*args, **kwargs)
        try:
            for _, doc in getattr(result, "treatments", ()) or ():
                self._bump(parse_iso(doc.get("created_at")))
            value = getattr(result, "iob", None)
            self._bump(getattr(value, "time", None))
        except Exception:  # noqa: BLE001 - bookkeeping only: never fails a run
            logger.debug("Could not read record times", exc_info=True)
        return result


@dataclasses.dataclass
class Started:
    run_id: str
    started: bool
    thread: threading.Thread = None
    record: dict = None


class Runner:
    """Starts runs; owns the Tandem/Nightscout clients of this process between runs.

    Keeping the clients keeps the Tandem tokens, so a run every few minutes does not log in
    every time, and a refused login is not re-sent on every ping (one try an hour)."""

    def __init__(self, web, environ, sync=None, build=None, close=None):
        from ..runtime import build_clients, close_clients
        from ..sync.engine import sync_once
        self.web = web
        self.environ = environ
        self.sync = sync or sync_once
        self.build = build or build_clients
        self.close = close or close_clients
        self.lock = SyncLock(web.state_dir / "sync.lock")
        self.history = RunHistory(web.state_dir / "web-runs.json")
        self._clients = None        # (config, clients)
        self._refused_at = None
        self._thread = None         # this process's run in progress, if any

    # ------------------------------------------------------------------ starting

    def start(self, trigger, days=None, pretend=False, features=None, wait_s=2.0):
        """Start a run in a thread. Returns Started(run_id, started, thread, record)."""
        run_id = new_run_id()
        deadline = time.monotonic() + wait_s
        tries = 0
        while not self.lock.try_acquire(run_id):
            tries += 1
            holder = self.lock.holder()
            if holder and tries >= 2:              # twice: not just a status page's probe
                return Started(holder, False)
            if time.monotonic() > deadline:        # taken, but its holder has not named itself
                return Started(holder or None, False)
            time.sleep(0.01)
        try:
            record = {"id": run_id, "trigger": trigger, "state": "running", "started": iso(now_utc()),
                      "pretend": bool(pretend), "features": list(features or self.web.features or ()),
                      "version": __version__, "pid": os.getpid()}
            self.history.save(record)
            thread = threading.Thread(target=self._work, args=(record, days), name="tconnectsync-run-" + run_id,
                                      daemon=True)
            self._thread = thread
            thread.start()
        except BaseException:
            self.lock.release()
            raise
        return Started(run_id, True, thread, record)

    def running(self):
        """The id of the run in progress in any process ("starting" before it has one), or None."""
        if not self.lock.held():
            return None
        return self.lock.holder() or "starting"

    # ------------------------------------------------------------------ one run

    def _work(self, record, days):
        scrub = logs.redact
        handler = CaptureHandler(threading.get_ident(), lambda text: scrub(text))
        root = logging.getLogger()
        root.addHandler(handler)
        t0 = time.monotonic()
        config = None
        watch = None
        summary = None
        try:
            config = load_config(self.environ)
            logs.protect(tuple(config.secrets()) + ((self.web.secret,) if self.web.secret else ()))
            scrub = make_scrub(config)
            record["features"] = list(features_for(config, record["features"], self.web))
            record["api"] = config.api
            last_success = parse_iso(status.read(self.web.status_path).get("last_success"))
            window = sync_window(config.tz, days, last_success)
            record["window"] = [window[0].isoformat(), window[1].isoformat()]
            logger.info("Run %s (%s): syncing %s..%s (%s), features %s%s", record["id"], record["trigger"],
                        window[0], window[1], config.timezone_name, " ".join(record["features"]),
                        " (pretend)" if record["pretend"] else "")
            clients = self._clients_for(config)
            # Like a one-shot run: one run at a time per account and Nightscout, whichever process
            # (cron, the daemon, this app) starts it, and a time budget for this run.
            budget = RunBudget(config.run_budget)
            for http in http_clients(clients):
                http.budget = budget
            watch = _Watch(clients.source)
            with (contextlib.nullcontext() if record["pretend"] else run_lock(config)):
                budget.restart()                  # counted from when this run may start
                summary = self.sync(config, dataclasses.replace(clients, source=watch), window,
                                    tuple(record["features"]), pretend=record["pretend"])
            record["counts"] = summary.totals()
            from ..sync.report import format_summary
            record["summary"] = scrub(format_summary(summary, config.timezone_name))
            if summary.ok:
                record["state"] = "ok"
                logger.info("Run %s done: %s", record["id"], _totals_line(summary))
            else:
                ranges = ", ".join("%s..%s" % r for r in summary.failed_ranges())
                reasons = sorted({f.reason for f in summary.failures})
                record["state"] = "failed"
                record["problem"] = outcome.summary_problem(summary)
                record["error"] = scrub("Some days could not be synced (%s: %s); the next run tries them again."
                                        % (ranges, "; ".join(reasons)))
                logger.error("Run %s: %s", record["id"], record["error"])
        except TconnectsyncError as exc:
            record["state"] = "failed"
            record["problem"] = outcome.problem_of(exc)
            record["error"] = scrub(str(exc))
            if isinstance(exc, LoginError):
                self._refused_at = self._refused_at or time.monotonic()
            logger.error("Run %s failed: %s", record["id"], record["error"])
        except Exception as exc:  # noqa: BLE001 - a bug: one sentence here, the traceback in the server log
            record["state"] = "failed"
            record["problem"] = outcome.problem_of(exc)
            record["error"] = ("Stopped on an unexpected error (%s); the server log has the details: "
                               "please report it." % type(exc).__name__)
            logger.exception("Run %s: unexpected error", record["id"])
            self._drop_clients()
        finally:
            root.removeHandler(handler)
            finished = now_utc()
            record["finished"] = iso(finished)
            record["duration_s"] = round(time.monotonic() - t0, 2)
            newest = watch.newest if watch else None
            record["pumps"] = status.pumps_of(watch) if watch else None
            if newest is not None:
                record["last_data"] = iso(newest)
            record["log"] = [scrub(line) for line in handler.result()]
            try:
                self.history.save(record)
                if config is not None and not record["pretend"]:
                    self._update_status(record, config, summary, newest, finished)
            except OSError as exc:
                logger.error("Could not record run %s in %s: %s", record["id"], self.web.state_dir, exc.strerror)
            finally:
                self.lock.release()

    def _clients_for(self, config):
        if self._clients is not None and self._clients[0] != config:
            self._drop_clients()                       # settings changed: new clients, new logins
        if self._clients is None:
            self._clients = (config, self.build(config))
            self._refused_at = None
        clients = self._clients[1]
        limiter = getattr(getattr(clients.source, "api", None), "limiter", None)
        if (limiter is not None and self._refused_at is not None
                and time.monotonic() - self._refused_at >= FORGET_REFUSAL_S):
            limiter.forget_refusals()
            self._refused_at = None
        return clients

    def _drop_clients(self):
        if self._clients is not None:
            try:
                self.close(self._clients[1])
            except Exception:  # noqa: BLE001
                logger.debug("Closing clients failed", exc_info=True)
        self._clients = None

    def wait(self, timeout):
        """Wait up to ``timeout`` seconds for this process's run (at shutdown: a worker being
        stopped lets its sync finish rather than cutting it off)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            logger.info("Waiting up to %d s for the running sync to finish", timeout)
            thread.join(timeout)

    def close_all(self):
        self._drop_clients()

    def _update_status(self, record, config, summary, newest, finished):
        state = status.read(self.web.status_path)
        state.update({"version": __version__, "pid": os.getpid(), "backend": config.api,
                      "features": record["features"], "last_sync_started": record["started"],
                      "interval_s": self.web.interval_mins * 60 or None, "state": "web"})
        if newest is not None:
            known = parse_iso(state.get("last_data"))
            if known is None or newest > known:
                state["last_data"] = iso(newest)
        if record["state"] == "ok":
            state["last_success"] = iso(finished)
            state["consecutive_failures"] = 0
        else:
            state["last_error"] = {"time": iso(finished), "message": record.get("error"),
                                   "problem": record.get("problem") or "the last sync failed"}
            state["consecutive_failures"] = int(state.get("consecutive_failures") or 0) + 1
        if summary is not None:
            state["last_summary"] = summary.totals()
            state["last_ignored"] = summary.ignored_dict()
        if record.get("pumps"):
            state["pumps"] = record["pumps"]
        status.write(self.web.status_path, state)


def _totals_line(summary):
    return "; ".join("%s %d created, %d updated" % (f, c.created, c.updated) for f, c in summary.counts.items())


def make_scrub(config=None, extra=()):
    """Blanks secrets (logs.redact) and the t:connect e-mail address from text we show."""
    hidden = [s for s in extra if s and len(s) >= 3]
    if config is not None and config.email and len(config.email) >= 3:
        hidden.append(config.email)

    def scrub(text):
        text = logs.redact(text or "")
        for value in hidden:
            text = text.replace(value, "***")
        return text
    return scrub
