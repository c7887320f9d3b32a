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
