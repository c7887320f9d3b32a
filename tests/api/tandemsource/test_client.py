"""The Tandem Source data client (api/tandemsource/client.py) against the simulated Tandem Source
cloud (real HTTP on 127.0.0.1): its status map, the pumps, the pump-logs."""
import datetime as dt
import json
import logging
import os
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tconnectsync.api.tandemsource import CLIENT_IDS, DEFAULT_EVENT_CODES, date_windows
from tconnectsync.errors import ConfigError, TandemError, TransientError
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import DEFAULT_PUMPER_ID, SandboxPump
from .helpers import FIXTURES, NOW, UTC, Clock, by_path, client, scenario


def test_http_errors(sandbox, tmp_path):
    sb = sandbox()
    api = client(sb, tmp_path)
    api.pumper()
    sb.fail_next("source", 2, status=500)
    api.pumper()                                            # retried by HttpClient
    sb.fail_next("source", 4, status=500)
    with pytest.raises(TransientError):
        api.pumper()
    sb.fail_next("source", 1, status=403)
    with pytest.raises(TandemError) as info:
        api.pumper()
    assert info.value.status == 403 and "firewall" in str(info.value) and "The request is blocked" in str(info.value)
    sb.fail_next("source", 1, status=404)
    with pytest.raises(TandemError) as info:
        api.pumper()
    assert info.value.status == 404
    assert sb.logins == 1


def test_a_wrong_source_url_is_blocked_by_the_firewall(sandbox, tmp_path):
    sb = sandbox()
    # the same server reached under another name: Origin/Referer no longer match the Source site
    api = client(sb, tmp_path, source_url=sb.source_url.replace("127.0.0.1", "localhost"))
    with pytest.raises(TandemError) as info:
        api.pumper()
    assert info.value.status == 403 and "firewall" in str(info.value)
    assert sb.request_log[-1].headers["Origin"] == sb.source_origin.replace("127.0.0.1", "localhost")


# ---------------------------------------------------------------------------- pumps

@pytest.fixture
def two_pumps(sandbox):
    x2 = scenario(seed=1)
    mobi = make_scenario(dt.date(2026, 7, 20), dt.date(2026, 8, 4), seed=2, serial="22222222",
                         cutoff=dt.datetime(2026, 8, 4, 12, tzinfo=UTC))
    return sandbox(pumps=[SandboxPump(mobi, model="mobi"), SandboxPump(x2)])


def test_the_configured_pump_is_used(two_pumps, tmp_path, caplog):
    api = client(two_pumps, tmp_path)
    with caplog.at_level(logging.WARNING):
        pump = api.choose_pump("22222222")
    assert (pump.serial, pump.model) == ("22222222", "Tandem Mobi")
    assert dt.datetime(2026, 8, 4, 7, 50) < pump.last_event_local <= dt.datetime(2026, 8, 4, 8, 0)   # 12:00 UTC
    assert pump.last_event == pump.last_event_local.replace(tzinfo=UTC) + dt.timedelta(hours=4)
    assert "22222222" in caplog.text and "3 days ago" in caplog.text      # not uploaded recently
    assert api.choose_pump("11111111").model == "t:slim X2"


def test_an_unknown_serial_lists_the_account_pumps(two_pumps, tmp_path):
    api = client(two_pumps, tmp_path)
    with pytest.raises(ConfigError) as info:
        api.choose_pump("99999999")
    text = str(info.value)
    assert "PUMP_SERIAL_NUMBER=99999999" in text and "11111111 (t:slim X2" in text and "22222222 (Tandem Mobi" in text


def test_the_most_recently_active_pump_is_chosen_with_a_warning(two_pumps, tmp_path, caplog):
    api = client(two_pumps, tmp_path)
    with caplog.at_level(logging.WARNING):
        pump = api.choose_pump("")
    assert pump.serial == "11111111" and pump.assignment_id == "f1c7e5d0-0000-4000-8000-000011111111"
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1
    assert "11111111 (t:slim X2)" in warning[0] and "22222222 (Tandem Mobi), last event 3 days ago" in warning[0]
    assert "PUMP_SERIAL_NUMBER" in warning[0]
    newest = api.newest_event_time(pump)
    assert newest == pump.last_event and newest.tzinfo is not None
    assert dt.datetime(2026, 8, 7, 17, 50, tzinfo=UTC) < newest <= dt.datetime(2026, 8, 7, 18, tzinfo=UTC)


def test_a_single_pump_needs_no_warning(sandbox, tmp_path, caplog):
    api = client(sandbox(), tmp_path)
    with caplog.at_level(logging.WARNING):
        assert api.choose_pump().serial == "11111111"
    assert not caplog.records


# ---------------------------------------------------------------------------- pump events

