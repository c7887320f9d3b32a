import pytest
"""Hundreds of --auto-update cycles in seconds, with the clock and the faults in our hands."""
import datetime as dt

from .conftest import view

D = dt.datetime


def count(log, host=None, contains=""):
    return len([1 for h, m, p in log if (host is None or h == host) and contains in p])


@pytest.mark.slow
def test_rolling_window_over_midnight_and_the_fall_back_change(make_loop):
    loop = make_loop(D(2021, 11, 6, 21, 0), interval_s=900)
    loop.run(50)                           # 12.5 hours: past midnight and past 02:00 EDT -> 01:00 EST
    assert loop.clock.now().astimezone(loop.tz).date() == dt.date(2021, 11, 7)
    assert loop.loop.status["counts"]["failures"] == 0
    # what the loop left in Nightscout equals one clean run over the days it covered
    assert view(loop.ns.treatments()) == loop.fresh_view(dt.date(2021, 11, 5), dt.date(2021, 11, 7))
    last_sync_days = {d for d in (dt.date(2021, 11, 6), dt.date(2021, 11, 7))}
    assert any(d["created_at"].startswith("2021-11-07T1") for d in loop.ns.treatments())
    assert last_sync_days


@pytest.mark.slow
def test_spring_forward_and_many_days_of_uptime(make_loop):
    loop = make_loop(D(2021, 3, 13, 12, 0), days_after=4, interval_s=3600)
    loop.run(4 * 24)                       # four days at hourly polls
    assert loop.clock.now().astimezone(loop.tz).date() == dt.date(2021, 3, 17)
    assert view(loop.ns.treatments()) == loop.fresh_view(dt.date(2021, 3, 12), dt.date(2021, 3, 17))


def test_unchanged_marker_sends_only_the_poll(make_loop):
    loop = make_loop(D(2022, 5, 10, 9, 0))
    loop.run(1)
    loop.follow = False                    # the phone stops uploading
    tandem_before = len(loop.tandem.request_log)
    ns_before = len(loop.ns.request_log)
    loop.run(30)
    new = loop.tandem.request_log[tandem_before:]
    assert len(new) == 30 and all("getlasteventuploaded" in p for _, _, p in new)
    assert len(loop.ns.request_log) == ns_before


def test_marker_moves_before_the_data_bounded_retries(make_loop):
    loop = make_loop(D(2022, 5, 10, 9, 0), no_new_data_retries=3)
    loop.run(1)
    loop.follow = False
    index = {"n": loop.scenario.max_event_index()}

    def newer_index(host, method, path, query):
        if "getlasteventuploaded" in path:
            index["n"] += 0 if index.get("hold") else 5
            index["hold"] = True
            return 200, {"Content-Type": "application/json"}, '{"maxPumpEventIndex":%d,"processingStatus":1}' % index["n"]
        return None
    loop.tandem.fail_when(newer_index)
    before = count(loop.tandem.request_log, contains="controliq/api/therapytimeline")
    loop.run(10)
    # one sync for the change plus 3 retries, then quiet until the next change
    assert count(loop.tandem.request_log, contains="controliq/api/therapytimeline") - before == 4
    # the data arrives after the retries: the next marker change syncs it
    loop.tandem.clear_faults()
    loop.follow = True
    loop.run(2)
    assert view(loop.ns.treatments()) == loop.fresh_view(dt.date(2022, 5, 9), dt.date(2022, 5, 10))


@pytest.mark.slow
def test_tokens_are_renewed_once_per_lifetime(make_loop):
    loop = make_loop(D(2022, 5, 10, 0, 0), token_lifetime_s=3600, days_after=1)
    loop.run(120)                          # 10 hours
    # each API logs in about once per hour of token lifetime, never per request
    assert loop.tandem.login_attempts <= 2 * 11
    assert loop.loop.status["counts"]["failures"] == 0


def test_outages_back_off_and_nothing_is_lost(make_loop):
    loop = make_loop(D(2022, 5, 10, 6, 0), days_after=1)
    loop.run(3)
    loop.ns.down = True
    loop.run(12)
    failures_seen = loop.loop.status["counts"]["failures"]
    assert failures_seen >= 5
    waits = [s for s in loop.clock.sleeps if s >= 60]     # the loop's waits (not HTTP retries)
    assert max(waits) <= 15 * 60
    assert waits[-1] >= 600                # backed off, not hammering
    loop.ns.down = False
    loop.tandem.fail_next("services", 2, status=503)
    loop.run(3)
    assert loop.loop.status["consecutive_failures"] == 0
    today = loop.clock.now().astimezone(loop.tz).date()
    assert view(loop.ns.treatments()) == loop.fresh_view(dt.date(2022, 5, 9), today)


