"""Settings, validated once into a frozen ``Config``.

Lookup per setting: the process environment, else a ``.env`` file in the current directory,
else ``~/.config/tconnectsync/.env``. The environment wins over a file. Nothing here reads the
environment at import time; ``load_config`` is called with explicit inputs.
"""
import dataclasses
import os
import pathlib
import urllib.parse

from dotenv import dotenv_values

from . import timeutil
from .errors import ConfigError

DEFAULT_WEB_URL = "https://tconnect.tandemdiabetes.com/"
DEFAULT_WS2_URL = "https://tconnectws2.tandemdiabetes.com/"
DEFAULT_SERVICES_URL = "https://tdcservices.tandemdiabetes.com/"

FEATURES = ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS", "PROFILES", "CGM", "CGM_ALERTS")
# What each Tandem API can sync, and what a run syncs when --features is not given.
API_FEATURES = {"legacy": ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS"), "source": FEATURES}
API_DEFAULT_FEATURES = {"legacy": ("BASAL", "BOLUS", "IOB"), "source": ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS")}
DEFAULT_FEATURES = API_DEFAULT_FEATURES["legacy"]


def default_features(api):
    return API_DEFAULT_FEATURES.get(api, DEFAULT_FEATURES)


def check_features(api, features):
    """Raise ConfigError naming a feature the chosen Tandem API cannot sync."""
    unsupported = [f for f in features if f not in API_FEATURES.get(api, ())]
    if unsupported:
        raise ConfigError("%s can't be synced with TCONNECT_API=%s (it offers %s); use TCONNECT_API=source "
                          "or drop it from --features." % (" ".join(unsupported), api, " ".join(API_FEATURES[api])))
    return tuple(features)
APIS = ("legacy", "source")
REGIONS = ("US", "EU")
# Tandem Source hosts per region: (SSO landing page, tdcservices, Source data API).
SOURCE_HOSTS = {
    "US": ("https://sso.tandemdiabetes.com/", "https://tdcservices.tandemdiabetes.com/",
           "https://source.tandemdiabetes.com/"),
    "EU": ("https://sso.tandemdiabetes.com/", "https://tdcservices.eu.tandemdiabetes.com/",
           "https://source.eu.tandemdiabetes.com/"),
}
DEFAULT_TOKEN_FILE = "~/.local/state/tconnectsync/tandem-source-tokens.json"

SECRET_SETTINGS = ("TCONNECT_PASSWORD", "NS_SECRET", "API_SECRET")


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
    token_file: str = DEFAULT_TOKEN_FILE
    chunk_days: int = 2
    autoupdate_interval: float = 300.0
    no_data_minutes: float = 60.0
    announce_no_data: bool = False
    status_file: str = ""
    profile_upload_mode: str = "add"
    ns_batch_size: int = 1000
    http_timeout: float = 60.0
    notes: tuple = ()                  # informational lines for --check-login (where settings came from)

    @property
    def tz(self):
        return timeutil.get_zone(self.timezone_name)

    def secrets(self):
        return tuple(s for s in (self.password, self.ns_secret) if s)


def find_env_file(cwd=None, home=None):
    """The .env file that supplies settings the environment lacks, or None."""
    cwd = pathlib.Path(cwd or os.getcwd())
    home = pathlib.Path(home or os.path.expanduser("~"))
    for candidate in (cwd / ".env", home / ".config" / "tconnectsync" / ".env"):
        if candidate.is_file():
            return candidate
    return None


def read_settings(environ=None, env_file=None, cwd=None, home=None):
    """Merge the .env file (if any) under the environment. Returns (settings, source_path)."""
    environ = dict(os.environ if environ is None else environ)
    path = env_file if env_file is not None else find_env_file(cwd, home)
    merged = {}
    if path:
        try:
            values = dotenv_values(path, interpolate=False)
        except OSError as exc:
            raise ConfigError("Could not read the settings file %s (%s): check its permissions."
                              % (path, exc.strerror)) from None
        merged.update({k: v for k, v in values.items() if v is not None})
    merged.update(environ)
    return merged, path


def _url(settings, name, default=None):
    value = (settings.get(name) or "").strip()
    if not value:
        if default is None:
            raise ConfigError("%s is not set: set it to your site's address, e.g. https://example.herokuapp.com/." % name)
        return default
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("%s must be a full URL starting with https:// (or http://), e.g. "
                          "https://example.herokuapp.com/; it has no scheme or host." % name)
    if parts.username or parts.password:
        raise ConfigError("%s must not contain a user name or password; put the secret in NS_SECRET." % name)
    if not value.endswith("/"):
        value += "/"
    return value


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


def load_config(environ=None, env_file=None, cwd=None, home=None, require=("tandem", "nightscout")):
    """Build and validate the Config. ``require`` names the groups of settings that must be set."""
    settings, source = read_settings(environ, env_file, cwd, home)
    notes = []
    if source:
        notes.append("settings file: %s" % source)

    def get(name):
        value = settings.get(name)
        return value if value is None else str(value)

    def required(name, hint):
        value = get(name)
        if value is None or value.strip() == "":
            raise ConfigError("%s is not set: %s" % (name, hint))
        return value

    api = (get("TCONNECT_API") or "source").strip().lower()
    if api not in APIS:
        raise ConfigError("TCONNECT_API must be one of %s, not %r." % (", ".join(APIS), api))
    region = (get("TCONNECT_REGION") or "US").strip().upper()
    if region not in REGIONS:
        raise ConfigError("TCONNECT_REGION must be US or EU, not %r." % region)
    sso_default, services_default, source_default = SOURCE_HOSTS[region]
    if api == "legacy":
        services_default = DEFAULT_SERVICES_URL

    email = password = ""
    serial = ""
    if "tandem" in require:
        email = required("TCONNECT_EMAIL", "set it to the e-mail address you use to log in to t:connect.").strip()
        password = required("TCONNECT_PASSWORD", "set it to your t:connect password.")
        if api == "source":
            serial = (get("PUMP_SERIAL_NUMBER") or "").strip()     # optional: the newest pump is used
        else:
            serial = required("PUMP_SERIAL_NUMBER", "set it to your pump's serial number (on the back of the pump).").strip()
        if serial and not serial.isdigit():
            raise ConfigError("PUMP_SERIAL_NUMBER must be the pump's serial number, digits only; it is not a number.")

    ns_url = ns_secret = ""
    if "nightscout" in require:
        ns_url = _url(settings, "NS_URL")
        ns_secret = get("NS_SECRET")
        if not ns_secret:
            ns_secret = get("API_SECRET")
            if ns_secret:
                notes.append("NS_SECRET is not set; using API_SECRET")
        if not ns_secret:
            raise ConfigError("NS_SECRET is not set: set it to your Nightscout API_SECRET (or set API_SECRET).")

    tz_name = (get("TIMEZONE_NAME") or "").strip()
    if not tz_name:
        tz_name = (get("TZ") or "").strip().lstrip(":")
        if tz_name:
            notes.append("TIMEZONE_NAME is not set; using TZ=%s" % tz_name)
    if not tz_name:
        raise ConfigError("TIMEZONE_NAME is not set: set it to the time zone your pump's clock "
                          "follows, e.g. America/New_York.")
    try:
        timeutil.get_zone(tz_name)
    except Exception:
        raise ConfigError("TIMEZONE_NAME=%r is not a known time zone name: use a tz database name "
                          "such as America/New_York or Europe/Berlin." % tz_name) from None

    return Config(
        email=email, password=password, pump_serial=serial, ns_url=ns_url, ns_secret=ns_secret,
        timezone_name=tz_name, api=api,
        web_url=_url(settings, "TCONNECT_WEB_URL", DEFAULT_WEB_URL),
        ws2_url=_url(settings, "TCONNECT_WS2_URL", DEFAULT_WS2_URL),
        services_url=_url(settings, "TCONNECT_SERVICES_URL", services_default),
        region=region,
        sso_url=_url(settings, "TANDEM_SSO_URL", sso_default),
        source_url=_url(settings, "TANDEM_SOURCE_URL", source_default),
        token_file=os.path.expanduser((get("TCONNECTSYNC_TOKEN_FILE") or DEFAULT_TOKEN_FILE).strip()),
        chunk_days=_positive_int(settings, "TCONNECTSYNC_CHUNK_DAYS", 2, 1, 2),
        ns_batch_size=_positive_int(settings, "NS_BATCH_SIZE", 1000, 1, 5000),
        http_timeout=float(_positive_int(settings, "TCONNECTSYNC_HTTP_TIMEOUT", 60, 1, 600)),
        autoupdate_interval=float(_positive_int(settings, "AUTOUPDATE_INTERVAL", 300, 1, 86400)),
        no_data_minutes=float(_positive_int(settings, "AUTOUPDATE_NO_DATA_MINUTES", 60, 1, 7 * 24 * 60)),
        announce_no_data=_bool(settings, "AUTOUPDATE_NO_DATA_ANNOUNCEMENT"),
        status_file=os.path.expanduser((get("TCONNECTSYNC_STATUS_FILE") or "").strip()),
        profile_upload_mode=_choice(settings, "NIGHTSCOUT_PROFILE_UPLOAD_MODE", ("add", "replace", "overwrite"), "add"),
        notes=tuple(notes),
    )


def redact(text, secrets):
    """``text`` with every secret (and its SHA-1 hex) replaced by ``***``."""
    import hashlib
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "***")
        text = text.replace(hashlib.sha1(secret.encode("utf-8")).hexdigest(), "***")
    return text
