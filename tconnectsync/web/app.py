"""The Flask app: a status page, sync triggers for uptime monitors, a login check and a health URL.

Routes (see the README's "Hosted web app"): ``/`` and ``/health`` are open; ``/run``,
``/update`` and ``/check_login`` need ``TCONNECTSYNC_HEROKU_SECRET`` as ``?secret=`` or
``Authorization: Bearer``. There is no scheduler API: the interval job is configured by a setting
and nothing else.
"""
import datetime as dt
import hmac
import io
import logging
import os
import threading
import time

from flask import Flask, jsonify, render_template, request

from .. import logs, outcome, status
from ..config import load_config
from ..errors import ConfigError, TconnectsyncError
from . import health as health_module
from . import runner as runner_module
from .runner import Runner, make_scrub, now_utc, parse_iso, sync_window
from .settings import features_for, load_web_settings, parse_days, parse_features, parse_pretend

logger = logging.getLogger(__name__)

TEXT = "text/plain; charset=utf-8"
NO_SECRET = ("TCONNECTSYNC_HEROKU_SECRET is not set, so this URL is closed: set it in the app's settings "
             "(config vars) to a long random value, restart the app, then call this URL with "
             "?secret=<that value> or an 'Authorization: Bearer <that value>' header.")
MISSING_SECRET = ("This URL needs the secret: add ?secret=<TCONNECTSYNC_HEROKU_SECRET> to it, or send an "
                  "'Authorization: Bearer <TCONNECTSYNC_HEROKU_SECRET>' header.")
WRONG_SECRET = "The secret is wrong: it must equal the app's TCONNECTSYNC_HEROKU_SECRET setting."
NS_LOOKUP_TTL_S = 300       # /health without a sync of its own asks Nightscout at most this often
NS_LOOKUP_RETRY_S = 60      # ... or this often while Nightscout has no answer
NS_LOOKUP_TIMEOUT = (3, 5)  # seconds to connect, to read: the page never waits longer
SHUTDOWN_WAIT_S = 20         # a stopping worker lets its sync finish: within Heroku's 30 s and the Procfile's


try:        # gunicorn prints an AppImportError as its one line (no traceback) and stops
    from gunicorn.errors import AppImportError as _StartupBase
except ImportError:         # pragma: no cover - gunicorn is optional
    _StartupBase = Exception


class StartupError(ConfigError, _StartupBase):
    """A web setting is malformed: the app does not start, and says which one."""


