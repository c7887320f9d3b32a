"""The synthetic pump history: realistic, deterministic, cut correctly, growing with the cutoff."""
import collections
import datetime as dt

import pytest
import pytz

from tconnectsync import timeutil
from tconnectsync.sandbox.scenario import make_scenario

UTC = dt.timezone.utc
NY = pytz.timezone("America/New_York")


@pytest.fixture(scope="module")
def month():
    return make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 30), seed=1)


def local_date(instant, tz=NY):
    return instant.astimezone(tz).date()


def test_same_seed_same_history_other_seed_other_history():
    a = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 5), seed=3)
    b = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 5), seed=3)
    c = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 5), seed=4)
    for name in ("truth_boluses", "truth_basal", "truth_iob", "truth_activities", "truth_site_changes",
                 "truth_suspensions", "truth_readings", "truth_pump_events"):
        assert getattr(a, name)() == getattr(b, name)(), name
    assert a.max_event_index() == b.max_event_index()
    assert a.truth_boluses() != c.truth_boluses()
    assert a.truth_basal() != c.truth_basal()


def test_boluses_are_realistic_and_ids_increase(month):
    boluses = month.truth_boluses()
    per_day = len(boluses) / 30.0
    assert 7 <= per_day <= 13
    ids = [int(b.request_id) for b in boluses]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    kinds = collections.Counter(b.description for b in boluses)
    assert kinds["Standard"] and kinds["Standard/Correction"] and kinds["Automatic Bolus/Correction"]
    statuses = collections.Counter(b.status for b in boluses)
    assert statuses["User Aborted"] and statuses["Terminated by Alarm"]
    for b in boluses:
        assert b.request_time <= b.completion_time
        if b.status == "User Aborted":
            assert b.delivered == 0 and not b.complete
        if b.status == "Terminated by Alarm":
            assert 0 < b.delivered < b.total_requested and not b.complete
        if b.automatic:
            assert b.carbs == 0 and b.bg is not None
    extended = [b for b in boluses if b.extended]
    assert 5 <= len(extended) <= 15          # every few days
    for b in extended:
        assert b.description == "Extended 50.00%/0.00" and b.standard_percent == 50
        assert 60 <= b.duration_min <= 120
        assert b.extended_end - b.extended_start == dt.timedelta(minutes=b.duration_min)
        assert b.delivered + b.extended_delivered == pytest.approx(b.total_requested)
    typed = [r for r in month.truth_readings() if r.kind == "BG"]
    assert typed, "a fingerstick now and then"


def test_basal_is_cut_at_midnight_without_overlaps_and_mostly_algorithm(month):
    basal = month.truth_basal()
    segs = basal.segments
    for s in segs:
        end = s.start + dt.timedelta(seconds=s.duration_s)
        assert local_date(s.start) == local_date(end - dt.timedelta(seconds=1)), s
        assert s.duration_s > 0
        if s.kind == "algorithm":
            assert s.duration_s <= 300 or s.rate == 0
    # no overlaps; a gap only where a (non Control-IQ) suspension is running
    stops = [(x.start, x.end) for x in basal.suspensions if x.reason != "control-iq"]
    for a, b in zip(segs, segs[1:]):
        a_end = a.start + dt.timedelta(seconds=a.duration_s)
        assert a_end <= b.start
        if a_end < b.start:
            assert any(s == a_end and e == b.start for s, e in stops), (a, b)
    total = sum(s.duration_s for s in segs)
    algorithm = sum(s.duration_s for s in segs if s.kind == "algorithm")
    assert algorithm / total > 0.75          # "an algorithm basal every 5 minutes most of the time"
    temps = [s for s in segs if s.kind == "temp"]
    assert any(s.rate == 0 for s in temps) and any(s.rate > 0 for s in temps)
    # every Control-IQ suspension is a 0 u/h algorithm segment starting at the same instant
    zero_starts = {s.start for s in segs if s.kind == "algorithm" and s.rate == 0}
    ciq = [x for x in basal.suspensions if x.reason == "control-iq"]
    assert ciq and all(x.start in zero_starts for x in ciq)


