"""PROFILES: the pump's insulin profiles (pumper settings, docs/tandem-source.md §5.1) -> a Nightscout profile document.

``profile_store`` builds one Nightscout store entry per pump profile (pure): basal (U/h), sens
(ISF), carbratio (g/U) per segment, and the pump's own ``targetBg`` per segment as target_low and
target_high -- not the CGM alert thresholds 3.0.3 put there (docs/tandem-source.md §7.4.12, §8). All-zero
placeholder segments are dropped; numbers are numbers (3.0.3 sent "5.0", "20").

The backend hands the ``ProfileBuild`` to the engine (``ChunkResult.profiles``), which writes it
once per run (``engine_steps.profiles``). NIGHTSCOUT_PROFILE_UPLOAD_MODE (the build's ``mode``,
else ``config.profile_upload_mode``):

* ``add`` (default): POST a new profile document (Nightscout keeps the older ones as history;
  nothing is overwritten). The other profiles of the current document are carried over.
* ``replace``: PUT the current document in place -- only if tconnectsync created it
  (``enteredBy``); otherwise a new document is added as in ``add``.
* ``overwrite``: PUT the current document in place whoever created it.

A profile is only written when the pump's profiles differ from the newest document tconnectsync
wrote (or, if there is none, from the current one), so another uploader's later profile is not
fought over on every cycle.
"""
import dataclasses
import datetime as dt
import logging

from ..errors import ConfigError
from .skips import Skip

logger = logging.getLogger(__name__)

UTC = dt.timezone.utc
PROFILE_MODE_SETTING = "NIGHTSCOUT_PROFILE_UPLOAD_MODE"
PROFILE_MODES = ("add", "replace", "overwrite")
DEFAULT_PROFILE_MODE = "add"
PROFILE_HISTORY = 50                       # profile documents read to find our newest one
CARBS_HR = DELAY = 20                      # Nightscout's defaults (3.0.3: NIGHTSCOUT_PROFILE_*_VALUE)


@dataclasses.dataclass
class ProfileBuild:
    """What the pump's settings give PROFILES, and the accounting of it. The records read are
    the pump's profiles (or, without any, its settings: one record): each is skipped with a
    reason, or goes into the one profile document (the first is that document's outcome, the
    others are merged into it). ``notes``: repairs worth a warning (a malformed segment dropped)."""
    store: dict = None
    default: str = None
    fetched: int = 0
    skipped: list = dataclasses.field(default_factory=list)      # skips.Skip
    notes: list = dataclasses.field(default_factory=list)
    mode: str = None               # NIGHTSCOUT_PROFILE_UPLOAD_MODE (None: the config's, else add)
    now: dt.datetime = None        # the new document's startDate (None: the time it is written)


def profile_documents(pump_settings, serial, tz):
    """A ``ProfileBuild`` from the pump's settings (docs/tandem-source.md §5.1): the store and the active profile's
    name, or (store None) the reasons nothing is uploaded."""
    details, why = find_details(pump_settings, serial)
    if details is None:
        return ProfileBuild(fetched=1, skipped=[Skip("profile-no-settings", why)])
    store, default, problems = profile_store(details, tz.zone)
    build = ProfileBuild(store=store or None, default=default)
    for p in problems:
        if isinstance(p, Skip):
            build.skipped.append(p)
        else:
            build.notes.append(p)
    build.fetched = len(store) + len(build.skipped)
    if not build.fetched:
        build.fetched = 1
        build.skipped.append(Skip("profile-unusable", "the pump's settings hold no profile"))
    if store and default is None:
        build.skipped += [Skip("profile-no-active", "profile %r: no pump profile is marked active (activeIdp); "
                                                    "not uploaded" % name) for name in store]
        build.store = None
    return build


def find_details(settings, serial):
    """``settings.details`` from the pumper answer, a pump, its settings or the details themselves."""
    if not isinstance(settings, dict):
        return None, "no pump settings (the pumper answer) were given"
    if isinstance(settings.get("pumps"), list):
        pumps = [p for p in settings["pumps"] if isinstance(p, dict)]
        chosen = [p for p in pumps if str(p.get("serialNumber")) == str(serial)] or (pumps if len(pumps) == 1 else [])
        if not chosen:
            return None, "pump %s is not in the pumper answer" % serial
        settings = chosen[0]
    if "settings" in settings:
        settings = settings.get("settings")
        if not isinstance(settings, dict):
            return None, "the pump has no settings uploaded yet"
    if "details" in settings:
        settings = settings.get("details")
    if not isinstance(settings, dict) or not isinstance(settings.get("profiles"), dict):
        return None, "the pump's settings have no profiles"
    return settings, None


