"""The one rule for "the last N days": N pump-local calendar days ending today.

``--days N`` of the command, ``--days`` of the daemon and ``days`` of the web app all mean this:
``--days 1`` is today only, ``--days 2`` (the default everywhere) is yesterday and today, so a run
just after midnight still picks up the end of yesterday.
"""
import datetime as dt

DEFAULT_DAYS = 2


def today_in(tz, now=None):
    """Today's pump-local date in ``tz`` at ``now`` (a UTC-aware datetime; default: now)."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(tz).date()


def last_days(today, days=None):
    """(start, end), inclusive: ``days`` calendar days ending ``today`` (default DEFAULT_DAYS)."""
    days = DEFAULT_DAYS if days is None else days
    if days < 1:
        raise ValueError("days must be 1 or more, not %r" % (days,))
    return today - dt.timedelta(days=days - 1), today


def days_since(today, day):
    """How many calendar days ``day`` .. ``today`` spans, both included (at least 1)."""
    return max(1, (today - day).days + 1)


# A legacy (t:connect) backfill longer than this needs --allow-long-range: t:connect has no way to
# say when a pump's data begins, so 1900..2099 would ask it for tens of thousands of days.
MAX_LEGACY_DAYS = 3 * 366
EARLIEST = dt.date(2000, 1, 1)            # before any Tandem pump; also keeps date arithmetic in range


def check_dates(start, end, today):
    """A sentence when the explicit dates cannot be a pump's (None when they can): a start date
    in the future (there is nothing to read, e.g. 9999-12-30) or before 2000."""
    if start > today:
        return ("--start-date %s is after today (%s in TIMEZONE_NAME): there is no pump data yet; "
                "give a past date." % (start, today))
    if end < EARLIEST:
        return "--end-date %s is before %s, before any Tandem pump: give a later date." % (end, EARLIEST)
    return None


def clamp_end(start, end, today):
    """(start, end, sentence): an end date after today becomes today, and says so."""
    if end <= today:
        return start, end, None
    return start, today, ("--end-date %s is after today: syncing up to today, %s." % (end, today))


def clamp_to_range(start, end, first, last, pumps=1):
    """(start, end, sentence): [start, end] cut to the pump's available data [first, last]
    (dates; either may be None when Tandem does not say). The sentence says what changed."""
    new_start = max(start, first) if first else start
    new_end = min(end, max(last, new_start)) if last else end
    if (new_start, new_end) == (start, end):
        return start, end, None
    whose = "this pump's" if pumps == 1 else "the %d pumps'" % pumps
    return new_start, new_end, ("Tandem Source has %s data from %s to %s: syncing %s..%s instead of "
                                "%s..%s." % (whose, first or "?", last or "?", new_start, new_end, start, end))


def check_legacy_span(start, end, allowed=False):
    """A sentence when a legacy backfill spans more than MAX_LEGACY_DAYS without --allow-long-range."""
    days = (end - start).days + 1
    if allowed or days <= MAX_LEGACY_DAYS:
        return None
    return ("%s..%s is %d days, more than the %d a t:connect backfill may span (t:connect cannot say where "
            "your pump's data begins): give a shorter range, or add --allow-long-range if you mean it."
            % (start, end, days, MAX_LEGACY_DAYS))