def test_suspensions_site_changes_and_activities(month):
    susp = month.truth_suspensions()
    manual = [s for s in susp if s.reason == "manual"]
    assert len(manual) >= 4
    assert any(local_date(s.start) != local_date(s.end) for s in manual), "one crosses midnight"
    changes = month.truth_site_changes()
    assert 8 <= len(changes) <= 12           # every ~3 days
    for c in changes:
        assert c.suspended_at < c.tubing_filled < c.cannula_filled < c.resumed_at
    assert any(c.empty_cartridge_alarm for c in changes)
    activities = month.truth_activities()
    sleeps = [a for a in activities if a.kind == "Sleep"]
    assert len(sleeps) >= 28                  # each night
    assert all(5 * 3600 < a.duration_s < 10 * 3600 for a in sleeps)
    assert any(local_date(a.start) != local_date(a.start + dt.timedelta(seconds=a.duration_s)) for a in sleeps)
    assert 3 <= sum(a.kind == "Exercise" for a in activities) <= 25
    events = collections.Counter(e.reason for e in month.truth_pump_events())
    assert events["site-cart"] == 2 * len(changes) and events["manual"] == len(manual)
    assert events["temp-profile"] == sum(1 for s in month.truth_basal().segments
                                         if s.kind == "temp" and s.rate == 0 and
                                         s.start.astimezone(NY).time() != dt.time(0))


def test_iob_rows_every_five_minutes_and_after_boluses():
    sc = make_scenario(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    w = sc.window(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    regular = [t for t, eid, _ in w.iob if eid == 81]
    assert len(regular) == 576 and all(b - a == 300 for a, b in zip(regular, regular[1:]))
    after = [t for t, eid, _ in w.iob if eid == 9]
    delivered = [b for b in w.boluses if b.delivered > 0]
    assert sorted(after) == sorted(b.completion + 2 for b in delivered)
    values = dict((t, v) for t, _, v in w.iob)
    assert all(v >= 0 for v in values.values()) and max(values.values()) > 1
    assert [v.iob for v in sc.truth_iob()] == [v for _, _, v in w.iob]


def test_pre_control_iq_days():
    sc = make_scenario(dt.date(2020, 1, 15), dt.date(2020, 1, 24), control_iq_since=dt.date(2020, 1, 21))
    assert not sc.has_ciq_data(dt.date(2020, 1, 15), dt.date(2020, 1, 20))
    assert sc.has_ciq_data(dt.date(2020, 1, 20), dt.date(2020, 1, 21))
    for s in sc.truth_basal().segments:
        if local_date(s.start) < dt.date(2020, 1, 21):
            assert s.kind in ("profile", "temp")
    for b in sc.truth_boluses():
        if local_date(b.request_time) < dt.date(2020, 1, 21):
            assert not b.automatic
    assert all(local_date(a.start) >= dt.date(2020, 1, 21) for a in sc.truth_activities())
    w = sc.window(dt.date(2020, 1, 20), dt.date(2020, 1, 21))
    assert w.ciq_days == [dt.date(2020, 1, 21)]
    assert w.csv_basal and all(sc.wall(t)[0].date() == dt.date(2020, 1, 20) for t, _ in w.csv_basal)
    assert {sc.wall(s)[0].date() for s, _, _, _ in w.segments} == {dt.date(2020, 1, 21)}
    assert sc.wall(w.csv_basal[0][0])[0] == dt.datetime(2020, 1, 20)     # the state at the window start
    never = make_scenario(dt.date(2021, 1, 1), dt.date(2021, 1, 2), control_iq_since=None)
    assert not never.has_ciq_data(dt.date(2021, 1, 1), dt.date(2021, 1, 2))


def test_moving_the_cutoff_grows_the_records():
    sc = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 30))
    ext = [b for b in sc.truth_boluses() if b.extended][0]
    sc.set_cutoff(ext.extended_start + dt.timedelta(minutes=10))
    running = [b for b in sc.truth_boluses() if b.request_id == ext.request_id][0]
    assert running.extended_end is None and running.extended_delivered is None
    assert running.extended_complete is False and running.delivered == ext.delivered
    assert sc.truth_boluses()[-1].request_id == ext.request_id
    before = sc.max_event_index()
    sc.set_cutoff(ext.extended_end + dt.timedelta(minutes=1))
    done = [b for b in sc.truth_boluses() if b.request_id == ext.request_id][0]
    assert done == ext
    assert sc.max_event_index() > before

    # the running segment reports its duration so far
    profile = [s for s in sc.truth_basal().segments if s.kind == "profile" and s.duration_s >= 900][3]
    sc.set_cutoff(profile.start + dt.timedelta(seconds=120))
    last = sc.truth_basal().segments[-1]
    assert (last.start, last.duration_s) == (profile.start, 120)
    sc.set_cutoff(profile.start + dt.timedelta(seconds=720))
    assert sc.truth_basal().segments[-1].duration_s == 720
    # a suspension running at the cutoff has no end and no segment after it
    sc.set_cutoff(None)
    manual = [s for s in sc.truth_suspensions() if s.reason == "manual"][0]
    sc.set_cutoff(manual.start + dt.timedelta(minutes=5))
    assert sc.truth_suspensions()[-1] == type(manual)(manual.start, None, "manual")
    seg = sc.truth_basal().segments[-1]
    assert seg.start + dt.timedelta(seconds=seg.duration_s) == manual.start
    # nothing after the cutoff exists
    assert all(r.time <= sc.cutoff for r in sc.truth_readings())
    assert all(b.completion_time <= sc.cutoff for b in sc.truth_boluses())