def _segment_list(segments, key, scale):
    return [{"time": "%02d:%02d" % divmod(s["startTime"], 60), "timeAsSeconds": s["startTime"] * 60,
             "value": round(s[key] * scale, 3) if scale != 1 else s[key]} for s in segments]


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0


def profile_store(details, timezone_name, carbs_hr=CARBS_HR, delay=DELAY):
    """({name: Nightscout profile}, name of the active one, [problems]) from ``settings.details``.

    Per segment: basal (U/h), sens (ISF, mg/dL/U), carbratio (g/U) and the pump's own
    ``targetBg`` as target_low and target_high (docs/tandem-source.md §8: not the CGM alert thresholds).
    """
    profiles = details.get("profiles") or {}
    active = profiles.get("activeIdp")
    store, default, problems = {}, None, []
    for p in profiles.get("profile") or []:
        name = p.get("name") if isinstance(p, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(Skip("profile-unusable", "a pump profile without a name was skipped"))
            continue
        segments, bad = [], False
        for s in p.get("timeDependentSegments") or []:
            keys = ("startTime", "basalRate", "isf", "carbRatio", "targetBg")
            if not isinstance(s, dict) or not all(_is_number(s.get(k)) for k in keys) or \
                    not isinstance(s["startTime"], int) or s["startTime"] >= 24 * 60:
                bad = True
                continue
            if not any(s[k] for k in keys):
                continue                            # an all-zero placeholder segment (docs/tandem-source.md §5.1)
            segments.append(s)
        if bad:
            problems.append("profile %r: a malformed segment was skipped" % name)
        segments.sort(key=lambda s: s["startTime"])
        if not segments or segments[0]["startTime"] != 0:
            problems.append(Skip("profile-unusable", "profile %r has no segment starting at midnight; not uploaded" % name))
            continue
        dia = p.get("insulinDuration")
        entry = {"dia": round(dia / 60.0, 2) if _is_number(dia) and dia > 0 else None,
                 "carbratio": _segment_list(segments, "carbRatio", 0.001),
                 "carbs_hr": carbs_hr, "delay": delay,
                 "sens": _segment_list(segments, "isf", 1),
                 "basal": _segment_list(segments, "basalRate", 0.001),
                 "target_low": _segment_list(segments, "targetBg", 1),
                 "target_high": _segment_list(segments, "targetBg", 1),
                 "timezone": timezone_name, "startDate": "1970-01-01T00:00:00.000Z", "units": "mg/dl"}
        if entry["dia"] is None:
            problems.append(Skip("profile-unusable", "profile %r has no insulin duration; not uploaded" % name))
            continue
        store[name] = entry
        if p.get("idp") == active:
            default = name
    return store, default, problems


def _canon(value):
    """Profile values compared the way Nightscout stores them (one number type; "5.0" == 5)."""
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 6)
    if isinstance(value, str):
        try:
            return round(float(value), 6)
        except ValueError:
            return value
    return value


COMPARED_PROFILE_KEYS = ("dia", "carbratio", "sens", "basal", "target_low", "target_high", "timezone", "units",
                         "carbs_hr", "delay")


def same_profiles(doc, store, default):
    """True when profile document ``doc`` already says what ``store``/``default`` say."""
    if not isinstance(doc, dict) or not isinstance(doc.get("store"), dict) or doc.get("defaultProfile") != default:
        return False
    for name, entry in store.items():
        have = doc["store"].get(name)
        if not isinstance(have, dict):
            return False
        for key in COMPARED_PROFILE_KEYS:
            mine = entry.get(key)
            theirs = have.get(key)
            if isinstance(mine, list) and isinstance(theirs, list):
                mine = [(x.get("timeAsSeconds"), x.get("value")) for x in mine]
                theirs = [(x.get("timeAsSeconds"), x.get("value")) if isinstance(x, dict) else x for x in theirs]
            if _canon(mine) != _canon(theirs):
                return False
    return True


def profile_mode(mode=None):
    """The NIGHTSCOUT_PROFILE_UPLOAD_MODE in force (default ``add``); a wrong one is a ConfigError."""
    mode = (mode or DEFAULT_PROFILE_MODE).strip().lower()
    if mode not in PROFILE_MODES:
        raise ConfigError("%s must be add, replace or overwrite, not %r." % (PROFILE_MODE_SETTING, mode))
    return mode
