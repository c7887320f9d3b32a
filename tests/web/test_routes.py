"""Routes of the web app with Flask's test client, against the sandbox servers."""
import datetime as dt
import fcntl
import json
import os
import threading

import pytest

from tconnectsync import status
from tconnectsync.errors import ConfigError
from tconnectsync.web.app import MISSING_SECRET, NO_SECRET, WRONG_SECRET, StartupError

from .conftest import APP_SECRET, EMAIL, NS_SECRET, PASSWORD, wait_idle

PROTECTED = ("/run", "/update", "/check_login")
BEARER = {"Authorization": "Bearer " + APP_SECRET}


def body(response):
    return response.get_data(as_text=True)


def error_of(response):
    return response.get_json()["error"] if response.is_json else body(response)


# ---------------------------------------------------------------------- the secret

@pytest.mark.parametrize("path", PROTECTED)
def test_missing_and_wrong_secret_get_403(web_env, path):
    client = web_env.app().test_client()
    for kwargs, sentence in [
        ({}, MISSING_SECRET),
        ({"query_string": {"secret": ""}}, MISSING_SECRET),
        ({"query_string": {"secret": APP_SECRET[:-1]}}, WRONG_SECRET),
        ({"query_string": {"secret": APP_SECRET + "x"}}, WRONG_SECRET),
        ({"headers": {"Authorization": "Bearer nope"}}, WRONG_SECRET),
        ({"headers": {"Authorization": "Basic " + APP_SECRET}}, MISSING_SECRET),   # only Bearer is read
        ({"headers": {"secret": APP_SECRET}}, MISSING_SECRET),                      # not a header name
    ]:
        response = client.get(path, **kwargs)
        assert response.status_code == 403, (path, kwargs)
        assert error_of(response).strip() == sentence
    assert web_env.ns.treatments() == []
    assert web_env.tandem.login_attempts == 0


@pytest.mark.parametrize("path", PROTECTED)
def test_right_secret_in_query_header_or_form_passes(web_env, path):
    """days=0 is refused after the secret check: a 400 proves the secret was accepted."""
    client = web_env.app().test_client()
    assert client.get(path, query_string={"secret": APP_SECRET, "days": "0"}).status_code == 400
    assert client.get(path, query_string={"days": "0"}, headers=BEARER).status_code == 400
    assert client.get(path, query_string={"days": "0"},
                      headers={"Authorization": "bearer  " + APP_SECRET}).status_code == 400
    if path != "/check_login":
        assert client.post(path, data={"secret": APP_SECRET, "days": "0"}).status_code == 400


@pytest.mark.parametrize("path", PROTECTED)
def test_without_a_configured_secret_every_protected_route_says_what_to_set(web_env, path):
    client = web_env.app(TCONNECTSYNC_HEROKU_SECRET=None).test_client()
    for kwargs in ({}, {"query_string": {"secret": ""}}, {"query_string": {"secret": "anything"}}, {"headers": BEARER}):
        response = client.get(path, **kwargs)
        assert response.status_code == 403
        assert error_of(response).strip() == NO_SECRET
    assert "TCONNECTSYNC_HEROKU_SECRET" in NO_SECRET


def test_status_page_and_health_need_no_secret(web_env):
    client = web_env.app(TCONNECTSYNC_HEROKU_SECRET=None).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert "No secret is set" in body(page) and "TCONNECTSYNC_HEROKU_SECRET" in body(page)
    assert client.get("/health").status_code == 503


def test_no_scheduler_api_and_methods(web_env):
    client = web_env.app().test_client()
    for path in ("/scheduler", "/scheduler/jobs"):
        assert client.get(path, headers=BEARER).status_code == 404
        assert client.post(path, headers=BEARER, json={"func": "os:system"}).status_code == 404
    assert client.post("/health").status_code == 405
    assert client.post("/check_login", headers=BEARER).status_code == 405


