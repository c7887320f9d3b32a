"""The Tandem Source client against the simulated Tandem Source cloud (real HTTP on 127.0.0.1)."""
import datetime as dt
import json
import logging
import os
import stat
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tconnectsync.api.common import LoginLimiter
from tconnectsync.api.tandemsource import CLIENT_IDS, DEFAULT_EVENT_CODES, ISSUERS, TandemSourceApi, date_windows
from tconnectsync.config import Config
from tconnectsync.errors import (AccountLocked, BadCredentials, ConfigError, IdTokenRejected, LoginThrottled,
                                 TandemError, TransientError)
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource_server import DEFAULT_PUMPER_ID, SandboxPump, TandemSourceSandbox
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


@pytest.fixture
def sandbox():
    started = []

    def factory(sc=None, **kw):
        kw.setdefault("email", EMAIL)
        kw.setdefault("password", PASSWORD)
        kw.setdefault("clock", Clock())
        if "pumps" not in kw and "fixtures_dir" not in kw:
            kw["scenario"] = sc or scenario()
        sb = TandemSourceSandbox(**kw).start()
        started.append(sb)
        return sb

    yield factory
    for sb in started:
        sb.stop()


def client(sb, tmp_path, clock=None, **kw):
    return TandemSourceApi(config(sb, tmp_path, **kw), clock=clock or sb.clock, sleep=lambda s: None)


def by_path(sb, fragment):
    return [r for r in sb.request_log if fragment in r.path]


# ---------------------------------------------------------------------------- login

@pytest.mark.parametrize("region", ["US", "EU"])
def test_login_follows_the_base_url_overrides_while_the_issuer_stays_real(sandbox, tmp_path, region):
    sb = sandbox(region=region)
    api = client(sb, tmp_path)
    body = api.pumper()
    assert [p["serialNumber"] for p in body["pumps"]] == ["11111111"]
    log = sb.request_log
    assert [(r.host, r.method, r.path.split("?")[0]) for r in log] == [
        ("sso", "GET", "/"),
        ("services", "POST", "/accounts/api/login"),
        ("services", "GET", "/accounts/api/connect/authorize"),
        ("sso" if region == "US" else "source", "GET", "/auth/callback" if region == "US" else "/authorize/callback"),
        ("services", "POST", "/accounts/api/connect/token"),
        ("services", "GET", "/accounts/api/.well-known/openid-configuration/jwks"),
        ("source", "GET", "/api/reports/bff/pumper/" + DEFAULT_PUMPER_ID)]
    assert log[1].headers["Referer"] == sb.sso_url and log[1].headers["Content-Type"] == "application/json"
    auth = log[2].query
    expected_redirect = sb.sso_url + "auth/callback" if region == "US" else sb.source_url + "authorize/callback"
    assert auth["redirect_uri"] == expected_redirect == api.redirect_uri
    assert auth["client_id"] == CLIENT_IDS[region] and auth["scope"] == "openid profile email"
    assert auth["code_challenge_method"] == "S256" and len(auth["code_challenge"]) == 43
    assert "state" not in auth and "nonce" not in auth
    assert log[2].headers["Referer"] == sb.sso_url
    assert log[6].headers == {"Origin": sb.source_origin, "Referer": sb.source_url, "Authorization": "Bearer ***"}
    assert sb.source_origin == sb.source_url.rstrip("/")
    assert api.id_claims["iss"] == ISSUERS[region] and api.id_claims["aud"] == CLIENT_IDS[region]
    assert api.pumper_id == DEFAULT_PUMPER_ID and api.account_id == sb.account_id
    assert sb.login_attempts == 1


def test_wrong_password_is_one_attempt_never_retried(sandbox, tmp_path):
    sb = sandbox()
    limiter = LoginLimiter(clock=sb.clock)
    api = TandemSourceApi(config(sb, tmp_path, password="wrong"), clock=sb.clock, sleep=lambda s: None,
                          limiter=limiter)
    with pytest.raises(BadCredentials) as info:
        api.pumper()
    assert "TCONNECT_PASSWORD" in str(info.value) and "wrong" not in str(info.value)
    with pytest.raises(BadCredentials):
        api.pumper()
    again = TandemSourceApi(config(sb, tmp_path, password="wrong"), clock=sb.clock, limiter=limiter)
    with pytest.raises(BadCredentials):
        again.pumper()
    assert sb.login_attempts == 1 and limiter.total == 1
    assert sb.request_counts == {"sso": 1, "services": 1, "source": 0}
    assert not os.path.exists(api.config.token_file)


def test_lockout_is_account_locked(sandbox, tmp_path):
    sb = sandbox()
    sb.max_failed_logins = 0
    with pytest.raises(BadCredentials):
        client(sb, tmp_path, password="wrong").pumper()
    with pytest.raises(AccountLocked):
        client(sb, tmp_path).pumper()
    assert sb.login_attempts == 2


