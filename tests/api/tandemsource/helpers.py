"""What the Tandem Source client tests share: the account, the clock, a config for a sandbox."""
import datetime as dt

from tconnectsync.api.tandemsource import TandemSourceApi
from tconnectsync.config import Config
from tconnectsync.sandbox.scenario import make_scenario
from tests import data

UTC = dt.timezone.utc
EMAIL = "pumper@example.com"
PASSWORD = 'p"a$s #w\\ord'
FIXTURES = str(data.TANDEMSOURCE)
NOW = dt.datetime(2026, 8, 7, 19, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, t=NOW):
        self.t = t

    def __call__(self):
        return self.t


def scenario(start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 7), **kw):
    kw.setdefault("cutoff", dt.datetime(2026, 8, 7, 18, tzinfo=UTC))
    return make_scenario(start, end, **kw)


def config(sb, tmp_path, **kw):
    values = dict(email=EMAIL, password=PASSWORD, pump_serial="", ns_url="", ns_secret="",
                  timezone_name="America/New_York", api="source", services_url=sb.services_url, region=sb.region,
                  sso_url=sb.sso_url, source_url=sb.source_url, token_file=str(tmp_path / "state" / "tokens.json"),
                  http_timeout=10.0)
    values.update(kw)
    return Config(**values)


def client(sb, tmp_path, clock=None, **kw):
    return TandemSourceApi(config(sb, tmp_path, **kw), clock=clock or sb.clock, sleep=lambda s: None)


def by_path(sb, fragment):
    return [r for r in sb.request_log if fragment in r.path]