def test_security_headers(web_env):
    response = web_env.app().test_client().get("/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


# ---------------------------------------------------------------------- parameters

@pytest.mark.parametrize("days", ["0", "91", "-1", "abc", "1.5", "1e2"])
@pytest.mark.parametrize("path", PROTECTED)
def test_bad_days_get_400_naming_days(web_env, path, days):
    response = web_env.app().test_client().get(path, query_string={"days": days}, headers=BEARER)
    assert response.status_code == 400
    assert "days must be" in error_of(response)


@pytest.mark.parametrize("path", ["/run", "/update"])
def test_unknown_feature_gets_400_naming_it(web_env, path):
    response = web_env.app().test_client().get(path, query_string={"features": "BASAL, Bogus"}, headers=BEARER)
    assert response.status_code == 400
    assert "'Bogus'" in error_of(response) and "BASAL, BOLUS, IOB" in error_of(response)
    assert web_env.state_dir.joinpath("web-runs.json").exists() is False


@pytest.mark.parametrize("value,pretend", [
    ("true", True), ("1", True), ("YES", True), ("on", True), (" True ", True),
    ("false", False), ("0", False), ("no", False), ("", False), ("pretend", False),
])
def test_pretend_words(value, pretend):
    from tconnectsync.web.settings import parse_pretend
    assert parse_pretend(value) is pretend
    assert parse_pretend(None) is False


def test_feature_and_days_parsing():
    from tconnectsync.web.settings import parse_days, parse_features
    assert parse_features(" basal,BOLUS ,, basal") == ("BASAL", "BOLUS")
    assert parse_features("") is None and parse_features(" , ") is None and parse_features(None) is None
    assert parse_days(None) is None and parse_days("") is None
    assert parse_days(" 7 ") == 7 and parse_days("90") == 90


# ---------------------------------------------------------------------- /update

def test_update_syncs_and_returns_the_summary(web_env):
    client = web_env.app().test_client()
    response = client.get("/update", headers=BEARER)
    text = body(response)
    assert response.status_code == 200, text
    assert response.mimetype == "text/plain"
    assert text.startswith("Synced ")
    assert "BASAL:" in text and "BOLUS:" in text and "IOB:" in text
    assert "Log:" in text and "Logged in to t:connect" in text
    stored = web_env.ns.treatments()
    assert stored
    again = client.post("/update", data={"secret": APP_SECRET})
    assert again.status_code == 200
    assert "0 created, 0 updated" in body(again)
    assert len(web_env.ns.treatments()) == len(stored)
    for secret in (PASSWORD, NS_SECRET, APP_SECRET, EMAIL):
        assert secret not in text


def test_update_pretend_writes_nothing_and_pretend_false_writes(web_env):
    client = web_env.app().test_client()
    response = client.get("/update", query_string={"pretend": "yes", "features": "bolus"}, headers=BEARER)
    assert response.status_code == 200
    assert body(response).startswith("PRETEND (nothing written)")
    assert "BASAL" not in body(response).split("Log:")[0]
    assert web_env.ns.treatments() == []
    response = client.get("/update", query_string={"pretend": "false", "features": "BOLUS", "days": "2"},
                          headers=BEARER)
    assert response.status_code == 200
    stored = web_env.ns.treatments()
    assert stored and {d["eventType"] for d in stored} == {"Combo Bolus"}
    runs = web_env.apps[0].extensions["tconnectsync"].runner.history.runs()
    assert [r["pretend"] for r in runs] == [False, True]
    assert runs[0]["window"][1] > runs[0]["window"][0]


def test_features_default_from_the_setting(web_env):
    client = web_env.app(TCONNECTSYNC_HEROKU_FEATURES="bolus").test_client()
    response = client.get("/update", headers=BEARER)
    assert response.status_code == 200
    assert "BOLUS:" in body(response) and "BASAL:" not in body(response)
    page = body(client.get("/"))
    assert "BOLUS" in page and "(default)" not in page


def test_update_failure_is_500_with_the_sentence(web_env):
    client = web_env.app(TCONNECT_PASSWORD="not-the-password").test_client()
    response = client.get("/update", headers=BEARER)
    text = body(response)
    assert response.status_code == 500
    first = text.splitlines()[0]
    assert "password" in first.lower() and "Traceback" not in text
    assert "not-the-password" not in text and EMAIL not in text
    # The refusal is remembered: the next ping does not send the wrong password again.
    attempts = web_env.tandem.login_attempts
    again = client.get("/update", headers=BEARER)
    assert again.status_code == 500
    assert web_env.tandem.login_attempts == attempts


def test_settings_problem_shows_on_page_and_in_update(web_env):
    client = web_env.app(NS_URL=None).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert "Settings problem" in body(page) and "NS_URL is not set" in body(page)
    response = client.get("/update", headers=BEARER)
    assert response.status_code == 500
    assert body(response).startswith("NS_URL is not set")
    check = client.get("/check_login", headers=BEARER)
    assert check.status_code == 503 and "NS_URL is not set" in body(check)


# ---------------------------------------------------------------------- /run and overlap

def test_run_returns_at_once_and_the_run_is_recorded(web_env):
    app = web_env.app()
    client = app.test_client()
    response = client.get("/run", headers=BEARER)
    assert response.status_code == 202
    data = response.get_json()
    assert data["started"] is True and data["run_id"]
    runs = wait_idle(app.extensions["tconnectsync"])
    assert [r["id"] for r in runs] == [data["run_id"]]
    assert runs[0]["state"] == "ok" and runs[0]["trigger"] == "run"
    assert runs[0]["counts"]["BASAL"]["created"] > 0
    assert runs[0]["log"]
    assert web_env.ns.treatments()


def test_no_second_run_while_one_is_running(web_env):
    web_env.tandem.latency = 0.05         # every Tandem request takes a while: the run lasts
    app = web_env.app()
    client = app.test_client()
    first = client.get("/run", headers=BEARER).get_json()
    assert first["started"] is True
    answers = [client.get("/run", headers=BEARER) for _ in range(3)]
    assert all(a.status_code == 202 for a in answers)
    assert [a.get_json() for a in answers] == [{"run_id": first["run_id"], "started": False}] * 3
    busy = client.get("/update", headers=BEARER)
    assert busy.status_code == 409 and first["run_id"] in body(busy)
    state = app.extensions["tconnectsync"]
    skipped = state.interval_job()                        # the interval job shares the lock too
    assert skipped.started is False and skipped.run_id == first["run_id"]
    runs = wait_idle(state)
    assert [r["id"] for r in runs] == [first["run_id"]]
    assert client.get("/run", headers=BEARER).get_json()["started"] is True
    wait_idle(state)


def test_a_run_held_by_another_process_is_named(web_env):
    """Another gunicorn worker holds the flock: this one starts nothing and names that run."""
    app = web_env.app()
    client = app.test_client()
    web_env.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(web_env.state_dir / "sync.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"20260101T000000Z-other")
        assert client.get("/run", headers=BEARER).get_json() == {"run_id": "20260101T000000Z-other",
                                                                 "started": False}
        busy = client.get("/update", headers=BEARER)
        assert busy.status_code == 409 and "20260101T000000Z-other" in body(busy)
        assert "Running" in body(client.get("/"))
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)
    assert web_env.tandem.login_attempts == 0
    assert client.get("/run", headers=BEARER).get_json()["started"] is True
    wait_idle(app.extensions["tconnectsync"])


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(web_env):
    state = web_env.app().extensions["tconnectsync"]
    state.runner.history.save({"id": "old-run", "state": "running", "started": "2026-01-01T00:00:00+00:00"})
    response = web_env.apps[0].test_client().get("/update", query_string={"features": "BOLUS"}, headers=BEARER)
    assert response.status_code == 200
    runs = state.runner.history.runs()
    assert [r["state"] for r in runs] == ["ok", "interrupted"]


# ---------------------------------------------------------------------- /check_login, /health

def test_check_login_passes_and_fails(web_env):
    client = web_env.app().test_client()
    ok = client.get("/check_login", headers=BEARER)
    assert ok.status_code == 200, body(ok)
    assert "All checks passed." in body(ok) and "ok    Nightscout" in body(ok)
    for secret in (PASSWORD, NS_SECRET, APP_SECRET, EMAIL):
        assert secret not in body(ok)
    bad = web_env.app(NS_SECRET="wrong-nightscout-secret").test_client().get(
        "/check_login", query_string={"secret": APP_SECRET})
    assert bad.status_code == 503
    assert "FAIL  Nightscout" in body(bad) and "wrong-nightscout-secret" not in body(bad)


def test_health_never_ok_stale(web_env):
    app = web_env.app(TCONNECTSYNC_HEALTH_MAX_AGE_MINS="30")
    client = app.test_client()
    never = client.get("/health")
    assert never.status_code == 503
    assert never.get_json() == {"status": "never", "last_success": None, "data_age_seconds": None,
                                "data_stale": False}
    assert client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    ok = client.get("/health")
    assert ok.status_code == 200
    data = ok.get_json()
    assert data["status"] == "ok"
    assert dt.datetime.fromisoformat(data["last_success"]) <= dt.datetime.now(dt.timezone.utc)
    assert isinstance(data["data_age_seconds"], int) and data["data_age_seconds"] >= 0
    path = web_env.state_dir / "status.json"
    saved = status.read(path)
    assert saved["last_data"] and saved["consecutive_failures"] == 0
    saved["last_success"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31)).isoformat()
    status.write(path, saved)
    stale = client.get("/health")
    assert stale.status_code == 503 and stale.get_json()["status"] == "stale"


