"""Chunk boundaries are invisible: a window synced in chunks of any size leaves Nightscout exactly
as one whole-window sync does, a second run writes nothing, and a later sync that overlaps the
end of an earlier one corrects what was provisional there (a running basal, a mode, an extended
bolus). Property-based over sandbox scenarios, both Tandem backends, real HTTP on 127.0.0.1."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from tconnectsync import timeutil
from tconnectsync.config import Config
from tconnectsync.runtime import build_clients, close_clients
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import TandemSourceSandbox
from tconnectsync.sandbox.tconnect import TandemLegacySandbox
from tconnectsync.sync.engine import sync_once

EMAIL, PASSWORD, SECRET = "chunks@example.com", "chunk-password", "chunks-nightscout-secret"
TZ_NAME = "America/New_York"
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 14)     # the scenario; windows lie inside
SEEDS = (1, 2, 3)
FEATURES = {"source": ("BASAL", "BOLUS", "PUMP_EVENTS", "CGM_ALERTS", "CGM", "IOB"),
            "legacy": ("BASAL", "BOLUS", "PUMP_EVENTS", "IOB")}
# The most days one request may span: t:connect's ws2 serves two days at most, so there a "whole
# window" is at most two days long and longer windows compare chunkings with each other.
MAX_CHUNK = {"source": 28, "legacy": 2}
TZ = timeutil.get_zone(TZ_NAME)
END_OF_SCENARIO = timeutil.day_bounds_utc(LAST, TZ)[1]


class World:
    """One sandbox per (backend, seed), started once; one fake Nightscout, cleared per sync."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.sandboxes = {}
        self.ns = FakeNightscout(api_secret=SECRET, flavor="15.0.7").start()

    def sandbox(self, api, seed, silences=()):
        if (api, seed, silences) not in self.sandboxes:
            scenario = make_scenario(FIRST, LAST, tz_name=TZ_NAME, seed=seed, cutoff=END_OF_SCENARIO,
                                     silences=silences)
            cls = TandemSourceSandbox if api == "source" else TandemLegacySandbox
            self.sandboxes[api, seed, silences] = cls(scenario, email=EMAIL, password=PASSWORD).start()
        return self.sandboxes[api, seed, silences]

    def config(self, api, seed, chunk_days, silences=()):
        sb = self.sandbox(api, seed, silences)
        values = dict(email=EMAIL, password=PASSWORD, pump_serial=sb_serial(sb), ns_url=self.ns.url, ns_secret=SECRET,
                      timezone_name=TZ_NAME, api=api, services_url=sb.services_url, http_timeout=10.0,
                      chunk_days=chunk_days)
        if api == "source":
            values.update(region=sb.region, sso_url=sb.sso_url, source_url=sb.source_url,
                          token_file=str(self.tmp_path / ("tokens-%d.json" % seed)))
        else:
            values.update(web_url=sb.web_url, ws2_url=sb.ws2_url)
        return Config(**values)

    def sync(self, api, seed, window, chunk_days, clear=True, silences=()):
        """Sync ``window`` in chunks of ``chunk_days``; returns (summary, Nightscout's state)."""
        if clear:
            self.ns.clear()
        config = self.config(api, seed, chunk_days, silences)
        clients = build_clients(config)
        clients.source.chunk_days = chunk_days          # the backend's own default otherwise
        try:
            summary = sync_once(config, clients, window, FEATURES[api])
        finally:
            close_clients(clients)
        assert summary.ok, summary.failures
        return summary, state(self.ns)

    def writes(self):
        return sum(1 for method, _ in self.ns.request_log if method in ("POST", "PUT", "DELETE"))

    def close(self):
        for sb in self.sandboxes.values():
            sb.stop()
        self.ns.stop()


def sb_serial(sb):
    pumps = getattr(sb, "pumps", None)
    return pumps[0].scenario.serial if pumps else sb.scenario.serial


def state(ns):
    """What Nightscout holds, without what the server adds (ids)."""
    def clean(docs):
        return sorted((tuple(sorted((k, repr(v)) for k, v in d.items() if k not in ("_id", "srvModified",
                                                                                   "srvCreated")))
                       for d in docs))
    return {"treatments": clean(ns.treatments()), "entries": clean(ns.entries()), "activity": clean(ns.activity())}


def counts(summary):
    return {f: {k: v for k, v in c.items() if k != "skip_reasons"} | {"reasons": c["skip_reasons"]}
            for f, c in summary.totals().items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("chunks"))
    yield w
    w.close()


windows = st.tuples(st.integers(0, 9), st.integers(1, 5)).map(
    lambda t: (FIRST + dt.timedelta(days=t[0]), min(LAST, FIRST + dt.timedelta(days=t[0] + t[1] - 1))))
PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@pytest.mark.slow
@pytest.mark.parametrize("api", ["source", "legacy"])
@PROPERTY
@given(seed=st.sampled_from(SEEDS), window=windows, chunk_days=st.integers(1, 3))
def test_chunks_change_nothing(world, api, seed, window, chunk_days):
    whole_days = min((window[1] - window[0]).days + 1, MAX_CHUNK[api])
    chunk_days = min(chunk_days, MAX_CHUNK[api])
    whole_summary, whole = world.sync(api, seed, window, whole_days)
    chunked_summary, chunked = world.sync(api, seed, window, chunk_days)
    assert chunked == whole
    # Every record is counted once, in the chunk that decides it: the summaries agree too.
    assert counts(chunked_summary) == counts(whole_summary)
    writes = world.writes()
    again, after = world.sync(api, seed, window, chunk_days, clear=False)
    assert after == chunked
    assert world.writes() == writes, "a second run wrote"
    assert all(c["created"] == c["updated"] == c["deleted"] == 0 for c in again.totals().values())


@pytest.mark.parametrize("api", ["source", "legacy"])
@PROPERTY
@given(seed=st.sampled_from(SEEDS), first_day=st.integers(1, 8), span=st.integers(0, 2),
       hour=st.integers(0, 23), later_h=st.integers(1, 30), chunk_days=st.integers(1, 3))
@example(seed=3, first_day=6, span=2, hour=18, later_h=30, chunk_days=2)
@pytest.mark.slow
def test_an_overlapping_later_sync_corrects_what_was_provisional(world, api, seed, first_day, span, hour, later_h,
                                                                 chunk_days):
    """A sync while the pump is mid-day (records still running at the data's end), then a later
    one overlapping its last two days, leave what one sync at the later time leaves."""
    chunk_days = min(chunk_days, MAX_CHUNK[api])
    scenario = world.sandbox(api, seed)
    scenario = scenario.pumps[0].scenario if hasattr(scenario, "pumps") else scenario.scenario
    start = FIRST + dt.timedelta(days=first_day)
    t1 = timeutil.day_bounds_utc(start + dt.timedelta(days=span), TZ)[0] + dt.timedelta(hours=hour, minutes=7)
    t2 = min(t1 + dt.timedelta(hours=later_h), END_OF_SCENARIO)
    day1, day2 = t1.astimezone(TZ).date(), (t2 - dt.timedelta(seconds=1)).astimezone(TZ).date()
    try:
        scenario.set_cutoff(t1)
        world.sync(api, seed, (start, day1), chunk_days)
        scenario.set_cutoff(t2)
        _, later = world.sync(api, seed, (max(start, day1 - dt.timedelta(days=1)), day2), chunk_days, clear=False)
        _, fresh = world.sync(api, seed, (start, day2), min((day2 - start).days + 1, MAX_CHUNK[api]))
    finally:
        scenario.set_cutoff(END_OF_SCENARIO)
    assert later["treatments"] == fresh["treatments"]
    assert later["entries"] == fresh["entries"]
    assert later["activity"] == fresh["activity"]


@pytest.mark.slow
@PROPERTY
@given(seed=st.sampled_from(SEEDS), first_day=st.integers(0, 8), hour=st.integers(0, 23), hours=st.integers(26, 60),
       before=st.integers(1, 2), span=st.integers(3, 5), chunk_days=st.integers(1, 3))
@example(seed=1, first_day=4, hour=0, hours=45, before=2, span=3, chunk_days=1)   # IOB in a silence
def test_records_open_for_more_than_a_day_end_as_in_one_piece(world, seed, first_day, hour, hours, before, span,
                                                               chunk_days):
    """The pump logs nothing for more than a day (a silence): the basal running when it starts, a
    Sleep or an extended bolus started before it, stay open across it. Synced in chunks of any
    size, they end where a one-piece sync ends them (Tandem Source: the margin alone does not
    reach their end; the backend reads further ahead). The window starts a day or two before
    the silence, so that such records start inside it (README, "Architecture", names the one
    count that differs otherwise)."""
    quiet = timeutil.day_bounds_utc(FIRST + dt.timedelta(days=first_day), TZ)[0] + dt.timedelta(hours=hour)
    silences = ((quiet, quiet + dt.timedelta(hours=hours)),)
    start = quiet.astimezone(TZ).date() - dt.timedelta(days=before)
    window = (start, min(LAST, start + dt.timedelta(days=span)))
    whole_days = (window[1] - window[0]).days + 1
    whole_summary, whole = world.sync("source", seed, window, whole_days, silences=silences)
    chunked_summary, chunked = world.sync("source", seed, window, chunk_days, silences=silences)
    assert chunked == whole
    assert counts(chunked_summary) == counts(whole_summary)
