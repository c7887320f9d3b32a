"""Settings, validated once into a frozen ``Config``.

Where settings come from, key by key (each key from the first place that has a non-empty value):

1. the process environment,
2. ``.env`` in the current directory,
3. ``$XDG_CONFIG_HOME/tconnectsync/.env`` (default ``~/.config/tconnectsync/.env``).

An empty value (``NS_SECRET=``) counts as unset, so it never hides a value from a later place.
State files (the Tandem Source token cache, the daemon's status file, the web app's state) live in
``state_dir``: ``TCONNECTSYNC_STATE_DIR``, else ``$XDG_STATE_HOME/tconnectsync`` (default
``~/.local/state/tconnectsync``). Nothing here reads the environment at import time;
``load_config`` is called with explicit inputs.
"""
import dataclasses
import ipaddress
import logging
import urllib.parse


from . import backends, timeutil
from .api.tandemsource.regions import SOURCE_HOSTS   # Tandem Source hosts per region: (SSO, tdcservices, Source)
from .backends import FEATURES  # noqa: F401 - every feature there is, public here too
from .errors import ConfigError
from .settings_files import missing_sentence, missing_settings, read_settings, state_dir, state_file

logger = logging.getLogger(__name__)

DEFAULT_WEB_URL = "https://tconnect.tandemdiabetes.com/"
DEFAULT_WS2_URL = "https://tconnectws2.tandemdiabetes.com/"
DEFAULT_SERVICES_URL = "https://tdcservices.tandemdiabetes.com/"

# What each Tandem API can sync, and what a run syncs when --features is not given (backends.py).
API_FEATURES = {api: spec.features for api, spec in backends.REGISTRY.items()}
API_DEFAULT_FEATURES = {api: spec.default_features for api, spec in backends.REGISTRY.items()}
DEFAULT_FEATURES = API_DEFAULT_FEATURES["legacy"]


def default_features(api):
    return API_DEFAULT_FEATURES.get(api, DEFAULT_FEATURES)


# Feature names of upstream tconnectsync, which users copy from the settings they used before: each
# is accepted wherever a feature is, mapped to ours (None: ignored), with one warning saying what we
# do instead; never a usage error.
FEATURE_ALIASES = {
    "PUMP_EVENTS_BASAL_SUSPENSION": ("PUMP_EVENTS", "PUMP_EVENTS uploads the basal suspensions, so it is "
                                                    "synced instead"),
    "BOLUS_BG": ("BOLUS", "BOLUS uploads the BG each bolus used, so it is synced instead"),
    "DEVICE_STATUS": (None, "tconnectsync does not upload the pump's status (Nightscout devicestatus) yet, "
                            "so it is ignored"),
}
ACCEPTED_FEATURES = tuple(FEATURES) + tuple(FEATURE_ALIASES)


def resolve_features(api, features):
    """``features`` with upstream's names (``FEATURE_ALIASES``) replaced by ours, one warning each,
    in order and without repeats; the API's defaults when nothing is left."""
    out = []
    for name in features:
        if name in FEATURE_ALIASES:
            ours, instead = FEATURE_ALIASES[name]
            logger.warning("Feature %s is upstream tconnectsync's name: %s.", name, instead)
            name = ours
        if name is not None and name not in out:
            out.append(name)
    if features and not out:
        logger.warning("No feature left to sync after that: syncing the defaults, %s.",
                       " ".join(default_features(api)))
        out = list(default_features(api))
    return tuple(out)


def check_features(api, features):
    """Upstream's feature names mapped to ours (``resolve_features``); raise ConfigError naming a
    feature the chosen Tandem API cannot sync."""
    features = resolve_features(api, features)
    unsupported = [f for f in features if f not in API_FEATURES.get(api, ())]
    if unsupported:
        raise ConfigError("%s can't be synced with TCONNECT_API=%s (it offers %s); use TCONNECT_API=source "
                          "or drop it from --features." % (" ".join(unsupported), api, " ".join(API_FEATURES[api])))
    return tuple(features)
APIS = backends.APIS
REGIONS = ("US", "EU")
TOKEN_FILE_NAME = "tandem-source-tokens.json"
STATUS_FILE_NAME = "status.json"


