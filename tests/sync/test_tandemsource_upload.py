"""The engine's steps beyond plain treatments for Tandem Source (partials, CGM entries, profiles),
run through the real engine and the real Nightscout client against the fake Nightscout on 127.0.0.1."""
import datetime as dt
import types

import pytest

from tconnectsync import timeutil
from tconnectsync.errors import ConfigError
from tconnectsync.nightscout import NightscoutClient
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sync.documents import ENTERED_BY, identifier
from tconnectsync.sync.engine import Clients, Engine
from tconnectsync.sync.tandemsource_docs import source_documents
from tconnectsync.sync.engine_steps import new_entries

from tests.parser._source import NEW_YORK, SERIAL, basal, ev, fixture_json, tandem_seconds

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 8, 15, tzinfo=UTC)
SECRET = "upload-nightscout-secret"


class Site:
    """The fake Nightscout and a real client of it (batches of 2, to see batching)."""

    def __init__(self, fake):
        self.fake = fake
        self.client = NightscoutClient(fake.url, SECRET, batch_size=2)

    @property
    def docs(self):
        return self.fake.treatments()

    @property
    def entries(self):
        return self.fake.entries()

    @property
    def profiles(self):
        return self.fake.profiles()

    def writes(self):
        return [(m, path) for m, path in self.fake.request_log if m != "GET"]


@pytest.fixture
def ns():
    with FakeNightscout(api_secret=SECRET, flavor="15.0.7") as fake:
        site = Site(fake)
        yield site
        site.client.http.close()


class EventsSource:
    """A Tandem Source backend over a fixed list of pump-logs events (by pump-local date)."""

    def __init__(self, events, settings=None, now=NOW):
        self.events, self.settings, self.now = events, settings, now

    def chunk(self, start, end, features, want_iob=False, window_end=None):
        chosen = [e for e in self.events if start <= dt.date.fromisoformat(e["pumpDateTime"][:10]) <= end]
        return source_documents(chosen, features, SERIAL, NEW_YORK, now=self.now, pump_settings=self.settings)


def engine_for(source, ns, features, chunk_days=1, **config):
    cfg = types.SimpleNamespace(tz=NEW_YORK, pump_serial=SERIAL, chunk_days=chunk_days, **config)
    return Engine(cfg, Clients(source=source, nightscout=ns.client), features)


def sync(source, ns, features, start, end, **kw):
    return engine_for(source, ns, features, **kw).run(start, end)


D12, D13 = dt.date(2026, 8, 12), dt.date(2026, 8, 13)


def of_type(ns, event_type):
    return [d for d in ns.docs if d["eventType"] == event_type]


# ------------------------------------------------------------------------------- the fixture day

def test_fixture_day_twice_through_the_engine(ns):
    source = EventsSource(fixture_json("bff-pump-logs-response.json")["events"],
                          settings=fixture_json("bff-pumper-response.json"))
    features = ("BASAL", "BOLUS", "PUMP_EVENTS", "PROFILES", "CGM", "CGM_ALERTS")
    first = sync(source, ns, features, D12, D12)
    assert first.warning_count == 0 and first.ok
    created = {f: c.created for f, c in first.counts.items()}
    assert created == {"BASAL": 17, "BOLUS": 3, "PUMP_EVENTS": 12, "PROFILES": 1, "CGM": 35, "CGM_ALERTS": 1}
    assert len(ns.docs) == 17 + 3 + 12 + 1 and len(ns.entries) == 35 and len(ns.profiles) == 1
    writes = len(ns.writes())
    again = sync(source, ns, features, D12, D12)
    assert {f: (c.created, c.updated) for f, c in again.counts.items()} == {f: (0, 0) for f in features}
    assert again.counts["CGM"].unchanged == 35 and again.counts["PROFILES"].unchanged == 1
    assert ns.writes()[writes:] == []
    assert ns.profiles[0]["defaultProfile"] == "Weekday" and ns.profiles[0]["enteredBy"] == ENTERED_BY


# -------------------------------------------------------------------- documents across chunks

def sleep_across_midnight():
    return [ev(229, 100, "2026-08-12T22:45:00", requestedAction=1, activeSleepSchedule=[0], sleepStartedByGui=0),
            basal(101, "2026-08-12T23:50:00", 800),
            basal(200, "2026-08-13T00:00:00", 800),
            ev(229, 201, "2026-08-13T06:45:00", requestedAction=2),
            basal(202, "2026-08-13T07:00:00", 900)]