def test_outage_longer_than_the_window_is_caught_up(make_loop):
    loop = make_loop(D(2022, 5, 10, 20, 0), days_after=3, interval_s=900)
    loop.run(2)
    loop.tandem.down = True                # Tandem unreachable for a day and a half
    deadline = loop.tz.localize(D(2022, 5, 12, 9, 0))
    for _ in range(500):                   # run(n) sleeps between its cycles, so the clock moves
        if loop.clock.now() >= deadline:
            break
        loop.run(2)
    assert loop.clock.now() >= deadline
    assert loop.loop.status["counts"]["failures"] > 10
    loop.tandem.down = False
    loop.run(2)
    today = loop.clock.now().astimezone(loop.tz).date()
    assert today == dt.date(2022, 5, 12)
    # the days of the outage are there, although they left the rolling 1-day window
    assert view(loop.ns.treatments()) == loop.fresh_view(dt.date(2022, 5, 9), today)


def test_a_restarted_daemon_catches_up_from_its_status_file(make_loop, tmp_path):
    from tconnectsync.sync.autoupdate import AutoUpdate, Settings
    path = str(tmp_path / "status.json")
    loop = make_loop(D(2022, 5, 10, 20, 0), days_after=3, status_path=path)
    loop.run(2)
    loop.clock.t += 40 * 3600              # the daemon is stopped for 40 hours
    loop.scenario.set_cutoff(loop.clock.now())
    again = AutoUpdate(loop.config, loop.clients, Settings(interval_s=300, days=2, status_path=path),
                       clock=loop.clock, stop=loop.stop)
    again.run(max_cycles=1)
    today = loop.clock.now().astimezone(loop.tz).date()
    assert view(loop.ns.treatments()) == loop.fresh_view(dt.date(2022, 5, 9), today)


def test_retry_after_is_honoured(make_loop):
    loop = make_loop(D(2022, 5, 10, 6, 0))
    loop.run(1)
    loop.ns.fail_next(10, status=429, headers={"Retry-After": "1200"})
    loop.clock.sleep(300)                  # the pump uploads: the next poll syncs and meets the 429
    before = len(loop.clock.sleeps)
    loop.run(2)                            # the failing cycle, its wait, one more cycle
    waits = loop.clock.sleeps[before:]
    assert waits and max(waits) >= 1200


def test_wrong_credentials_do_not_storm_the_login(make_loop, caplog):
    loop = make_loop(D(2022, 5, 10, 0, 0), password="wrong")
    start = loop.clock.now()
    for _ in range(200):
        if loop.clock.now() - start >= dt.timedelta(days=1):
            break
        assert loop.run(2) == 0            # the daemon keeps running (run(2) waits once)
    assert loop.clock.now() - start >= dt.timedelta(days=1)
    # an attempt per back-off step (5, 10, 20, 40, then 60 minutes): about 27 in a day, both APIs
    assert loop.tandem.login_attempts <= 30
    assert loop.tandem.failed_logins == loop.tandem.login_attempts
    refusals = [r for r in caplog.records if "refused the e-mail address or password" in r.getMessage()]
    assert len(refusals) == loop.tandem.login_attempts
    assert max(loop.clock.sleeps) == 3600


def test_data_stopped_warns_once_and_announces(make_loop, caplog):
    loop = make_loop(D(2022, 5, 10, 9, 0), announce_no_data=True, no_data_minutes=60)
    loop.run(2)
    loop.follow = False
    loop.run(40)                           # over 3 hours without new data
    warnings = [r for r in caplog.records if "No new pump data" in r.getMessage()]
    assert len(warnings) == 1
    announcements = [d for d in loop.ns.treatments() if d["eventType"] == "Announcement"]
    assert len(announcements) == 1 and "No new pump data from Tandem since 2022-05-10 09:05" in announcements[0]["notes"]
    loop.follow = True
    loop.run(2)
    loop.follow = False
    loop.run(15)
    assert len([r for r in caplog.records if "No new pump data" in r.getMessage()]) == 2   # a new episode


def test_status_file(make_loop, tmp_path):
    import os
    import json
    path = tmp_path / "state" / "status.json"
    loop = make_loop(D(2022, 5, 10, 9, 0), status_path=str(path))
    loop.run(3)
    status = json.loads(path.read_text())
    assert status["counts"]["polls"] == 3 and status["last_success"] and status["state"] == "stopped"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