def test_status_file_path_follows_the_setting(web_env, tmp_path):
    path = tmp_path / "elsewhere" / "status.json"
    client = web_env.app(TCONNECTSYNC_STATUS_FILE=str(path)).test_client()
    assert client.get("/update", query_string={"features": "BOLUS"}, headers=BEARER).status_code == 200
    assert status.read(path)["last_success"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


# ---------------------------------------------------------------------- the page

def test_page_shows_runs_and_no_secrets(web_env):
    good = web_env.app()
    client = good.test_client()
    assert client.get("/update", headers=BEARER).status_code == 200
    bad = web_env.app(TCONNECT_PASSWORD="wrong-password-here")
    assert bad.test_client().get("/update", headers=BEARER).status_code == 500
    page = body(client.get("/"))
    assert "Last runs" in page
    assert page.count('class="badge ok">ok<') == 1 and page.count('class="badge bad">failed<') == 1
    assert "password is incorrect" in page.lower() or "password" in page.lower()
    for secret in (PASSWORD, NS_SECRET, APP_SECRET, EMAIL, "wrong-password-here"):
        assert secret not in page
    assert "<pre>" not in page                     # logs only with the secret
    with_secret = body(client.get("/", query_string={"secret": APP_SECRET}))
    assert "<pre>" in with_secret and "Logged in to t:connect" in with_secret
    assert APP_SECRET not in with_secret
    assert "<pre>" not in body(client.get("/", query_string={"secret": "wrong"}))


def test_interval_job_runs_syncs_and_only_one_process_leads(web_env):
    app = web_env.app(TCONNECTSYNC_HEROKU_INTERVAL_MINS="15")
    state = app.extensions["tconnectsync"]
    state.start_interval_job()
    try:
        assert state.next_run() is not None
        page = body(app.test_client().get("/"))
        assert "a sync every 15 min; next at" in page
        started = state.interval_job()
        assert started.started is True
        runs = wait_idle(state)
        assert runs[0]["trigger"] == "interval" and runs[0]["state"] == "ok"
        other = web_env.app(TCONNECTSYNC_HEROKU_INTERVAL_MINS="15").extensions["tconnectsync"]
        assert other.interval_job() is None                 # the other "worker" does not lead
    finally:
        state.shutdown()


@pytest.mark.parametrize("name,value,words", [
    ("TCONNECTSYNC_HEROKU_INTERVAL_MINS", "abc", "whole number of minutes"),
    ("TCONNECTSYNC_HEROKU_INTERVAL_MINS", "-5", "from 0 to"),
    ("TCONNECTSYNC_HEROKU_INTERVAL_MINS", "1.5", "whole number"),
    ("TCONNECTSYNC_HEROKU_FEATURES", "BASAL,NOPE", "unknown feature 'NOPE'"),
    ("TCONNECTSYNC_HEALTH_MAX_AGE_MINS", "soon", "whole number"),
])
def test_bad_web_settings_stop_the_app_with_one_sentence(web_env, name, value, words):
    with pytest.raises(StartupError) as info:
        web_env.app(**{name: value})
    assert isinstance(info.value, ConfigError)
    assert name in str(info.value) and words in str(info.value)
    assert "\n" not in str(info.value)


def test_interval_zero_or_empty_means_no_job(web_env):
    for value in ("0", "", " "):
        state = web_env.app(TCONNECTSYNC_HEROKU_INTERVAL_MINS=value).extensions["tconnectsync"]
        assert state.web.interval_mins == 0 and state.next_run() is None


# ---------------------------------------------------------------------- pieces

def test_sync_window_catches_up_after_downtime():
    from tconnectsync.web.runner import sync_window
    import pytz
    tz = pytz.timezone("America/New_York")
    now = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.timezone.utc)
    today = dt.date(2026, 3, 10)
    assert sync_window(tz, None, None, now) == (today - dt.timedelta(days=1), today)
    assert sync_window(tz, None, now - dt.timedelta(minutes=30), now) == (today - dt.timedelta(days=1), today)
    assert sync_window(tz, None, now - dt.timedelta(days=4), now) == (dt.date(2026, 3, 6), today)
    assert sync_window(tz, None, now - dt.timedelta(days=400), now) == (today - dt.timedelta(days=89), today)
    # days=N is N calendar days ending today, as the command's --days N
    assert sync_window(tz, 3, now - dt.timedelta(days=30), now) == (today - dt.timedelta(days=2), today)
    assert sync_window(tz, 1, None, now) == (today, today)
    # 02:00 UTC on the 10th is still the 9th in New York
    late = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.timezone.utc)
    assert sync_window(tz, 2, None, late) == (dt.date(2026, 3, 8), dt.date(2026, 3, 9))


