"""Faults injected into the sandbox servers: the sync recovers, or says exactly what failed."""
import datetime as dt
import json

import pytest

from tconnectsync import timeutil

from .test_sync import assert_basal_matches_truth, assert_boluses_match_truth, stored

START, END = dt.date(2021, 10, 20), dt.date(2021, 10, 21)


@pytest.mark.slow
def test_transient_failures_everywhere_are_retried(make_env):
    env = make_env(START, END)
    env.tandem.fail_next("services", 2, status=500)
    env.tandem.fail_next("web", 1, status=503)
    env.tandem.drop_next("ws2", 1)
    env.ns.fail_next(2, status=503)
    env.ns.fail_next(1, status=429, headers={"Retry-After": "1"})
    result = env.run("--start-date", str(START), "--end-date", str(END))
    assert result.returncode == 0, result.output
    assert "trying again" in result.stderr
    assert_boluses_match_truth(env, START, END)
    assert_basal_matches_truth(env, START, END)


def test_expired_token_means_exactly_one_new_login(make_env):
    env = make_env(START, END)
    fired = []

    def expire_once(host, method, path, query):
        if "therapyevents" in path and not fired:
            fired.append(1)
            env.tandem.expire_tokens()
        return None
    env.tandem.fail_when(expire_once)
    result = env.run("--start-date", str(START), "--end-date", str(END), "--features", "BASAL", "BOLUS")
    assert result.returncode == 0, result.output
    assert fired and env.tandem.login_attempts == 2
    assert_boluses_match_truth(env, START, END)


def test_malformed_and_unknown_records_are_skipped_and_counted(make_env):
    env = make_env(START, START)
    real = {}

    def corrupt(host, method, path, query):
        if "therapyevents" not in path or real.get("busy"):
            return None
        import requests
        real["busy"] = True
        try:
            guid = path.split("userId=")[-1]
            body = requests.get(env.tandem.services_url + path.lstrip("/") + "?userId=" + query["userId"],
                                headers={"Authorization": "Bearer " + env.tandem.issue_token("web"),
                                         "User-Agent": "Mozilla/5.0"}, timeout=10).json()
        finally:
            real["busy"] = False
        boluses = [e for e in body["event"] if e["type"] == "Bolus"]
        real["victim"] = boluses[0]["standard"]["bolusRequestId"]
        boluses[0]["eventDateTime"] = "yesterday-ish"
        boluses[0]["requestDateTime"] = "not a date"
        body["event"].append({"type": "Teleport", "eventDateTime": "2021-10-20T10:00:00", "description": "?"})
        return 200, {"Content-Type": "application/json"}, json.dumps(body)
    env.tandem.fail_when(corrupt)
    result = env.run("--start-date", str(START), "--end-date", str(START), "--features", "BOLUS")
    assert result.returncode == 0, result.output
    assert "Teleport" in result.stderr
    assert "2 records could not be read and were skipped" in result.stdout
    truth = {b.request_id for b in env.scenario.truth_boluses(START, START) if b.delivered > 0}
    have = {d["notes"] and d["identifier"] for d in stored(env, "Combo Bolus")}
    assert len(have) == len(truth) - 1


def test_nightscout_down_fails_with_the_dates_to_rerun(make_env):
    env = make_env(START, END)
    env.ns.down = True
    result = env.run("--start-date", str(START), "--end-date", str(END), extra={"TCONNECTSYNC_HTTP_TIMEOUT": "2"})
    assert result.returncode == 4          # nothing could be synced: a remote kept failing
    assert "FAILED 2021-10-20..2021-10-21" in result.stdout
    assert "Nightscout" in result.stdout and "Traceback" not in result.output


@pytest.mark.slow
def test_slow_tandem_times_out_and_is_reported(make_env):
    env = make_env(START, START)
    env.tandem.latency = 3
    result = env.run("--start-date", str(START), "--end-date", str(START), "--features", "BOLUS",
                     extra={"TCONNECTSYNC_HTTP_TIMEOUT": "1"})
    assert result.returncode != 0
    assert "did not answer within" in result.output and "Traceback" not in result.output