def test_event_index_is_monotonic():
    sc = make_scenario(dt.date(2021, 10, 1), dt.date(2021, 10, 3))
    start = dt.datetime(2021, 10, 1, 4, tzinfo=UTC)
    seen = []
    for minutes in range(0, 3 * 24 * 60, 47):
        sc.set_cutoff(start + dt.timedelta(minutes=minutes))
        seen.append(sc.max_event_index())
    assert seen == sorted(seen) and seen[-1] - seen[0] > 1000
    indexes = [b.index_id for b in sc._period(3).boluses]
    assert indexes == sorted(indexes)


@pytest.mark.parametrize("tz_name,day,hours,repeated", [
    ("America/New_York", dt.date(2021, 11, 7), 25, "01:"),
    ("Europe/Berlin", dt.date(2021, 10, 31), 25, "02:"),
    ("America/New_York", dt.date(2021, 3, 14), 23, None),
])
def test_dst_days_follow_the_pump_clock(tz_name, day, hours, repeated):
    sc = make_scenario(day - dt.timedelta(days=1), day + dt.timedelta(days=1), tz_name=tz_name)
    tz = pytz.timezone(tz_name)
    w = sc.window(day, day)
    egv = [t for t, kind, _ in w.readings if kind == "EGV"]
    assert len(egv) == hours * 12
    walls = [sc.wall_str(t) for t in egv]
    # basal segments and delivery suspensions tile the whole (23 or 25 hour) day
    basal = sc.truth_basal(day - dt.timedelta(days=1), day + dt.timedelta(days=1))
    lo, hi = (dt.datetime.fromtimestamp(t, UTC) for t in sc.day_bounds(day))
    covered = sum(s.duration_s for s in basal.segments if lo <= s.start < hi)
    stopped = sum((min(x.end, hi) - max(x.start, lo)).total_seconds() for x in basal.suspensions
                  if x.reason != "control-iq" and x.start < hi and x.end > lo)
    assert covered + stopped == hours * 3600
    if repeated:
        hour = [(t, wl) for t, wl in zip(egv, walls) if wl[11:14] == repeated]
        assert len(hour) == 24                       # the repeated hour is there twice
        first, second = hour[0], hour[12]
        assert first[1] == second[1] and second[0] - first[0] == 3600
        assert sc.wall(second[0])[1] and not sc.wall(first[0])[1]
        assert timeutil.localize(dt.datetime.fromisoformat(second[1]), tz, second=True) == \
            dt.datetime.fromtimestamp(second[0], UTC)
    else:
        assert not any(wl[11:14] == "02:" for wl in walls)   # the spring-forward gap