def test_capture_keeps_only_the_runs_thread():
    import logging
    from tconnectsync.web.runner import CaptureHandler
    log = logging.getLogger("tconnectsync.test")
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    handler = CaptureHandler(threading.get_ident(), lambda text: text.replace("s3cret", "***"))
    root.addHandler(handler)
    try:
        log.info("mine %s", "s3cret")
        other = threading.Thread(target=lambda: log.warning("someone else's"))
        other.start()
        other.join()
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = handler.result()
    assert len(lines) == 2
    assert lines[0].endswith("INFO    mine ***")
    assert "failed" in lines[1] and "Traceback" not in "\n".join(lines)


def test_run_history_keeps_the_last_runs(tmp_path):
    from tconnectsync.web.runner import KEEP_RUNS, RunHistory
    history = RunHistory(tmp_path / "runs.json")
    for i in range(KEEP_RUNS + 5):
        history.save({"id": "run-%d" % i, "state": "ok"})
    runs = history.runs()
    assert len(runs) == KEEP_RUNS and runs[0]["id"] == "run-%d" % (KEEP_RUNS + 4)
    assert json.loads((tmp_path / "runs.json").read_text())["runs"][0]["id"] == runs[0]["id"]


def test_head_run_starts_a_sync_like_get(web_env):
    """Some uptime monitors send HEAD: it triggers like GET."""
    app = web_env.app()
    response = app.test_client().head("/run", headers=BEARER)
    assert response.status_code == 202
    runs = wait_idle(app.extensions["tconnectsync"])
    assert len(runs) == 1 and runs[0]["state"] == "ok"