def test_a_70_day_range_is_fetched_in_28_day_windows(sandbox, tmp_path):
    sb = sandbox(scenario(dt.date(2026, 5, 27), dt.date(2026, 5, 30), cutoff=None))
    api = client(sb, tmp_path)
    pump = api.choose_pump()
    events = api.pump_events(pump, dt.date(2026, 5, 1), dt.date(2026, 7, 9))
    calls = [r.query for r in by_path(sb, "/pump-logs/")]
    assert [(q["startDate"], q["endDate"]) for q in calls] == [
        ("2026-05-01T00:00:00Z", "2026-05-28T23:59:59Z"),
        ("2026-05-29T00:00:00Z", "2026-06-25T23:59:59Z"),
        ("2026-06-26T00:00:00Z", "2026-07-09T23:59:59Z")]
    for q in calls:
        assert list(q) == ["pumperId", "startDate", "endDate", "eventCodes"] and q["pumperId"] == DEFAULT_PUMPER_ID
        assert q["eventCodes"] == ",".join(str(c) for c in DEFAULT_EVENT_CODES)
        assert "eventIds" not in q
    assert events[0]["pumpDateTime"].startswith("2026-05-27") and events[-1]["pumpDateTime"].startswith("2026-05-30")
    # on the wire: standard form encoding, as upstream sends it
    raw = [r.path for r in by_path(sb, "/pump-logs/")][0]
    assert "startDate=2026-05-01T00%3A00%3A00Z" in raw and "eventCodes=229%2C5%2C28" in raw
    assert date_windows(dt.date(2026, 1, 1), dt.date(2026, 1, 28)) == [(dt.date(2026, 1, 1), dt.date(2026, 1, 28))]


def test_events_are_deduplicated_on_sequence_group_and_number(sandbox, tmp_path):
    sc = scenario(dt.date(2026, 5, 27), dt.date(2026, 5, 30), cutoff=None)
    sb = sandbox(sc, window_overlap_s=6 * 3600)      # the server reads the Z bounds in another zone
    api = client(sb, tmp_path)
    pump = api.choose_pump()
    events = api.pump_events(pump, dt.date(2026, 5, 1), dt.date(2026, 6, 25))
    keys = [(e["sequenceGroup"], e["sequenceNumber"]) for e in events]
    assert len(keys) == len(set(keys)) and keys == sorted(keys)
    log = sb.pumps[0].log
    first = log.events(dt.datetime(2026, 5, 1), dt.datetime(2026, 5, 29, 5, 59, 59))
    second = log.events(dt.datetime(2026, 5, 28, 18), dt.datetime(2026, 6, 26, 5, 59, 59))
    assert {e["sequenceNumber"] for e in first} & {e["sequenceNumber"] for e in second}     # the server repeated some
    assert events == log.events(dt.datetime(2026, 5, 1), dt.datetime(2026, 6, 26), set(DEFAULT_EVENT_CODES))


def test_the_retired_event_ids_parameter_is_refused(sandbox, tmp_path):
    sb = sandbox()
    api = client(sb, tmp_path)
    pump = api.choose_pump()
    r = requests.get(sb.source_url + "api/reports/bff/pump-logs/" + pump.assignment_id,
                     params={"pumperId": api.pumper_id, "startDate": "2026-08-01T00:00:00Z",
                             "endDate": "2026-08-01T23:59:59Z", "eventIds": "279"},
                     headers={"Authorization": "Bearer " + api.access_token, "Origin": sb.source_origin,
                              "Referer": sb.source_url})
    assert r.status_code == 400 and "eventIds" in r.text
    api.pump_events(pump, dt.date(2026, 8, 1), dt.date(2026, 8, 1), event_codes=())
    q = by_path(sb, "/pump-logs/")[-1].query
    assert q["eventCodes"] == "" and "eventIds" not in q


def test_a_401_during_paging_relogs_once(sandbox, tmp_path):
    sb = sandbox(scenario(dt.date(2026, 5, 27), dt.date(2026, 5, 30), cutoff=None))
    api = client(sb, tmp_path)
    pump = api.choose_pump()
    sb.fail_when(lambda host, method, path, query: 401 if query.get("startDate", "").startswith("2026-05-29")
                 and sb.logins == 1 else None)
    events = api.pump_events(pump, dt.date(2026, 5, 1), dt.date(2026, 7, 9))
    assert sb.logins == 2 and events[-1]["pumpDateTime"].startswith("2026-05-30")


def test_the_fixture_day_through_the_client(sandbox, tmp_path):
    sb = sandbox(fixtures_dir=FIXTURES, email="alex.example@example.invalid", clock=Clock(NOW + 10 * 86400))
    api = client(sb, tmp_path, email="alex.example@example.invalid")
    with open(os.path.join(FIXTURES, "bff-pumper-response.json"), encoding="utf-8") as f:
        assert api.pumper() == json.load(f)
    pump = api.choose_pump("11111111")
    assert pump.last_event_local == dt.datetime(2026, 8, 12, 23, 59, 59)
    logs = api.pump_logs(pump, dt.date(2026, 8, 12), dt.date(2026, 8, 13))
    with open(os.path.join(FIXTURES, "bff-pump-logs-response.json"), encoding="utf-8") as f:
        ref = json.load(f)
    assert logs.events == ref["events"] and logs.clock_changes == []
    # the same request shape upstream 3.0.3 sends (expected-tandem-requests.json)
    with open(os.path.join(FIXTURES, "expected-tandem-requests.json"), encoding="utf-8") as f:
        expected = json.load(f)["requests"]
    want = parse_qs(urlsplit(next(r["url"] for r in expected if "/pump-logs/" in r["url"])).query,
                    keep_blank_values=True)
    got = by_path(sb, "/pump-logs/")[-1].query
    assert list(got) == list(want) and got["eventCodes"] == want["eventCodes"][0]
    assert (got["startDate"], got["endDate"]) == (want["startDate"][0], want["endDate"][0])
    token_form = next(r["body"] for r in expected if r["url"].endswith("/connect/token"))
    assert token_form["client_id"] == CLIENT_IDS["US"] and token_form["redirect_uri"].endswith("/auth/callback")