@pytest.mark.parametrize("status, body, error", [
    (403, None, TandemError),                                                    # the firewall page
    (400, '{"message":"Max attempted logins exceeded."}', AccountLocked),
    (200, '{"redirectUrl":null,"status":"FAILED"}', BadCredentials),
    (502, None, TransientError),                                                 # sent once, not retried
])
def test_login_answers(sandbox, tmp_path, status, body, error):
    sb = sandbox()
    sb.fail_when(lambda host, method, path, query: (status, None, body) if path.endswith("/login") else None)
    with pytest.raises(error) as info:
        client(sb, tmp_path).pumper()
    assert type(info.value) is error or error is TransientError
    assert len(by_path(sb, "/accounts/api/login")) == 1


def test_every_credential_post_goes_through_the_limiter(sandbox, tmp_path):
    sb = sandbox()
    limiter = LoginLimiter(per_hour=1, clock=sb.clock)
    api = TandemSourceApi(config(sb, tmp_path, token_file=""), clock=sb.clock, limiter=limiter)
    api.pumper()
    sb.expire_tokens()
    with pytest.raises(LoginThrottled):
        api.pumper()
    assert sb.login_attempts == 1


def test_forged_id_tokens_are_rejected(sandbox, tmp_path):
    sb = sandbox()
    for forge in ({"wrong_key": True}, {"iss": "https://evil.example/accounts/api"},
                  {"aud": "someone-else"}, {"exp": int(NOW) - 3600}):
        sb.forge_id_tokens(**forge)
        api = client(sb, tmp_path)
        with pytest.raises(IdTokenRejected):
            api.pumper()
        assert api.access_token is None
    assert not os.path.exists(api.config.token_file)
    assert sb.request_counts["source"] == 0
    sb.forge_id_tokens()
    client(sb, tmp_path).pumper()


def test_the_eu_issuer_is_not_accepted_for_us(sandbox, tmp_path):
    sb = sandbox(region="US")
    sb.forge_id_tokens(iss=ISSUERS["EU"])
    with pytest.raises(IdTokenRejected):
        client(sb, tmp_path).pumper()


# ---------------------------------------------------------------------------- tokens

def test_token_cache_is_private_and_reused_by_another_instance(sandbox, tmp_path):
    sb = sandbox()
    path = tmp_path / "state" / "tokens.json"
    path.parent.mkdir()
    path.write_text("{}")
    os.chmod(path, 0o644)
    first = client(sb, tmp_path)
    first.pumper()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert PASSWORD not in text and json.dumps(PASSWORD)[1:-1] not in text
    data = json.loads(text)
    assert {k: data[k] for k in ("email", "region", "pumper_id", "account_id")} == {
        "email": EMAIL, "region": "US", "pumper_id": DEFAULT_PUMPER_ID, "account_id": sb.account_id}
    assert data["access_token"] == first.access_token and data["expires_at"] == NOW + 8 * 3600
    services = sb.request_counts["services"]
    second = client(sb, tmp_path)
    second.pumper()
    assert sb.login_attempts == 1 and sb.request_counts["services"] == services and second.logins == 0
    # another account (or region) never uses it
    other = client(sb, tmp_path, email="other@example.com")
    with pytest.raises(BadCredentials):
        other.pumper()
    assert sb.login_attempts == 2


def test_an_expired_token_means_exactly_one_new_login(sandbox, tmp_path):
    clock = Clock()
    sb = sandbox(clock=clock, token_lifetime_s=3600)
    api = client(sb, tmp_path)
    api.pumper()
    clock.t += 3600                     # expired (3.0.3's ".seconds" quirk would miss this, docs/tandem-source.md §2)
    api.pumper()
    api.pumper()
    assert sb.logins == 2 and api.logins == 2
    assert not [r for r in sb.request_log if r.status == 401]
    # a new process finds the cached token due for renewal and logs in once
    clock.t += 3600 - 200               # inside the renewal margin of the second token
    fresh = client(sb, tmp_path)
    fresh.pumper()
    assert sb.logins == 3 and fresh.logins == 1


def test_a_401_means_one_new_login_and_one_retry(sandbox, tmp_path):
    sb = sandbox()
    api = client(sb, tmp_path)
    api.pumper()
    old = api.access_token
    sb.expire_tokens()                  # e.g. revoked by Tandem
    api.pumper()
    assert sb.logins == 2 and api.access_token != old
    assert [r.status for r in by_path(sb, "/bff/pumper/")] == [200, 401, 200]
    assert json.loads((tmp_path / "state" / "tokens.json").read_text())["access_token"] == api.access_token
    # a token refused right after a fresh login: an error, not a loop
    pred = sb.fail_when(lambda host, method, path, query: 401 if "/bff/pumper/" in path else None)
    with pytest.raises(TandemError) as info:
        api.pumper()
    assert info.value.status == 401 and sb.logins == 3
    sb.remove_fault(pred)


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