def test_unusable_state_dir_is_one_sentence(web_env, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    client = web_env.app(TCONNECTSYNC_STATE_DIR=str(blocker)).test_client()
    response = client.get("/run", headers=BEARER)
    assert response.status_code == 500
    assert "TCONNECTSYNC_STATE_DIR" in response.get_json()["error"]
    response = client.get("/update", headers=BEARER)
    assert response.status_code == 500 and "TCONNECTSYNC_STATE_DIR" in body(response)
    assert client.get("/").status_code == 200


def test_page_shows_a_run_left_by_a_dead_process_as_interrupted(web_env):
    state = web_env.app().extensions["tconnectsync"]
    state.runner.history.save({"id": "crashed-run", "state": "running", "started": "2026-01-01T00:00:00+00:00"})
    page = body(web_env.apps[0].test_client().get("/"))
    assert 'class="badge bad">interrupted<' in page and "is in progress" not in page


# ---------------------------------------------------------------------- the Tandem APIs

def test_a_feature_the_api_cannot_sync_is_a_400(web_env):
    client = web_env.app().test_client()                   # TCONNECT_API=legacy
    response = client.get("/update", query_string={"features": "BOLUS,PROFILES"}, headers=BEARER)
    assert response.status_code == 400
    assert "PROFILES can't be synced with TCONNECT_API=legacy" in body(response)
    assert web_env.tandem.login_attempts == 0


def test_a_feature_setting_the_api_cannot_sync_stops_the_app(web_env):
    with pytest.raises(StartupError) as info:
        web_env.app(TCONNECTSYNC_HEROKU_FEATURES="BASAL,CGM")
    assert "TCONNECTSYNC_HEROKU_FEATURES names CGM, which TCONNECT_API=legacy can't sync" in str(info.value)


def test_tandem_source_update_check_and_page(source_web_env):
    """TCONNECT_API unset: Tandem Source, with its default features."""
    env = source_web_env
    app = env.app()
    client = app.test_client()
    response = client.get("/update", headers=BEARER)
    text = body(response)
    assert response.status_code == 200, text
    for feature in ("BASAL", "BOLUS", "IOB", "PUMP_EVENTS"):
        assert feature + ":" in text.split("Log:")[0]
    assert env.ns.treatments()
    runs = app.extensions["tconnectsync"].runner.history.runs()
    assert runs[0]["api"] == "source" and runs[0]["state"] == "ok"
    check = client.get("/check_login", headers=BEARER)
    assert check.status_code == 200, body(check)
    page = body(client.get("/"))
    assert "source" in page and "PUMP_EVENTS" in page
    assert env.scenario.serial not in page                       # serials only for the app's secret
    assert "pumps %s (t:slim X2) " % env.scenario.serial in body(client.get("/", headers=BEARER))
    for secret in (PASSWORD, NS_SECRET, APP_SECRET, EMAIL):
        assert secret not in text and secret not in page and secret not in body(check)
