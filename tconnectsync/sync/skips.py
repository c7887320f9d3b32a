"""Why a record read from Tandem was not uploaded: one reason key per kind of skip.

A ``Skip`` is the text naming the record (logged with ``-v``) and a ``key`` that groups it in
the run's summary ("79 skipped: 75 boluses that delivered 0 U, 4 CGM readings the pump hid").
It is a ``str``, so code and tests that read the text keep working.

Records ignored on purpose (not data for Nightscout: a bolus that delivered nothing, a reminder
alarm) have their own keys; records that could not be read are ``UNREADABLE`` (they also come
with a warning naming them), so the two never mix in the summary.
"""

# key: (one, many) -- the label after a count
LABELS = {
    "bolus-zero": ("bolus that delivered 0 U", "boluses that delivered 0 U"),
    "bolus-pending": ("bolus not delivered yet", "boluses not delivered yet"),
    "bolus-orphan": ("extended part whose bolus is neither in the window nor in Nightscout",
                     "extended parts whose bolus is neither in the window nor in Nightscout"),
    "future": ("record dated in the future (pump clock ahead?)", "records dated in the future (pump clock ahead?)"),
    "resume-reminder": ("resume-pump reminder alarm", "resume-pump reminder alarms"),
    "mode-other": ("user-mode change that is neither a start nor a stop",
                   "user-mode changes that are neither a start nor a stop"),
    "mode-orphan": ("Sleep/Exercise stop whose start is not in Nightscout",
                    "Sleep/Exercise stops whose start is not in Nightscout"),
    "cgm-out-of-range": ("Dexcom out-of-range alert (signal loss)", "Dexcom out-of-range alerts (signal loss)"),
    "cgm-hidden": ("CGM reading the pump hid", "CGM readings the pump hid"),
    "basal-instant": ("basal change replaced within the same second", "basal changes replaced within the same second"),
    "basal-pending": ("basal change at the end of the data (synced once it lasts)",
                      "basal changes at the end of the data (synced once they last)"),
    "basal-duplicate": ("basal segment listed twice", "basal segments listed twice"),
    "ws2-marker": ("ws2 suspension row that is not an event", "ws2 suspension rows that are not events"),
    "profile-no-settings": ("pump settings with no profiles to read", "pump settings with no profiles to read"),
    "profile-unusable": ("pump profile that cannot be used (see -v)", "pump profiles that cannot be used (see -v)"),
    "profile-no-active": ("pump profile set with no active profile", "pump profile sets with no active profile"),
    "unreadable": ("record that could not be read (warnings above)", "records that could not be read (warnings above)"),
}
UNREADABLE = "unreadable"


class Skip(str):
    """The text naming a skipped record, with ``key`` (one of LABELS) grouping it."""

    def __new__(cls, key, text):
        if key not in LABELS:
            raise ValueError("unknown skip reason key %r" % (key,))
        obj = super().__new__(cls, text)
        obj.key = key
        return obj


def key_of(reason):
    """The group of a skip reason (a plain string, from older code, counts as unreadable-free 'other')."""
    return getattr(reason, "key", "other")


def label(key, count):
    one, many = LABELS.get(key, ("record not uploaded", "records not uploaded"))
    return "%d %s" % (count, one if count == 1 else many)


def describe(reasons):
    """"75 boluses that delivered 0 U, 4 CGM readings the pump hid" from {key: count}, largest first."""
    items = sorted(((k, n) for k, n in reasons.items() if n), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(label(k, n) for k, n in items)
