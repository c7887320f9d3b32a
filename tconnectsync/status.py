"""The status file: what the daemon (and the web app) did last, for people and for --check-login.

A JSON object written atomically (a temporary file renamed over the old one), mode 0600.
Fields (all optional; times are UTC ISO strings):
  version, pid, backend, features, interval_s, started, last_poll, last_poll_marker,
  last_change, last_sync_started, last_success, last_data (newest pump record seen),
  last_error {time, message}, consecutive_failures, next_poll, state
  ("polling" | "syncing" | "backing-off" | "credentials-refused" | "stopped"),
  counts {polls, syncs, failures, logins, created, updated}, last_summary {feature: counts},
  pumps [{serial, model, first_day, last_day}] (the pumps the last sync covered, Tandem Source).
"""
import json
import os
import pathlib
import tempfile



def default_path(environ=None):
    """TCONNECTSYNC_STATUS_FILE, else status.json in the state folder (``config.state_dir``:
    TCONNECTSYNC_STATE_DIR, else $XDG_STATE_HOME/tconnectsync, else ~/.local/state/tconnectsync).
    ``Config.status_file`` is the same path with the settings files considered too."""
    from .config import STATUS_FILE_NAME
    from .settings_files import state_file
    environ = os.environ if environ is None else environ
    return state_file(environ, "TCONNECTSYNC_STATUS_FILE", STATUS_FILE_NAME)


def pumps_of(backend):
    """The pumps ``backend`` synced and their days with data (``pumps`` above), or None when it
    does not tell (the legacy backend)."""
    synced = getattr(backend, "synced_pumps", None)
    return list(synced()) if callable(synced) else None


def read(path):
    """The status dict, or {} when there is none (or it is unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def write(path, status):
    """Write ``status`` atomically with mode 0600, creating the folder if needed."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".status-", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(status, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