@dataclasses.dataclass(frozen=True)
class Config:
    email: str
    password: str = dataclasses.field(repr=False)
    pump_serial: str
    ns_url: str
    ns_secret: str = dataclasses.field(repr=False)
    timezone_name: str
    api: str = "legacy"
    web_url: str = DEFAULT_WEB_URL
    ws2_url: str = DEFAULT_WS2_URL
    services_url: str = DEFAULT_SERVICES_URL
    region: str = "US"
    sso_url: str = SOURCE_HOSTS["US"][0]
    source_url: str = SOURCE_HOSTS["US"][2]
    token_file: str = ""               # "" = no token cache (load_config fills in the default)
    chunk_days: int = 2
    autoupdate_interval: float = 300.0
    no_data_minutes: float = 60.0
    announce_no_data: bool = False
    status_file: str = ""              # load_config fills in the default
    profile_upload_mode: str = "add"
    ns_batch_size: int = 1000
    http_timeout: float = 60.0
    state_dir: str = ""                # "" = no shared state (no run lock, no cross-process login cap)
    run_budget: float = 240.0          # seconds a one-shot run (or one daemon cycle) may take
    lock_wait: float = 60.0            # seconds a run waits for another one on the same account
    notes: tuple = ()                  # informational lines for --check-login (where settings came from)

    @property
    def tz(self):
        return timeutil.get_zone(self.timezone_name)

    def secrets(self):
        return tuple(s for s in (self.password, self.ns_secret) if s)


# What a sync cannot do without (PUMP_SERIAL_NUMBER too, with TCONNECT_API=legacy), in the order named.
UTC_NAMES = frozenset(n.lower() for n in ("UTC", "UCT", "Zulu", "Universal", "GMT", "GMT0", "GMT+0", "GMT-0",
                                          "Greenwich"))
STANDARD_TIME_NAMES = frozenset(("est", "mst", "hst"))


def _url(settings, name, default=None, warnings=None, secret="the secret"):
    value = (settings.get(name) or "").strip()
    if not value:
        if default is None:
            raise ConfigError("%s is not set: set it to your site's address, e.g. https://example.herokuapp.com/." % name)
        return default
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("%s must be a full URL starting with https://, e.g. "
                          "https://example.herokuapp.com/; it has no scheme or host." % name)
    if parts.username or parts.password:
        raise ConfigError("%s must not contain a user name or password; put the secret in NS_SECRET." % name)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError("%s has the port %s, which no server can use: a port is a number from 1 to 65535 "
                          "(or leave it out)." % (name, parts.netloc.rsplit(":", 1)[-1]))
    if parts.scheme == "http":
        where = http_host_kind(parts.hostname or "")
        if where == "public":
            raise ConfigError("%s uses http:// to %s, so %s would travel unencrypted: use https:// "
                              "(http:// is accepted only for localhost and private network addresses "
                              "such as 192.168.1.10)." % (name, parts.hostname, secret))
        if where == "private" and warnings is not None:
            warnings.append("%s uses http:// to the private address %s: %s travels unencrypted on that "
                            "network; use https:// unless you trust every device on it." % (name, parts.hostname, secret))
    if not value.endswith("/"):
        value += "/"
    return value


