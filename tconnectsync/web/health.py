"""Is syncing working? One verdict for ``/health``, the status page and a container's HEALTHCHECK.

``python -m tconnectsync.web.health`` reads the status file (``TCONNECTSYNC_STATUS_FILE``, else
``status.json`` in ``TCONNECTSYNC_STATE_DIR``) that the daemon and the web app both keep, prints
one line and exits 0 when syncing worked within ``TCONNECTSYNC_HEALTH_MAX_AGE_MINS`` (default
60), 1 otherwise. It needs no network and no Flask, so it fits Docker's ``HEALTHCHECK``.

"Worked" means the newest of: the last successful sync, and the daemon's last poll of Tandem
when no sync has failed since (``consecutive_failures`` 0). A daemon whose pump has uploaded
nothing new for hours polls without syncing; it is healthy. One whose syncs fail is not, even
though its polls get through.
"""
import datetime as dt
import re
import sys

from .. import status, timeutil
from ..outcome import last_run, outcome_sentence

UTC = dt.timezone.utc
DEFAULT_DATA_MAX_AGE_MINS = 120         # TCONNECTSYNC_HEALTH_DATA_MAX_AGE_MINS: pump data older is a warning
SERIAL = re.compile(r"(?<![\d.:-])\d{6,12}(?!\d|[.:-]\d)")   # a pump serial in a sentence (not a date or time)


def hide_serials(text):
    """``text`` with anything that looks like a pump serial replaced by ``***`` (for visitors
    without the app's secret)."""
    return SERIAL.sub("***", text) if text else text


def parse(text):
    try:
        return timeutil.parse_iso_utc(text) if text else None
    except (ValueError, AttributeError, TypeError):
        return None


def verdict(instant, now, max_age_mins):
    """ "ok", "stale" or "never" for the time syncing last worked."""
    if instant is None:
        return "never"
    return "stale" if (now - instant).total_seconds() > max_age_mins * 60 else "ok"


def last_worked(state):
    """The newest instant the status file shows syncing working (see the module's docstring)."""
    times = [parse(state.get("last_success"))]
    if not state.get("consecutive_failures") and state.get("state") != "credentials-refused":
        times.append(parse(state.get("last_poll")))
    times = [t for t in times if t is not None]
    return max(times) if times else None


def main(argv=None, environ=None, out=None, now=None):
    """The container's health check: one line on ``out``; 0 healthy, 1 not (or unreadable settings)."""
    from ..errors import ConfigError
    from .settings import load_web_settings
    out = out or sys.stdout
    try:
        web = load_web_settings(environ)
    except ConfigError as exc:
        print("unhealthy: %s" % exc, file=out)
        return 1
    now = now or dt.datetime.now(UTC)
    state = status.read(web.status_path)
    failed, problem, message = last_run(state)
    if failed:
        print("unhealthy: %s" % outcome_sentence(state), file=out)
        return 1
    instant = last_worked(state)
    word = verdict(instant, now, web.health_max_age_mins)
    if word == "never":
        print("unhealthy: no successful sync or poll recorded in %s yet" % web.status_path, file=out)
        return 1
    age = int((now - instant).total_seconds())
    if word == "stale":
        error = (state.get("last_error") or {}).get("message") if isinstance(state.get("last_error"), dict) else None
        print("unhealthy: syncing last worked %d min ago (%s), more than %d min%s"
              % (age // 60, timeutil.iso_utc(instant), web.health_max_age_mins,
                 "; last error: %s" % error if error else ""), file=out)
        return 1
    print("healthy: syncing last worked %d s ago (%s)" % (age, timeutil.iso_utc(instant)), file=out)
    return 0


if __name__ == "__main__":      # pragma: no cover - exercised by the Docker test as a process
    sys.exit(main())
