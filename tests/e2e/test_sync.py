"""The real CLI, as a subprocess, against the sandbox Tandem hosts and a fake Nightscout."""
import collections
import dataclasses
import datetime as dt
import hashlib

import pytest

from tconnectsync import timeutil
from tconnectsync.parser.records import Bolus
from tconnectsync.sync import bolus as bolus_map
from tconnectsync.sync.documents import identifier

from .conftest import NS_SECRET, PASSWORD, UTC


def stored(env, event_type=None):
    docs = env.ns.treatments()
    return [d for d in docs if event_type is None or d.get("eventType") == event_type]


def instant(doc):
    return timeutil.parse_iso_utc(doc["created_at"])


def writes(env):
    return [m for m, _ in env.ns.request_log if m in ("POST", "PUT", "DELETE")]


def expected_boluses(env, start, end):
    tz = timeutil.get_zone(env.tz_name)
    # The sandbox's own records, as the product's (records.Bolus has the same fields, and more).
    truth = [Bolus(**dataclasses.asdict(b)) for b in env.scenario.truth_boluses(start, end)]
    docs = bolus_map.documents(truth, env.scenario.serial, tz)
    return {d["identifier"]: d for d in docs}


def assert_boluses_match_truth(env, start, end):
    want = expected_boluses(env, start, end)
    have = {d["identifier"]: d for d in stored(env, "Combo Bolus")}
    assert set(have) == set(want)
    for ident, doc in want.items():
        got = have[ident]
        assert instant(got) == timeutil.parse_iso_utc(doc["created_at"]), ident
        assert got["insulin"] == pytest.approx(doc["insulin"])
        assert got.get("carbs") == (doc["carbs"] or None)
    return want


def assert_basal_matches_truth(env, start, end):
    docs = sorted(stored(env, "Temp Basal"), key=instant)
    by_start = {instant(d): d for d in docs}
    assert len(by_start) == len(docs), "two basal documents start at the same instant"
    truth = env.scenario.truth_basal(start, end)
    for seg in truth.segments:
        doc = by_start.get(seg.start)
        assert doc is not None, "no basal document at %s" % seg.start
        assert doc["absolute"] == pytest.approx(seg.rate)
    for a, b in zip(docs, docs[1:]):
        assert instant(a) + dt.timedelta(minutes=a["duration"]) <= instant(b) + dt.timedelta(seconds=1), \
            "basal documents overlap at %s" % a["created_at"]
    for s in truth.suspensions:
        if s.reason == "control-iq":
            continue
        doc = by_start.get(s.start)
        assert doc is not None and doc["absolute"] == 0, "suspension at %s missing" % s.start
    return docs


def test_full_sync_then_second_run_is_a_no_op(make_env):
    start, end = dt.date(2021, 10, 18), dt.date(2021, 10, 21)
    env = make_env(start, end)
    first = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS", "IOB",
                    "PUMP_EVENTS")
    assert first.returncode == 0, first.output
    boluses = assert_boluses_match_truth(env, start, end)
    assert len(boluses) >= 30
    basal_docs = assert_basal_matches_truth(env, start, end)
    assert len(basal_docs) > 500
    assert all(d["enteredBy"] == "Pump (tconnectsync)" and d.get("identifier") for d in stored(env))
    # pump events: every ws2 row of a known kind is there, none hidden by another
    events = env.scenario.truth_pump_events(start, end)
    want_events = [e for e in events if e.reason in ("site-cart", "alarm", "manual", "temp-profile")]
    got_events = stored(env, "Site Change") + stored(env, "Basal Suspension")
    assert sorted(instant(d) for d in got_events) == sorted(e.time for e in want_events)
    sleeps = stored(env, "Sleep")
    assert len(sleeps) == len([a for a in env.scenario.truth_activities(start, end) if a.kind == "Sleep"])
    # IOB: one activity document, the newest value
    [iob] = env.ns.activity()
    newest = max(env.scenario.truth_iob(start, end), key=lambda v: v.time)
    assert iob["iob"] == pytest.approx(newest.iob) and timeutil.parse_iso_utc(iob["created_at"]) == newest.time
    count = len(stored(env))

    before = len(writes(env))
    second = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS", "IOB",
                     "PUMP_EVENTS")
    assert second.returncode == 0, second.output
    assert len(writes(env)) == before, "the second run wrote to Nightscout"
    assert "0 created, 0 updated" in second.stdout
    assert len(stored(env)) == count