class WebState:
    """What the routes share: settings, the runner, the interval job."""

    def __init__(self, web, environ, runner):
        self.web = web
        self.environ = environ
        self.runner = runner
        self.scheduler = None
        self.check_lock = threading.Lock()
        self._leader_fd = None
        self._ns_lock = threading.Lock()
        self._ns_newest = None          # (instant or None, monotonic expiry)

    # ------------------------------------------------------------------ the interval job

    def start_interval_job(self):
        from apscheduler.schedulers.background import BackgroundScheduler
        scheduler = BackgroundScheduler(daemon=True, timezone="UTC")
        first = now_utc() + dt.timedelta(seconds=min(60, self.web.interval_mins * 60))
        scheduler.add_job(self.interval_job, "interval", minutes=self.web.interval_mins, id="sync",
                          max_instances=1, coalesce=True, misfire_grace_time=300, next_run_time=first)
        scheduler.start()
        self.scheduler = scheduler
        logger.info("Interval job: a sync every %d min (first at %s)", self.web.interval_mins,
                    first.strftime("%H:%M:%S UTC"))

    def _lead(self):
        """One process of several (gunicorn workers) runs the interval syncs: the one holding
        ``scheduler.lock``; when it dies, the next worker whose job fires takes over."""
        if self._leader_fd is not None:
            return True
        import fcntl
        try:
            self.web.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(str(self.web.state_dir / "scheduler.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            logger.error("Interval job: cannot use %s (%s)", self.web.state_dir, exc.strerror)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._leader_fd = fd
        return True

    def interval_job(self):
        if not self._lead():
            return None
        try:
            started = self.runner.start("interval", features=self.web.features)
        except OSError as exc:
            logger.error("Interval run not started: %s", exc)
            return None
        if not started.started:
            logger.info("Interval run skipped: run %s is in progress", started.run_id or "(starting)")
        return started

    def next_run(self):
        if self.scheduler is None:
            return None
        job = self.scheduler.get_job("sync")
        return job.next_run_time if job else None

    def stop(self, wait_s=0):
        """At process exit: no new interval runs; let a running sync finish (up to ``wait_s``)."""
        self.shutdown()
        if wait_s:
            self.runner.wait(wait_s)

    def shutdown(self):
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:  # noqa: BLE001 - already stopped
                pass
            self.scheduler = None
        if self._leader_fd is not None:
            os.close(self._leader_fd)
            self._leader_fd = None

    # ------------------------------------------------------------------ health

    def health(self, now=None):
        """``/health``'s answer. Without a successful sync in the status file (a fresh Heroku dyno
        starts with an empty state folder), the newest document tconnectsync wrote to Nightscout
        stands in for it, labelled ``"last_success_from": "nightscout"``."""
        now = now or now_utc()
        state = status.read(self.web.status_path)
        last_success = parse_iso(state.get("last_success"))
        last_data = parse_iso(state.get("last_data"))
        source = None
        if last_success is None:
            newest = self.newest_in_nightscout(now)
            if newest is not None:
                last_success, source = newest, "nightscout"
                last_data = last_data or newest
        body = {"status": health_module.verdict(last_success, now, self.web.health_max_age_mins),
                "last_success": runner_module.iso(last_success),
                "data_age_seconds": round((now - last_data).total_seconds()) if last_data else None}
        if source:
            body["last_success_from"] = source
        # The last run decides first: a failed run is "failing" (503) until a run succeeds.
        failed, problem, message = outcome.last_run(state)
        if failed:
            body["status"] = "failing"
            body["problem"] = problem
            body["reason"] = health_module.hide_serials(message)
        # Pump data older than the threshold: a warning of its own, not a 503 (the sync works; the
        # pump or the phone has not uploaded, which tconnectsync cannot fix).
        from .page import human as page_human
        limit = self.web.health_data_max_age_mins * 60
        body["data_stale"] = body["data_age_seconds"] is not None and body["data_age_seconds"] > limit
        if body["data_stale"]:
            body["warning"] = "the newest pump data is %s old (more than %s)" % (
                page_human(body["data_age_seconds"]), page_human(limit))
        return body

    def newest_in_nightscout(self, now):
        """The time of the newest treatment tconnectsync wrote to Nightscout, or None.

        Asked at most once per NS_LOOKUP_TTL_S (NS_LOOKUP_RETRY_S after a failure or no answer),
        with short timeouts and no retries; while another request is asking, the cached answer
        is used, so the page never waits on Nightscout for more than one bounded request."""
        cached = self._ns_newest
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        if not self._ns_lock.acquire(blocking=False):
            return cached[0] if cached else None
        try:
            value, ttl = self._ask_nightscout(now), NS_LOOKUP_TTL_S
            if value is None:
                ttl = NS_LOOKUP_RETRY_S
            self._ns_newest = (value, time.monotonic() + ttl)
            return value
        finally:
            self._ns_lock.release()

    def _ask_nightscout(self, now):
        from ..http import HttpClient
        from ..nightscout import NightscoutClient
        try:
            config = load_config(self.environ)
        except ConfigError:
            return None                     # the page shows the settings problem
        logs.protect(config.secrets())
        http = HttpClient("Nightscout", timeout=NS_LOOKUP_TIMEOUT, attempts=1)
        client = NightscoutClient(config.ns_url, config.ns_secret, http=http)
        try:
            doc = client.newest_treatment(before=now + dt.timedelta(minutes=10))
        except TconnectsyncError as exc:
            logger.warning("Could not read the newest tconnectsync treatment from Nightscout: %s", exc)
            return None
        except Exception as exc:  # noqa: BLE001 - health must answer whatever Nightscout does
            logger.warning("Could not read the newest tconnectsync treatment from Nightscout: unexpected %s",
                           type(exc).__name__)
            return None
        finally:
            http.close()
        if doc is None:
            return None
        logger.info("No successful sync recorded here yet: the newest tconnectsync treatment in Nightscout "
                    "is from %s", doc.get("created_at"))
        return parse_iso(doc.get("created_at"))


def create_app(environ=None, runner=None, start_scheduler=True, configure_logging=True):
    """The Flask app (``gunicorn 'tconnectsync.web:create_app()'``).

    ``environ``: the settings (default ``os.environ``, plus a ``.env`` file as for the CLI).
    A malformed web setting (TCONNECTSYNC_HEROKU_*) raises StartupError naming it."""
    environ = os.environ if environ is None else environ
    if configure_logging:
        logs.setup(verbose=(environ.get("TCONNECTSYNC_VERBOSE") or "").strip().lower() in ("1", "true", "yes", "on"))
    try:
        web = load_web_settings(environ)
    except ConfigError as exc:
        logger.error("tconnectsync web: %s", exc)
        raise StartupError(str(exc)) from None
    if web.secret:
        logs.protect([web.secret])
    else:
        logger.warning("TCONNECTSYNC_HEROKU_SECRET is not set: /run, /update and /check_login answer 403 "
                       "until it is.")
    state = WebState(web, environ, runner or Runner(web, environ))
    app = Flask(__name__)
    app.extensions["tconnectsync"] = state
    _routes(app, state)
    if web.interval_mins and start_scheduler:
        state.start_interval_job()
    if runner is None:
        import atexit
        atexit.register(state.stop, SHUTDOWN_WAIT_S)
    return app


# ---------------------------------------------------------------------- helpers

def _given_secret():
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.values.get("secret")


def _secret_ok(expected, given):
    return bool(expected) and given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def _text(body, code=200):
    return body.rstrip("\n") + "\n", code, {"Content-Type": TEXT}


def _refuse(state, as_json):
    """None when the request carries the right secret, else the 403 answer."""
    given = _given_secret()
    if not state.web.secret:
        sentence = NO_SECRET
    elif not given:
        sentence = MISSING_SECRET
    elif not _secret_ok(state.web.secret, given):
        sentence = WRONG_SECRET
    else:
        return None
    return (jsonify(error=sentence), 403) if as_json else _text(sentence, 403)


def _params(state):
    """(days, pretend, features) from the query or form; ConfigError names a bad one."""
    values = request.values
    days = parse_days(values.get("days"))
    pretend = parse_pretend(values.get("pretend"))
    features = parse_features(values.get("features"))
    if features:
        try:
            config = load_config(state.environ)
        except ConfigError:
            config = None               # the run will fail with that sentence
        if config is not None:
            features_for(config, features, state.web)
    return days, pretend, features


def _state_dir_error(state, exc, as_json):
    sentence = ("Could not use the state folder %s (%s): set TCONNECTSYNC_STATE_DIR to a writable folder."
                % (state.web.state_dir, exc.strerror or exc))
    logger.error("%s", sentence)
    return (jsonify(error=sentence), 500) if as_json else _text(sentence, 500)


def _routes(app, state):
    @app.after_request
    def headers(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response

    @app.route("/run", methods=["GET", "POST"])
    def run():
        refused = _refuse(state, as_json=True)
        if refused:
            return refused
        try:
            days, pretend, features = _params(state)
        except ConfigError as exc:
            return jsonify(error=str(exc)), 400
        try:
            started = state.runner.start("run", days, pretend, features)
        except OSError as exc:
            return _state_dir_error(state, exc, as_json=True)
        return jsonify(run_id=started.run_id, started=started.started), 202

    @app.route("/update", methods=["GET", "POST"])
    def update():
        refused = _refuse(state, as_json=False)
        if refused:
            return refused
        try:
            days, pretend, features = _params(state)
        except ConfigError as exc:
            return _text(str(exc), 400)
        try:
            started = state.runner.start("update", days, pretend, features)
        except OSError as exc:
            return _state_dir_error(state, exc, as_json=False)
        if not started.started:
            return _text("A sync is already running (run %s); nothing was started. Try again when it has "
                         "finished." % (started.run_id or "starting"), 409)
        started.thread.join()
        record = started.record
        parts = []
        if record.get("state") != "ok":
            parts.append(record.get("error") or "The sync failed.")
        if record.get("summary"):
            parts.append(record["summary"])
        parts.append("Run %s, %.1f s. Log:\n%s" % (record["id"], record.get("duration_s") or 0,
                                                   "\n".join(record.get("log") or ["(no lines)"])))
        return _text("\n\n".join(parts), 200 if record.get("state") == "ok" else 500)

    @app.route("/check_login")
    def check_login():
        refused = _refuse(state, as_json=False)
        if refused:
            return refused
        try:
            days = parse_days(request.values.get("days"))
        except ConfigError as exc:
            return _text(str(exc), 400)
        try:
            config = load_config(state.environ)
        except ConfigError as exc:
            return _text("  FAIL  settings: %s\n1 check failed." % exc, 503)
        scrub = make_scrub(config, [state.web.secret])
        logs.protect(tuple(config.secrets()) + ((state.web.secret,) if state.web.secret else ()))
        from .. import check
        out = io.StringIO()
        with state.check_lock:
            try:
                code = check.run(config, sync_window(config.tz, days), out=out)
            except TconnectsyncError as exc:
                out.write("  FAIL  %s\n" % exc)
                code = 1
            except Exception as exc:  # noqa: BLE001 - one sentence; the traceback goes to the server log
                logger.exception("check_login: unexpected error")
                out.write("  FAIL  unexpected %s; the server log has the details.\n" % type(exc).__name__)
                code = 1
        return _text(scrub(out.getvalue()), 200 if code == 0 else 503)

    @app.route("/health")
    def health():
        body = state.health()
        return jsonify(body), 200 if body["status"] == "ok" else 503

    @app.route("/")
    def index():
        from .page import page_context
        authorized = bool(state.web.secret) and _secret_ok(state.web.secret, _given_secret())
        return render_template("index.html", **page_context(state, authorized))

    return app