def test_a_sleep_across_two_chunks_is_closed_and_stays_closed(ns):
    source = EventsSource(sleep_across_midnight())
    summary = sync(source, ns, ("PUMP_EVENTS",), D12, D13, chunk_days=1)
    (doc,) = of_type(ns, "Sleep")
    assert (doc["reason"], doc["duration"], doc["pump_event_id"]) == ("Sleep (Scheduled)", 480, "100,201")
    assert doc["identifier"] == identifier(SERIAL, "sleep", 100)
    assert summary.counts["PUMP_EVENTS"].created == 1 and summary.counts["PUMP_EVENTS"].updated == 1
    # re-running the first day alone does not reopen it
    again = sync(source, ns, ("PUMP_EVENTS",), D12, D12)
    assert of_type(ns, "Sleep") == [doc] and again.counts["PUMP_EVENTS"].updated == 0


def test_an_extended_bolus_across_two_chunks(ns):
    events = [ev(64, 10, "2026-08-12T23:00:00", bolusId=5, bolusType=1, carbAmount=50, bg=0, carbRatio=10000),
              ev(65, 11, "2026-08-12T23:00:00", bolusId=5, options=1, standardPercent=50, duration=120),
              ev(66, 12, "2026-08-12T23:00:00", bolusId=5, totalBolusSize=4.0),
              ev(59, 13, "2026-08-12T23:00:05", bolusId=5, bolexSize=2.0),
              ev(20, 14, "2026-08-12T23:00:40", bolusId=5, completionStatus=3, insulinDelivered=2.0),
              basal(15, "2026-08-12T23:30:00", 800),
              ev(21, 20, "2026-08-13T01:00:05", bolusId=5, completionStatus=3, insulinDelivered=2.0),
              basal(21, "2026-08-13T02:00:00", 800)]
    source = EventsSource(events)
    sync(source, ns, ("BOLUS",), D12, D13, chunk_days=1)
    (doc,) = of_type(ns, "Combo Bolus")
    assert (doc["insulin"], doc["carbs"], doc["enteredinsulin"], doc["relative"]) == (2, 50, 4, 1)
    assert doc["notes"] == "Extended Bolus (Extended: 2.00 U now + 2.00 U over 120 min, completed)"
    assert doc["pump_event_id"] == "14,20,10,11,12"
    sync(source, ns, ("BOLUS",), D12, D12)                       # the first day alone again
    assert of_type(ns, "Combo Bolus") == [doc]
    both = sync(source, ns, ("BOLUS",), D12, D13, chunk_days=2)   # one chunk holding both parts
    assert of_type(ns, "Combo Bolus")[0]["duration"] == 120 and both.counts["BOLUS"].created == 0


# ------------------------------------------------------------------------------------ entries

def g7(seq, when, value):
    egv = (dt.datetime.fromisoformat(when) - dt.timedelta(seconds=3)).isoformat()
    return ev(399, seq, when, glucoseValueStatus=0, currentGlucoseDisplayValue=value, egvTimeStamp=tandem_seconds(egv))


def test_entries_skip_readings_nightscout_already_holds_from_any_uploader(ns):
    events = [g7(1, "2026-08-12T08:00:00", 100), g7(2, "2026-08-12T08:05:00", 110), g7(3, "2026-08-12T08:10:00", 120),
              g7(4, "2026-08-12T08:15:00", 130)]
    other = int(timeutil.localize(dt.datetime(2026, 8, 12, 8, 5, 7), NEW_YORK).timestamp() * 1000)
    ns.fake.seed("entries", [{"type": "sgv", "sgv": 111, "date": other, "device": "xDrip"}])
    summary = sync(EventsSource(events), ns, ("CGM",), D12, D12)
    assert summary.counts["CGM"].created == 3 and summary.counts["CGM"].unchanged == 1
    assert sorted(e["sgv"] for e in ns.entries) == [100, 111, 120, 130]
    assert ns.writes() == [("POST", "/api/v1/entries")] * 2          # batches of batch_size
    assert sync(EventsSource(events), ns, ("CGM",), D12, D12).counts["CGM"].created == 0


def test_entries_with_pretend_are_only_planned(ns):
    engine = engine_for(EventsSource([g7(1, "2026-08-12T08:00:00", 100)]), ns, ("CGM",))
    engine.pretend = True
    summary = engine.run(D12, D12)
    assert ns.entries == [] and [(a, f) for a, f, _ in summary.plan] == [("create", "CGM")]


