"""Pieces the legacy t:connect clients share: Tandem's date form and its token expiry form."""
import datetime as dt


def tandem_date(day):
    """Tandem's ``MM-DD-YYYY`` form of a date."""
    return day.strftime("%m-%d-%Y")


def parse_expiry(value):
    """``2021-10-22T20:15:03.412Z`` -> Unix seconds, or None if absent/unreadable."""
    if not value:
        return None
    try:
        text = value.strip().replace("Z", "+00:00")
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.timestamp()
    except ValueError:
        return None
