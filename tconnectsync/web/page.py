"""What the status page shows, as plain values for ``templates/index.html``.

Nothing secret goes in: no password, no Nightscout secret, no app secret, no e-mail address.
The runs' log lines (which can name pump records) are shown only to a visitor who gives the
app's secret; everything else is for anyone who has the address.
"""
import datetime as dt
import platform

from .. import __version__, timeutil
from ..config import default_features, load_config
from ..settings_files import read_settings
from ..errors import ConfigError
from .health import hide_serials
from .runner import now_utc, parse_iso

UTC = dt.timezone.utc
OUTCOMES = {"ok": ("ok", "ok"), "failed": ("failed", "bad"), "running": ("running", "run"),
            "interrupted": ("interrupted", "bad")}


def human(seconds):
    seconds = max(0, int(seconds))
    if seconds < 90:
        return "%d s" % seconds
    minutes = seconds // 60
    if minutes < 90:
        return "%d min" % minutes
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return "%d h %d min" % (hours, minutes) if minutes else "%d h" % hours
    return "%d days" % (hours // 24)


def took(seconds):
    return "%.1f s" % seconds if seconds < 10 else human(seconds)


def _zone(state, config):
    if config is not None:
        return config.tz, config.timezone_name
    settings, _ = read_settings(state.environ)
    name = (settings.get("TIMEZONE_NAME") or "").strip()
    try:
        return timeutil.get_zone(name), name
    except Exception:  # noqa: BLE001 - not set or unknown: the settings error says so
        return UTC, "UTC"


def page_context(state, authorized=False, now=None):
    now = now or now_utc()
    web = state.web
    try:
        config = load_config(state.environ)
        settings_error = None
    except ConfigError as exc:
        config = None
        settings_error = str(exc)
    tz, tz_name = _zone(state, config)
    # Pump serials (a wrong PUMP_SERIAL_NUMBER's error lists every pump on the account) only for
    # a visitor who gave the app's secret.
    shown = (lambda text: text) if authorized else hide_serials

    def local(instant):
        return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M") if instant else None

    def ago(instant):
        return human((now - instant).total_seconds()) + " ago" if instant else None

    health = state.health(now)
    last_success = parse_iso(health["last_success"])
    next_run = state.next_run()
    running = state.runner.running()
    runs = []
    for r in state.runner.history.runs():
        started = parse_iso(r.get("started"))
        run_state = r.get("state")
        if run_state == "running" and r.get("id") != running:
            run_state = "interrupted"           # its process died; the next run marks it so
        label, css = OUTCOMES.get(run_state, (run_state or "?", "bad"))
        if r.get("pretend") and r.get("state") == "ok":
            label = "ok (pretend: nothing written)"
        counts = [(f, c.get("created", 0), c.get("updated", 0)) for f, c in (r.get("counts") or {}).items()
                  if isinstance(c, dict)]
        runs.append({
            "id": r.get("id"), "when": local(started), "ago": ago(started), "trigger": r.get("trigger"),
            "duration": took(r["duration_s"]) if r.get("duration_s") is not None else None,
            "outcome": label, "css": css, "window": " to ".join(r.get("window") or []),
            "counts": counts, "error": shown(r.get("error")), "log": r.get("log") if authorized else None,
            "log_lines": len(r.get("log") or []),
            "pumps": _pumps(r.get("pumps")) if authorized else None,      # serials: like the log
        })
    return {
        "versions": versions(),
        "secret_set": bool(web.secret),
        "authorized": authorized,
        "settings_error": shown(settings_error),
        "tz_name": tz_name,
        "backend": config.api if config else None,
        "features": web.features or (default_features(config.api) if config else ()),
        "features_from_setting": bool(web.features),
        "interval_mins": web.interval_mins,
        "next_run": local(next_run.astimezone(UTC)) if next_run else None,
        "health": health,
        "health_max_age": human(web.health_max_age_mins * 60),
        "last_success": local(last_success), "last_success_ago": ago(last_success),
        "last_success_from_nightscout": health.get("last_success_from") == "nightscout",
        "data_age": human(health["data_age_seconds"]) if health["data_age_seconds"] is not None else None,
        "running": running,
        "runs": runs,
        "now": local(now),
    }


def _pumps(pumps):
    """``22222222 (t:slim X2) 2025-03-01..2025-03-03; 11111111 ...``: the pumps a run synced."""
    return "; ".join("%s (%s) %s..%s" % (p.get("serial"), p.get("model"), p.get("first_day") or "?",
                                          p.get("last_day") or "?") for p in pumps or () if isinstance(p, dict))


def versions():
    try:
        from importlib.metadata import version
        flask_version = version("flask")
    except Exception:  # noqa: BLE001
        flask_version = "?"
    return {"tconnectsync": __version__, "python": platform.python_version(), "flask": flask_version}
