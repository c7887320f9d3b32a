"""Where settings come from, and what is missing: read key by key from the environment, then
``./.env``, then ``$XDG_CONFIG_HOME/tconnectsync/.env`` (``config.py`` validates them into a
``Config``). Also where state files go (``state_dir``, ``state_file``). Nothing here reads the
environment at import time.
"""
import dataclasses
import io
import os
import pathlib
import stat

from dotenv import dotenv_values

from . import backends
from .errors import ConfigError

# Settings whose values are secrets (never logged; a settings file holding one must be private).
SECRET_SETTINGS = ("TCONNECT_PASSWORD", "NS_SECRET", "API_SECRET")


REQUIRED_TANDEM = ("TCONNECT_EMAIL", "TCONNECT_PASSWORD")
REQUIRED_NIGHTSCOUT = ("NS_URL", "NS_SECRET")
# Settings whose presence means "the user has started configuring tconnectsync".
IDENTITY_SETTINGS = ("TCONNECT_EMAIL", "TCONNECT_PASSWORD", "PUMP_SERIAL_NUMBER", "NS_URL", "NS_SECRET", "API_SECRET")
HINTS = {
    "TCONNECT_EMAIL": "set it to the e-mail address you log in to Tandem Source (or t:connect) with.",
    "TCONNECT_PASSWORD": "set it to your Tandem Source (or t:connect) password.",
    "PUMP_SERIAL_NUMBER": "set it to your pump's serial number (on the back of the pump).",
    "NS_URL": "set it to your Nightscout site's address, e.g. https://example.herokuapp.com/.",
    "NS_SECRET": "set it to your Nightscout API_SECRET (or set API_SECRET).",
    "TIMEZONE_NAME": "set it to the time zone your pump's clock follows, e.g. America/New_York.",
}
# Zones that are a fixed offset and read like a region's standard time: the pump's clock almost
# certainly follows a region with daylight saving. UTC and its aliases are a deliberate choice.


def _home(environ, home=None):
    if home is not None:
        return pathlib.Path(home)
    value = (environ.get("HOME") or "").strip()
    return pathlib.Path(value) if value else pathlib.Path(os.path.expanduser("~"))


def _xdg(environ, name, default_parts, home=None):
    """An XDG base directory: the variable when it is an absolute path (the spec ignores others),
    else its default under the home directory."""
    value = (environ.get(name) or "").strip()
    if value and os.path.isabs(value):
        return pathlib.Path(value)
    return _home(environ, home).joinpath(*default_parts)


def expand_user(value, environ, home=None):
    """``~`` and ``~/...`` expanded with the HOME of ``environ`` (not of this process)."""
    value = value.strip()
    if value == "~" or value.startswith("~/"):
        return str(_home(environ, home)) + value[1:]
    return os.path.expanduser(value)


def config_dir(environ, home=None):
    """``$XDG_CONFIG_HOME/tconnectsync`` (default ``~/.config/tconnectsync``)."""
    return _xdg(environ, "XDG_CONFIG_HOME", (".config",), home) / "tconnectsync"


def state_dir(settings, home=None):
    """The one place state-file defaults come from: ``TCONNECTSYNC_STATE_DIR``, else
    ``$XDG_STATE_HOME/tconnectsync`` (default ``~/.local/state/tconnectsync``)."""
    explicit = (settings.get("TCONNECTSYNC_STATE_DIR") or "").strip()
    if explicit:
        return pathlib.Path(expand_user(explicit, settings, home))
    return _xdg(settings, "XDG_STATE_HOME", (".local", "state"), home) / "tconnectsync"


def state_file(settings, setting, filename, home=None):
    """A state file's path: the explicit ``setting`` when set, else ``filename`` in ``state_dir``."""
    explicit = (settings.get(setting) or "").strip()
    if explicit:
        return pathlib.Path(expand_user(explicit, settings, home))
    return state_dir(settings, home) / filename


def settings_files(environ, cwd=None, home=None):
    """The settings files looked in, in order: ./.env, then the user's config folder."""
    cwd = pathlib.Path(cwd or os.getcwd())
    return (cwd / ".env", config_dir(environ, home) / ".env")