def test_hole_in_the_middle_is_filled(make_env):
    start, end = dt.date(2022, 2, 1), dt.date(2022, 2, 4)
    env = make_env(start, end)
    assert env.run("--start-date", str(start), "--end-date", str(end)).returncode == 0
    full = {d["identifier"]: d for d in stored(env)}
    # a user deletes a day in the middle, as a restored backup or a manual clean-up would
    hole = [d for d in stored(env) if d["created_at"].startswith("2022-02-02T1")]
    assert len(hole) > 20
    from tconnectsync.nightscout import NightscoutClient
    client = NightscoutClient(env.ns.url, NS_SECRET)
    for d in hole:
        client.delete_treatment(d["_id"])
    again = env.run("--start-date", str(start), "--end-date", str(end))
    assert again.returncode == 0, again.output
    now = {d["identifier"]: d for d in stored(env)}
    assert set(now) == set(full)
    assert "%d created" % len([d for d in hole if d["eventType"] == "Temp Basal"]) in again.stdout


def test_growing_records_are_updated_in_place(make_env):
    start, end = dt.date(2021, 10, 20), dt.date(2021, 10, 21)
    tz = timeutil.get_zone("America/New_York")
    cutoffs = [timeutil.localize(dt.datetime(2021, 10, 21, h, 7), tz) for h in (9, 13, 18, 23)]
    env = make_env(start, end, cutoff=cutoffs[0])
    for cutoff in cutoffs:
        env.scenario.set_cutoff(cutoff)
        result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS",
                         "PUMP_EVENTS")
        assert result.returncode == 0, result.output
        idents = [d["identifier"] for d in stored(env)]
        assert len(idents) == len(set(idents)), "a record was duplicated"
    # What the incremental runs left equals what one run from scratch writes.
    fresh = make_env(start, end, cutoff=cutoffs[-1])
    assert fresh.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS",
                     "PUMP_EVENTS").returncode == 0

    def view(e):
        return sorted((d["identifier"], d["created_at"], d.get("duration"), d.get("insulin"), d.get("notes"),
                       d.get("enteredinsulin")) for d in stored(e))
    assert view(env) == view(fresh)
    assert_boluses_match_truth(env, start, end)


def test_extended_bolus_completes_in_place(make_env):
    env = make_env(dt.date(2021, 10, 14), dt.date(2021, 10, 24))
    ext = [b for b in env.scenario.truth_boluses() if b.extended]
    assert ext, "the scenario should have an extended bolus every few days"
    b = ext[0]
    start = end = b.request_time.astimezone(timeutil.get_zone("America/New_York")).date()
    env.scenario.set_cutoff(b.extended_start + dt.timedelta(minutes=10))
    assert env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS").returncode == 0
    ident = identifier(env.scenario.serial, "bolus", b.request_id)
    [running] = [d for d in stored(env) if d["identifier"] == ident]
    assert "in progress" in running["notes"]
    env.scenario.set_cutoff(b.extended_start + dt.timedelta(hours=5))
    assert env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS").returncode == 0
    [done] = [d for d in stored(env) if d["identifier"] == ident]
    assert "in progress" not in done["notes"] and done["enteredinsulin"] == pytest.approx(b.total_requested)


