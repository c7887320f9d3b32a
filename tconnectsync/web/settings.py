"""The web app's own settings and the request parameters, each checked into one sentence.

Settings are read like the CLI's (environment, else a ``.env`` file), once, when the app is
created: a bad value of these is an error at start-up. The Tandem and Nightscout settings are
read per run instead (``load_config``), so a mistake there shows on the status page and in the
answer of ``/update`` rather than stopping the app.
"""
import dataclasses
import pathlib

from .. import config as config_module, settings_files
from ..errors import ConfigError

MAX_DAYS = 90
TRUE_WORDS = ("true", "1", "yes", "on")


@dataclasses.dataclass(frozen=True)
class WebSettings:
    secret: str = dataclasses.field(default="", repr=False)   # TCONNECTSYNC_HEROKU_SECRET ("" = not set)
    interval_mins: int = 0                                   # TCONNECTSYNC_HEROKU_INTERVAL_MINS (0 = off)
    features: tuple = None                                   # TCONNECTSYNC_HEROKU_FEATURES (None: the API's defaults)
    health_max_age_mins: int = 60                            # TCONNECTSYNC_HEALTH_MAX_AGE_MINS
    health_data_max_age_mins: int = 120                      # TCONNECTSYNC_HEALTH_DATA_MAX_AGE_MINS
    state_dir: pathlib.Path = None                           # config.state_dir (TCONNECTSYNC_STATE_DIR, XDG)
    status_path: pathlib.Path = None                         # config.state_file (TCONNECTSYNC_STATUS_FILE)


def known_features():
    return tuple(config_module.ACCEPTED_FEATURES)     # ours, and upstream's names (config.FEATURE_ALIASES)


def parse_features(text, what="features"):
    """A comma-separated list of feature names (any case) -> a tuple in the engine's names.

    Returns None when the text names nothing (absent or only commas and blanks)."""
    if text is None:
        return None
    names = []
    for part in str(text).split(","):
        name = part.strip().upper()
        if not name:
            continue
        if name not in known_features():
            raise ConfigError("%s names an unknown feature %r: use a comma-separated list of %s."
                              % (what, part.strip(), ", ".join(known_features())))
        if name not in names:
            names.append(name)
    return tuple(names) or None


def parse_days(text):
    """The ``days`` parameter: None when absent, else a whole number from 1 to MAX_DAYS."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ConfigError("days must be a whole number from 1 to %d, not %r." % (MAX_DAYS, text)) from None
    if not 1 <= value <= MAX_DAYS:
        raise ConfigError("days must be from 1 to %d (longer backfills: use the tconnectsync command), not %d."
                          % (MAX_DAYS, value))
    return value


def parse_pretend(text):
    """true, 1, yes and on (any case) mean pretend; anything else, or nothing, means write."""
    return text is not None and str(text).strip().lower() in TRUE_WORDS


def _whole(settings, name, default, low, high, hint):
    raw = settings.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError("%s must be a whole number %s, not %r." % (name, hint, raw)) from None
    if not low <= value <= high:
        raise ConfigError("%s must be from %d to %d %s, not %d." % (name, low, high, hint, value))
    return value


def load_web_settings(environ=None, **read_kw):
    """The web app's settings from the environment (and .env); ConfigError names a bad one."""
    settings, _ = settings_files.read_settings(environ, **read_kw)
    secret = (settings.get("TCONNECTSYNC_HEROKU_SECRET") or "").strip()
    interval = _whole(settings, "TCONNECTSYNC_HEROKU_INTERVAL_MINS", 0, 0, 7 * 24 * 60,
                      "of minutes (0 or empty turns the interval job off)")
    features = parse_features(settings.get("TCONNECTSYNC_HEROKU_FEATURES"), "TCONNECTSYNC_HEROKU_FEATURES")
    api = (settings.get("TCONNECT_API") or "source").strip().lower()
    if features and api in config_module.API_FEATURES:
        unsupported = [f for f in features if f not in config_module.API_FEATURES[api]]
        if unsupported:
            raise ConfigError("TCONNECTSYNC_HEROKU_FEATURES names %s, which TCONNECT_API=%s can't sync (it offers %s)."
                              % (", ".join(unsupported), api, ", ".join(config_module.API_FEATURES[api])))
    max_age = _whole(settings, "TCONNECTSYNC_HEALTH_MAX_AGE_MINS", 60, 1, 30 * 24 * 60, "of minutes")
    data_max_age = _whole(settings, "TCONNECTSYNC_HEALTH_DATA_MAX_AGE_MINS", 120, 1, 30 * 24 * 60, "of minutes")
    state_dir = settings_files.state_dir(settings)
    status_path = settings_files.state_file(settings, "TCONNECTSYNC_STATUS_FILE", config_module.STATUS_FILE_NAME)
    return WebSettings(secret=secret, interval_mins=interval, features=features, health_max_age_mins=max_age,
                       health_data_max_age_mins=data_max_age,
                       state_dir=state_dir, status_path=status_path)


def features_for(config, requested, web):
    """What a run syncs: the request's features, else the setting's, else the API's defaults;
    ConfigError names one the configured Tandem API can't sync."""
    features = requested or web.features or config_module.default_features(config.api)
    return config_module.check_features(config.api, features)
