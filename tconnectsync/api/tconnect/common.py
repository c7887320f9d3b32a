"""Pieces the legacy t:connect clients share: the login state, Tandem's date and expiry forms."""
import datetime as dt
import time


class PasswordLogin:
    """What both t:connect logins (website, Android app) keep: where and as whom they log in,
    and the token they got."""

    def __init__(self, http, base_url, email, password, limiter, clock=time.time):
        self.http = http
        self.base_url = base_url
        self.email = email
        self._password = password
        self.limiter = limiter
        self.clock = clock
        self.access_token = None
        self.expires_at = None
        self.renew_at = 0


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