def test_new_entries_matches_by_date_sys_time_or_date_string():
    ours = [{"date": 1_000_000}, {"date": 2_000_000}, {"date": 3_000_000}]
    existing = [{"sysTime": "1970-01-01T00:16:40.000Z"}, {"dateString": "1970-01-01T00:33:20+00:00"}]
    assert new_entries(ours, existing) == [{"date": 3_000_000}]


# ----------------------------------------------------------------------------------- profiles

def settings(basal_mu=800, active=1):
    return {"pumps": [{"serialNumber": SERIAL, "settings": {"details": {"profiles": {"activeIdp": active, "profile": [
        {"name": "Day", "idp": 1, "insulinDuration": 300, "timeDependentSegments": [
            {"startTime": 0, "basalRate": basal_mu, "isf": 50, "carbRatio": 10000, "targetBg": 110}]},
        {"name": "Sport", "idp": 2, "insulinDuration": 240, "timeDependentSegments": [
            {"startTime": 0, "basalRate": 500, "isf": 60, "carbRatio": 15000, "targetBg": 140}]}]}}}}]}


def profile_sync(ns, pump=None, mode=None, now=NOW):
    source = EventsSource([basal(1, "2026-08-12T00:00:00", 800)], settings=pump or settings(), now=now)
    config = {"profile_upload_mode": mode} if mode else {}
    return sync(source, ns, ("PROFILES",), D12, D13, **config)


def someone_elses(ns):
    ns.fake.seed("profile", [{"_id": "b" * 24, "defaultProfile": "Loop", "startDate": "2026-01-01T00:00:00.000Z",
                              "enteredBy": "Loop", "store": {"Loop": {"dia": 6, "basal": []}}}])


def test_profile_added_once_per_run_and_not_again_when_unchanged(ns):
    summary = profile_sync(ns)                                      # two chunks, one upload
    assert summary.counts["PROFILES"].created == 1 and len(ns.profiles) == 1
    doc = ns.profiles[0]
    assert doc["defaultProfile"] == "Day" and doc["enteredBy"] == ENTERED_BY and sorted(doc["store"]) == ["Day", "Sport"]
    assert doc["startDate"] == doc["created_at"] == "2026-08-15T00:00:00.000Z"
    assert profile_sync(ns).counts["PROFILES"].unchanged == 1 and len(ns.profiles) == 1
    changed = profile_sync(ns, settings(basal_mu=900), now=NOW + dt.timedelta(hours=1))
    assert changed.counts["PROFILES"].created == 1 and len(ns.profiles) == 2
    assert ns.profiles[1]["store"]["Day"]["basal"][0]["value"] == 0.9


def test_add_mode_keeps_other_profiles_and_does_not_fight_a_newer_one(ns):
    someone_elses(ns)
    profile_sync(ns)
    assert ns.profiles[0]["enteredBy"] == "Loop" and ns.profiles[0]["store"] == {"Loop": {"dia": 6, "basal": []}}
    assert sorted(ns.profiles[1]["store"]) == ["Day", "Loop", "Sport"]
    # another uploader posts a newer profile: the pump did not change, so we write nothing
    ns.fake.seed("profile", [dict(ns.profiles[0], _id="c" * 24, startDate="2026-09-01T00:00:00.000Z")])
    assert profile_sync(ns).counts["PROFILES"].unchanged == 1 and len(ns.profiles) == 3


def test_replace_mode_never_overwrites_a_profile_tconnectsync_did_not_create(ns):
    someone_elses(ns)
    profile_sync(ns, mode="replace")
    assert len(ns.profiles) == 2 and ns.profiles[0]["enteredBy"] == "Loop"       # added, not replaced
    ours = ns.profiles[1]["_id"]
    summary = profile_sync(ns, settings(basal_mu=900), mode="replace")
    assert len(ns.profiles) == 2 and summary.counts["PROFILES"].updated == 1     # ours: replaced in place
    assert ns.profiles[1]["store"]["Day"]["basal"][0]["value"] == 0.9 and ns.profiles[1]["_id"] == ours


def test_overwrite_mode_replaces_whatever_is_current(ns):
    someone_elses(ns)
    summary = profile_sync(ns, mode="overwrite")
    assert len(ns.profiles) == 1 and summary.counts["PROFILES"].updated == 1
    assert ns.profiles[0]["_id"] == "b" * 24 and sorted(ns.profiles[0]["store"]) == ["Day", "Loop", "Sport"]


def test_unknown_profile_mode_is_a_config_error(ns):
    with pytest.raises(ConfigError, match="NIGHTSCOUT_PROFILE_UPLOAD_MODE"):
        profile_sync(ns, mode="sometimes")
    assert ns.profiles == []