@pytest.mark.slow
def test_backfill_with_a_failing_day_reports_it_and_goes_on(make_env):
    start, end = dt.date(2021, 6, 1), dt.date(2021, 6, 8)
    env = make_env(start, end)
    bad = "06-04-2021"

    def fail(host, method, path, query):
        return 500 if host == "services" and "therapyevents" in path and bad in path else None
    env.tandem.fail_when(fail)
    result = env.run("--start-date", str(start), "--end-date", str(end), extra={"TCONNECTSYNC_HTTP_TIMEOUT": "5"})
    assert result.returncode == 1, result.output
    assert "FAILED 2021-06-04..2021-06-04" in result.stdout
    assert "--start-date 2021-06-04 --end-date 2021-06-04" in result.stdout
    have = {d["identifier"] for d in stored(env, "Combo Bolus")}
    want = expected_boluses(env, start, end)
    missing = {i for i in want if i not in have}
    missing_days = {timeutil.parse_iso_utc(want[i]["created_at"]).astimezone(timeutil.get_zone("America/New_York")).date()
                    for i in missing}
    assert missing_days == {dt.date(2021, 6, 4)}       # only the failing day; the days after it synced
    env.tandem.clear_faults()
    rerun = env.run("--start-date", "2021-06-04", "--end-date", "2021-06-04")
    assert rerun.returncode == 0
    assert {d["identifier"] for d in stored(env, "Combo Bolus")} == set(want)


def test_pretend_writes_nothing(make_env):
    start, end = dt.date(2021, 10, 20), dt.date(2021, 10, 21)
    env = make_env(start, end)
    result = env.run("--start-date", str(start), "--end-date", str(end), "--pretend", "-v")
    assert result.returncode == 0, result.output
    assert writes(env) == []
    assert stored(env) == []
    assert "to create" in result.stdout and "create BOLUS" in result.stdout


def test_pre_control_iq_window_takes_basal_from_csv(make_env):
    start, end = dt.date(2020, 1, 14), dt.date(2020, 1, 15)
    env = make_env(start, end, control_iq_since=dt.date(2020, 1, 21))
    result = env.run("--start-date", str(start), "--end-date", str(end))
    assert result.returncode == 0, result.output
    docs = stored(env, "Temp Basal")
    assert docs and {d["reason"] for d in docs} <= {"Unknown", "manual suspension"} | {d["reason"] for d in docs if "suspension" in d["reason"]}
    assert_boluses_match_truth(env, start, end)


@pytest.mark.parametrize("tz_name,start,end", [
    ("America/New_York", dt.date(2021, 11, 6), dt.date(2021, 11, 8)),     # fall back
    ("America/New_York", dt.date(2021, 3, 13), dt.date(2021, 3, 15)),     # spring forward
    ("America/Los_Angeles", dt.date(2022, 11, 5), dt.date(2022, 11, 7)),
    ("Europe/Berlin", dt.date(2021, 10, 30), dt.date(2021, 11, 1)),
    ("Australia/Sydney", dt.date(2022, 4, 2), dt.date(2022, 4, 4)),
])
def test_dst_transitions_put_every_bolus_at_the_right_instant(make_env, tz_name, start, end):
    env = make_env(start, end, tz_name=tz_name, boluses_per_day=24)
    result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS", "BASAL")
    assert result.returncode == 0, result.output
    assert_boluses_match_truth(env, start, end)
    if tz_name.startswith("America/"):
        assert_basal_matches_truth(env, start, end)


def test_old_nightscout_second_run_is_a_no_op(make_env):
    start, end = dt.date(2021, 10, 20), dt.date(2021, 10, 21)
    env = make_env(start, end, flavor="0.12.8")
    assert env.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS", "IOB",
                   "PUMP_EVENTS").returncode == 0
    n = len(stored(env))
    before = len(writes(env))
    again = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS", "IOB",
                    "PUMP_EVENTS")
    assert again.returncode == 0 and len(writes(env)) == before and len(stored(env)) == n


def test_secrets_never_appear_even_verbose(make_env):
    start, end = dt.date(2021, 10, 20), dt.date(2021, 10, 20)
    env = make_env(start, end)
    env.tandem.fail_next("services", 1, status=500)
    result = env.run("--start-date", str(start), "--end-date", str(end), "-v")
    assert result.returncode == 0, result.output
    secrets = [PASSWORD, NS_SECRET, hashlib.sha1(NS_SECRET.encode()).hexdigest()]
    secrets += [t for t in env.tandem._tokens]
    for s in secrets:
        assert s not in result.output
    for _, path in env.ns.request_log:
        assert NS_SECRET not in path and hashlib.sha1(NS_SECRET.encode()).hexdigest() not in path