@dataclasses.dataclass(frozen=True)
class Lookup:
    """Where the settings were looked for and found."""
    looked_in: tuple = ()          # the settings files, in lookup order (whether they exist or not)
    read: tuple = ()               # those that existed and were read
    origin: dict = dataclasses.field(default_factory=dict)   # setting -> "environment" or a file path
    warnings: tuple = ()           # e.g. a settings file with a secret that others can read

    def places(self):
        """'the environment, /a/.env, /b/.env': every place looked in, for a sentence."""
        return ", ".join(["the environment"] + [str(p) for p in self.looked_in])


def _read_file(path):
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError("Could not read the settings file %s (%s): check its permissions."
                          % (path, exc.strerror)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("The settings file %s is not UTF-8 text (byte %d cannot be read): save it as UTF-8 "
                          "(e.g. `iconv -f latin1 -t utf-8`), or remove it if it is not a settings file."
                          % (path, exc.start + 1)) from None
    if "\x00" in text:
        raise ConfigError("The settings file %s holds binary data, not KEY=value lines: replace it with a text "
                          "file (.env.example describes each setting)." % path)
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {k: v for k, v in values.items() if v is not None and v.strip() != ""}


def _readable_by_others(path):
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def read_settings(environ=None, env_file=None, cwd=None, home=None):
    """Merge the environment over the settings files, key by key. Returns (settings, Lookup).

    ``env_file`` replaces the two default files by one. Empty values count as unset."""
    environ = dict(os.environ if environ is None else environ)
    candidates = (pathlib.Path(env_file),) if env_file is not None else settings_files(environ, cwd, home)
    merged, origin, read, warnings = {}, {}, [], []
    for path in reversed(candidates):            # the lowest priority first; later ones win
        if not path.is_file():
            continue
        values = _read_file(path)
        read.insert(0, path)
        merged.update(values)
        origin.update({k: str(path) for k in values})
        held = [k for k in SECRET_SETTINGS if k in values]
        if held and _readable_by_others(path):
            warnings.append("The settings file %s holds %s and other users can read it: run `chmod 600 %s`."
                            % (path, " and ".join(held), path))
    for key, value in environ.items():
        if value is not None and str(value).strip() != "":
            merged[key] = value
            origin[key] = "environment"
    return merged, Lookup(looked_in=tuple(candidates), read=tuple(read), origin=origin, warnings=tuple(warnings))


def has_any_settings(settings):
    """True when any setting that identifies an account or a site is set."""
    return any((settings.get(name) or "").strip() for name in IDENTITY_SETTINGS)


def missing_settings(settings, require=("tandem", "nightscout")):
    """The required settings that are not set (fallbacks considered: API_SECRET, TZ)."""
    def unset(name):
        return not (settings.get(name) or "").strip()
    api = (settings.get("TCONNECT_API") or "source").strip().lower()
    names = []
    if "tandem" in require:
        names += list(REQUIRED_TANDEM)
        if api in backends.REGISTRY and backends.REGISTRY[api].needs_serial:
            names.append("PUMP_SERIAL_NUMBER")
    if "nightscout" in require:
        names += list(REQUIRED_NIGHTSCOUT)
    names.append("TIMEZONE_NAME")
    fallback = {"NS_SECRET": "API_SECRET", "TIMEZONE_NAME": "TZ"}
    return [n for n in names if unset(n) and (n not in fallback or unset(fallback[n]))]


def _are(names):
    if len(names) == 1:
        return "%s is" % names[0]
    return "%s and %s are" % (", ".join(names[:-1]), names[-1])


def missing_sentence(missing, lookup):
    """One sentence naming every missing setting and every place looked in."""
    if len(missing) == 1:
        what = HINTS.get(missing[0], "set it.")
    else:
        what = "set them in one of those files (.env.example describes each) or in the environment."
    return "%s not set (looked in %s): %s" % (_are(missing), lookup.places(), what)


def no_settings_sentence(missing, lookup):
    """The sentence for a run with no settings at all (and no --demo)."""
    return ("No settings found: %s not set (looked in %s). Copy .env.example to one of those files and fill "
            "it in, or run `tconnectsync --demo`." % (_are(missing), lookup.places()))
