"""The whole CLI against each real Nightscout, 0.12.8 and 15.0.7 (each skips, saying why and how to
install it, when it can't start here; see tests/nightscout/conftest.py)."""
import datetime as dt

from tests.nightscout.conftest import any_real_nightscout, real_nightscout, real_nightscout_15  # noqa: F401

from .test_sync import assert_basal_matches_truth, assert_boluses_match_truth


class RealView:
    """The real server seen through the few calls the e2e assertions use."""

    def __init__(self, backend):
        self.backend = backend
        self.url = backend.url
        self.secret = backend.secret
        self.request_log = []

    def treatments(self):
        return self.backend.stored_treatments()

    def activity(self):
        return self.backend.stored_activity()


def test_sync_into_real_nightscout_twice(make_env, any_real_nightscout):  # noqa: F811
    real_nightscout = any_real_nightscout
    real_nightscout.clear()
    ns = RealView(real_nightscout)
    assert real_nightscout.request("GET", "api/v1/status.json").json()["version"] == real_nightscout.flavor
    start, end = dt.date(2021, 11, 6), dt.date(2021, 11, 8)
    env = make_env(start, end, ns=ns)
    args = ("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS", "IOB", "PUMP_EVENTS")
    first = env.run(*args)
    assert first.returncode == 0, first.output
    assert_boluses_match_truth(env, start, end)
    assert_basal_matches_truth(env, start, end)
    assert len(ns.activity()) == 1
    before = sorted((d["_id"], d["identifier"], d["created_at"]) for d in ns.treatments())
    second = env.run(*args)
    assert second.returncode == 0, second.output
    assert second.stdout.count("0 created, 0 updated") == 4, second.stdout
    after = sorted((d["_id"], d["identifier"], d["created_at"]) for d in ns.treatments())
    assert after == before
    assert len(ns.activity()) == 1
    real_nightscout.clear()