def http_host_kind(host):
    """'loopback' (localhost, 127.0.0.0/8, ::1), 'private' (private or link-local addresses) or
    'public' (anything else, including every host name but localhost: names are not resolved)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "public"
    if address.is_loopback:
        return "loopback"
    if address.is_private or address.is_link_local:
        return "private"
    return "public"


def zone_warning(tz_name):
    """A sentence when ``tz_name`` is a fixed offset that reads like a region's standard time
    (EST, MST, HST, Etc/GMT+5): it never changes for daylight saving. None otherwise."""
    bare = tz_name[4:] if tz_name.lower().startswith("etc/") else tz_name
    if bare.lower() in UTC_NAMES:
        return None
    if not (bare.lower() in STANDARD_TIME_NAMES or tz_name.lower().startswith("etc/")):
        return None
    import datetime as dt
    zone = timeutil.get_zone(tz_name)
    offsets = {zone.utcoffset(dt.datetime(2024, m, 15)) for m in (1, 7)}
    if len(offsets) != 1:
        return None
    hours = next(iter(offsets)).total_seconds() / 3600
    return ("TIMEZONE_NAME=%s is a fixed offset (UTC%+g) with no daylight saving: if your pump's clock "
            "changes for summer time, use your region's name instead, e.g. America/New_York." % (tz_name, hours))


def _positive_int(settings, name, default, low=1, high=None):
    raw = settings.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError("%s must be a whole number, not %r." % (name, raw)) from None
    if value < low or (high is not None and value > high):
        raise ConfigError("%s must be between %d and %s, not %d." % (name, low, high or "any", value))
    return value


def _choice(settings, name, choices, default):
    value = (settings.get(name) or "").strip().lower() or default
    if value not in choices:
        raise ConfigError("%s must be one of %s, not %r." % (name, ", ".join(choices), value))
    return value


def _bool(settings, name, default=False):
    raw = settings.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError("%s must be true or false, not %r." % (name, raw))


def load_config(environ=None, env_file=None, cwd=None, home=None, require=("tandem", "nightscout"), log=True):
    """Build and validate the Config. ``require`` names the groups of settings that must be set.

    Raises ConfigError with one sentence; a missing setting is named with every other missing one
    and every place looked in. Warnings (a settings file others can read, http:// to a private
    address, a fixed-offset zone) are logged once here (``log=False``: not) and kept in the notes."""
    settings, lookup = read_settings(environ, env_file, cwd, home)
    notes = []
    if lookup.read:
        notes.append("settings files read: %s (the environment wins over them, key by key)"
                     % ", ".join(str(p) for p in lookup.read))
    else:
        notes.append("no settings file found (looked in %s); settings come from the environment"
                     % ", ".join(str(p) for p in lookup.looked_in))
    warnings = list(lookup.warnings)

    def get(name):
        value = settings.get(name)
        return value if value is None else str(value)

    api = (get("TCONNECT_API") or "source").strip().lower()
    if api not in APIS:
        raise ConfigError("TCONNECT_API must be one of %s, not %r." % (", ".join(APIS), api))
    region = (get("TCONNECT_REGION") or "US").strip().upper()
    if region not in REGIONS:
        raise ConfigError("TCONNECT_REGION must be US or EU, not %r." % region)
    missing = missing_settings(settings, require)
    if missing:
        raise ConfigError(missing_sentence(missing, lookup))
    sso_default, services_default, source_default = SOURCE_HOSTS[region]
    if not backends.spec(api).region_hosts:
        services_default = DEFAULT_SERVICES_URL

    email = password = ""
    serial = ""
    if "tandem" in require:
        email = get("TCONNECT_EMAIL").strip()
        password = get("TCONNECT_PASSWORD")
        serial = (get("PUMP_SERIAL_NUMBER") or "").strip()     # optional with Tandem Source: the newest pump
        if serial and not (serial.isascii() and serial.isdigit()):
            raise ConfigError("PUMP_SERIAL_NUMBER must be the pump's serial number, digits 0-9 only; it has other characters.")

    ns_url = ns_secret = ""
    if "nightscout" in require:
        ns_url = _url(settings, "NS_URL", warnings=warnings, secret="the Nightscout secret")
        ns_secret = get("NS_SECRET")
        if not ns_secret:
            ns_secret = get("API_SECRET")
            notes.append("NS_SECRET is not set; using API_SECRET")

    tz_name = (get("TIMEZONE_NAME") or "").strip()
    if not tz_name:
        tz_name = (get("TZ") or "").strip().lstrip(":")
        notes.append("TIMEZONE_NAME is not set; using TZ=%s" % tz_name)
    try:
        timeutil.get_zone(tz_name)
    except Exception:
        raise ConfigError("TIMEZONE_NAME=%r is not a known time zone name: use a tz database name "
                          "such as America/New_York or Europe/Berlin." % tz_name) from None
    zone = zone_warning(tz_name)
    if zone:
        warnings.append(zone)

    def tandem_url(name, default):
        return _url(settings, name, default, warnings=warnings, secret="your Tandem password")

    config = Config(
        email=email, password=password, pump_serial=serial, ns_url=ns_url, ns_secret=ns_secret,
        timezone_name=tz_name, api=api,
        web_url=tandem_url("TCONNECT_WEB_URL", DEFAULT_WEB_URL),
        ws2_url=tandem_url("TCONNECT_WS2_URL", DEFAULT_WS2_URL),
        services_url=tandem_url("TCONNECT_SERVICES_URL", services_default),
        region=region,
        sso_url=tandem_url("TANDEM_SSO_URL", sso_default),
        source_url=tandem_url("TANDEM_SOURCE_URL", source_default),
        token_file=str(state_file(settings, "TCONNECTSYNC_TOKEN_FILE", TOKEN_FILE_NAME, home)),
        chunk_days=_positive_int(settings, "TCONNECTSYNC_CHUNK_DAYS", 2, 1, 2),
        ns_batch_size=_positive_int(settings, "NS_BATCH_SIZE", 1000, 1, 5000),
        http_timeout=float(_positive_int(settings, "TCONNECTSYNC_HTTP_TIMEOUT", 60, 1, 600)),
        autoupdate_interval=float(_positive_int(settings, "AUTOUPDATE_INTERVAL", 300, 1, 86400)),
        no_data_minutes=float(_positive_int(settings, "AUTOUPDATE_NO_DATA_MINUTES", 60, 1, 7 * 24 * 60)),
        announce_no_data=_bool(settings, "AUTOUPDATE_NO_DATA_ANNOUNCEMENT"),
        status_file=str(state_file(settings, "TCONNECTSYNC_STATUS_FILE", STATUS_FILE_NAME, home)),
        profile_upload_mode=_choice(settings, "NIGHTSCOUT_PROFILE_UPLOAD_MODE", ("add", "replace", "overwrite"), "add"),
        state_dir=str(state_dir(settings, home)),
        run_budget=float(_positive_int(settings, "TCONNECTSYNC_RUN_BUDGET", 240, 5, 86400)),
        lock_wait=float(_positive_int(settings, "TCONNECTSYNC_LOCK_WAIT", 60, 0, 3600)),
        notes=tuple(notes + ["warning: %s" % w for w in warnings]),
    )
    if log:
        for warning in warnings:
            logger.warning("%s", warning)
    return config
