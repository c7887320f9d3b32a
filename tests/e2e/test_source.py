"""The CLI with TCONNECT_API=source against the simulated Tandem Source cloud (US and EU)."""
import datetime as dt
import os
import subprocess
import sys

import pytest

from tconnectsync import timeutil
from tconnectsync.sandbox.nightscout import FakeNightscout
from tconnectsync.sandbox.scenario import make_scenario
from tconnectsync.sandbox.tandemsource import SandboxPump, TandemSourceSandbox

from .conftest import REPO

EMAIL, PASSWORD, SECRET = "source@example.com", "s0urce pa$$ #1", "source-nightscout-secret"
UTC = dt.timezone.utc


class SourceEnv:
    def __init__(self, tmp_path, start, end, region="US", tz_name="America/New_York", pumps=None, serial=None,
                 cutoff=None, **kw):
        self.tz = timeutil.get_zone(tz_name)
        cutoff = cutoff or timeutil.day_bounds_utc(end, self.tz)[1]
        self.scenario = make_scenario(start, end, tz_name=tz_name, cutoff=cutoff, **kw)
        self.tandem = TandemSourceSandbox(self.scenario, region=region, email=EMAIL, password=PASSWORD, pumps=pumps)
        self.tandem.start()
        self.ns = FakeNightscout(api_secret=SECRET, flavor="15.0.7")
        self.ns.start()
        self.tmp_path = tmp_path
        self.vars = {"TCONNECT_API": "source", "TCONNECT_REGION": region, "TCONNECT_EMAIL": EMAIL,
                     "TCONNECT_PASSWORD": PASSWORD, "NS_URL": self.ns.url, "NS_SECRET": SECRET,
                     "TIMEZONE_NAME": tz_name, "TANDEM_SSO_URL": self.tandem.sso_url,
                     "TCONNECT_SERVICES_URL": self.tandem.services_url, "TANDEM_SOURCE_URL": self.tandem.source_url,
                     "TCONNECTSYNC_TOKEN_FILE": str(tmp_path / "tokens.json")}
        if serial:
            self.vars["PUMP_SERIAL_NUMBER"] = serial

    def run(self, *args, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TCONNECT", "NS_", "PUMP_", "TANDEM"))}
        env.update(self.vars)
        env.update(extra or {})
        env.update(HOME=str(self.tmp_path), PYTHONPATH=REPO)
        proc = subprocess.run([sys.executable, "-m", "tconnectsync", *args], cwd=str(self.tmp_path), env=env,
                              capture_output=True, text=True, timeout=300)
        proc.output = proc.stdout + proc.stderr
        return proc

    def close(self):
        self.tandem.stop()
        self.ns.stop()


@pytest.fixture
def source_env(tmp_path):
    envs = []

    def factory(*args, **kw):
        env = SourceEnv(tmp_path, *args, **kw)
        envs.append(env)
        return env
    yield factory
    for env in envs:
        env.close()


def boluses(env):
    return {d["identifier"]: d for d in env.ns.treatments() if d["eventType"] == "Combo Bolus"}


def assert_matches_truth(env, start, end):
    truth = [b for b in env.scenario.truth_boluses(start, end) if (b.delivered or 0) + (b.extended_delivered or 0) > 0
             or (b.extended and not b.extended_complete)]
    have = sorted((timeutil.parse_iso_utc(d["created_at"]), round(d["insulin"], 2)) for d in boluses(env).values())
    want = sorted((b.completion_time or b.extended_start, round(b.delivered, 2)) for b in truth)
    assert have == want
    docs = sorted((d for d in env.ns.treatments() if d["eventType"] == "Temp Basal"),
                  key=lambda d: timeutil.parse_iso_utc(d["created_at"]))
    by_start = {timeutil.parse_iso_utc(d["created_at"]): d for d in docs}
    assert len(by_start) == len(docs)
    # Source logs rate changes (not the legacy API's midnight cuts): every true segment must lie
    # in a document with its rate.
    import bisect
    starts = sorted(by_start)
    # What is known ends with the pump's newest event: nothing is extended past it.
    known = max(starts[-1] + dt.timedelta(minutes=by_start[starts[-1]]["duration"]), starts[-1])
    for seg in env.scenario.truth_basal(start, end).segments:
        if seg.start >= known:
            continue
        i = bisect.bisect_right(starts, seg.start) - 1
        assert i >= 0, seg
        doc = by_start[starts[i]]
        doc_end = starts[i] + dt.timedelta(minutes=doc["duration"])
        seg_end = min(seg.start + dt.timedelta(seconds=seg.duration_s), known)
        assert doc_end >= seg_end - dt.timedelta(seconds=61), (seg, doc)
        assert doc["absolute"] == pytest.approx(seg.rate), (seg, doc)
    for a, b in zip(docs, docs[1:]):
        assert timeutil.parse_iso_utc(a["created_at"]) + dt.timedelta(minutes=a["duration"]) <= \
            timeutil.parse_iso_utc(b["created_at"]) + dt.timedelta(seconds=1)


def writes(env):
    return [m for m, _ in env.ns.request_log if m in ("POST", "PUT", "DELETE")]


def test_full_sync_second_run_no_op_and_token_cache(source_env):
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 10)
    env = source_env(start, end)
    first = env.run("--start-date", str(start), "--end-date", str(end))
    assert first.returncode == 0, first.output
    assert_matches_truth(env, start, end)
    assert oct(os.stat(env.tmp_path / "tokens.json").st_mode & 0o777) == "0o600"
    assert PASSWORD not in (env.tmp_path / "tokens.json").read_text()
    logins = env.tandem.login_attempts
    n, w = len(env.ns.treatments()), len(writes(env))
    second = env.run("--start-date", str(start), "--end-date", str(end))
    assert second.returncode == 0, second.output
    assert len(writes(env)) == w and len(env.ns.treatments()) == n
    assert env.tandem.login_attempts == logins          # the cached token was reused by the new process
    assert PASSWORD not in first.output + second.output


def test_iob_is_the_newest_value_the_pump_logged(source_env):
    start = end = dt.date(2025, 3, 4)
    env = source_env(start, end)
    assert env.run("--start-date", str(start), "--end-date", str(end)).returncode == 0
    [iob] = env.ns.activity()
    at = timeutil.parse_iso_utc(iob["created_at"])
    truth = [v for v in env.scenario.truth_iob(start, end) if abs((v.time - at).total_seconds()) <= 60]
    assert truth and iob["iob"] == pytest.approx(truth[-1].iob, abs=0.02)


def test_hole_is_filled(source_env):
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 3)
    env = source_env(start, end)
    assert env.run("--start-date", str(start), "--end-date", str(end)).returncode == 0
    full = {d["identifier"] for d in env.ns.treatments()}
    from tconnectsync.nightscout import NightscoutClient
    client = NightscoutClient(env.ns.url, SECRET)
    hole = [d for d in env.ns.treatments() if d["created_at"].startswith("2025-03-02T1")]
    for d in hole:
        client.delete_treatment(d["_id"])
    assert env.run("--start-date", str(start), "--end-date", str(end)).returncode == 0
    assert {d["identifier"] for d in env.ns.treatments()} == full


def test_eu_region(source_env):
    start, end = dt.date(2025, 10, 25), dt.date(2025, 10, 27)        # Europe's fall-back night
    env = source_env(start, end, region="EU", tz_name="Europe/Berlin")
    result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS")
    assert result.returncode == 0, result.output
    assert_matches_truth(env, start, end)


def test_pump_choice(source_env, tmp_path):
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
    tz = timeutil.get_zone("America/New_York")
    old = make_scenario(start, end, serial="22222222", cutoff=timeutil.localize(dt.datetime(2025, 3, 1, 12), tz))
    env = source_env(start, end, serial=None)
    env.tandem.stop()
    pumps = [SandboxPump(env.scenario, model="mobi"), SandboxPump(old, model="tslim")]
    env.tandem = TandemSourceSandbox(env.scenario, region="US", email=EMAIL, password=PASSWORD, pumps=pumps)
    env.tandem.start()
    env.vars.update(TANDEM_SSO_URL=env.tandem.sso_url, TCONNECT_SERVICES_URL=env.tandem.services_url,
                    TANDEM_SOURCE_URL=env.tandem.source_url)
    result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS")
    assert result.returncode == 0, result.output
    assert "22222222" in result.stderr            # the other pump is named in the warning
    assert_ident = {d["identifier"] for d in env.ns.treatments()}
    assert assert_ident
    wrong = env.run("--start-date", str(start), "--end-date", str(end), extra={"PUMP_SERIAL_NUMBER": "99999999"})
    assert wrong.returncode == 2 and "11111111" in wrong.stderr and "22222222" in wrong.stderr
    chosen = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS",
                     extra={"PUMP_SERIAL_NUMBER": "22222222", "NS_SECRET": SECRET})
    assert chosen.returncode == 0, chosen.output


def test_expired_token_one_relogin(source_env):
    start = end = dt.date(2025, 3, 4)
    env = source_env(start, end)
    assert env.run("--start-date", str(start), "--end-date", str(end)).returncode == 0
    before = env.tandem.login_attempts
    env.tandem.expire_tokens()
    result = env.run("--start-date", str(start), "--end-date", str(end))
    assert result.returncode == 0, result.output
    assert env.tandem.login_attempts == before + 1


def test_wrong_password_once(source_env):
    start = end = dt.date(2025, 3, 4)
    env = source_env(start, end)
    result = env.run("--start-date", str(start), "--end-date", str(end), extra={"TCONNECT_PASSWORD": "nope"})
    assert result.returncode == 3 and env.tandem.login_attempts == 1
    assert "Traceback" not in result.output


def test_check_login_source(source_env):
    start, end = dt.date(2025, 3, 3), dt.date(2025, 3, 4)
    env = source_env(start, end)
    result = env.run("--check-login", "--start-date", str(start), "--end-date", str(end))
    assert result.returncode == 0, result.output
    assert "All checks passed." in result.stdout and "11111111" in result.stdout


def test_profiles_cgm_and_alerts(source_env):
    start = end = dt.date(2025, 3, 4)
    env = source_env(start, end)
    foreign = {"defaultProfile": "Mine", "startDate": "2024-01-01T00:00:00.000Z", "units": "mg/dl",
               "store": {"Mine": {"dia": 4, "basal": [{"time": "00:00", "value": 1.0, "timeAsSeconds": 0}]}}}
    [seeded] = env.ns.seed("profile", [foreign])
    result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "PROFILES", "CGM",
                     "CGM_ALERTS", "PUMP_EVENTS")
    assert result.returncode == 0, result.output
    profiles = env.ns.profiles()
    assert [p for p in profiles if p["_id"] == seeded["_id"]] == [seeded]      # never overwritten
    assert len(profiles) == 2
    readings = [r for r in env.scenario.truth_readings(start, end) if r.kind == "EGV"]
    import requests
    entries = requests.get(env.ns.url + "api/v1/entries.json", params={"count": 10000, "find[date][$gte]": 0},
                           headers={"api-secret": __import__("hashlib").sha1(SECRET.encode()).hexdigest()},
                           timeout=10).json()
    assert len(entries) == len(readings)
    again = env.run("--start-date", str(start), "--end-date", str(end), "--features", "PROFILES", "CGM",
                    "CGM_ALERTS", "PUMP_EVENTS")
    assert again.returncode == 0
    assert len(env.ns.profiles()) == 2                                          # unchanged profile: no new one
    entries2 = requests.get(env.ns.url + "api/v1/entries.json", params={"count": 10000, "find[date][$gte]": 0},
                            headers={"api-secret": __import__("hashlib").sha1(SECRET.encode()).hexdigest()},
                            timeout=10).json()
    assert len(entries2) == len(entries)


def test_legacy_features_refused_on_legacy(source_env):
    env = source_env(dt.date(2025, 3, 4), dt.date(2025, 3, 4))
    result = env.run("--features", "PROFILES", extra={"TCONNECT_API": "legacy", "PUMP_SERIAL_NUMBER": "11111111"})
    assert result.returncode == 2 and "PROFILES" in result.stderr


def test_a_huge_backfill_is_clamped_to_the_pumps_data(source_env):
    start, end = dt.date(2026, 5, 13), dt.date(2026, 5, 14)
    env = source_env(start, end)
    result = env.run("--start-date", "1900-01-01", "--end-date", "2099-12-31", "--features", "BOLUS")
    assert result.returncode == 0, result.output
    assert "Tandem Source has this pump's data from" in result.stderr
    assert "syncing up to today" in result.stderr
    assert boluses(env)
    head = result.stdout.splitlines()[0]
    assert head.startswith("Synced 2026-05-1") and "1900" not in head and "2099" not in head, head


def test_upstream_feature_names_are_mapped_with_one_warning_each(source_env):
    start = end = dt.date(2025, 3, 4)
    env = source_env(start, end)
    ours = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS", "PUMP_EVENTS")
    assert ours.returncode == 0, ours.output
    expected = sorted((d["identifier"], d["eventType"]) for d in env.ns.treatments())
    assert {e for _, e in expected} >= {"Combo Bolus", "Exercise"}
    env.ns.clear()
    result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "BOLUS_BG",
                     "PUMP_EVENTS_BASAL_SUSPENSION", "DEVICE_STATUS")
    assert result.returncode == 0, result.output
    assert sorted((d["identifier"], d["eventType"]) for d in env.ns.treatments()) == expected
    warnings = [line for line in result.stderr.splitlines() if "upstream tconnectsync's name" in line]
    assert len(warnings) == 3
    assert any("BOLUS_BG" in w and "BOLUS uploads the BG" in w for w in warnings)
    assert any("PUMP_EVENTS_BASAL_SUSPENSION" in w and "PUMP_EVENTS" in w for w in warnings)
    assert any("DEVICE_STATUS" in w and "ignored" in w for w in warnings)
    assert "usage:" not in result.stderr


def test_only_an_ignored_feature_syncs_the_defaults(source_env):
    start = end = dt.date(2025, 3, 4)
    env = source_env(start, end)
    result = env.run("--start-date", str(start), "--end-date", str(end), "--features", "DEVICE_STATUS")
    assert result.returncode == 0, result.output
    assert "syncing the defaults, BASAL BOLUS IOB PUMP_EVENTS" in result.stderr
    assert {d["eventType"] for d in env.ns.treatments()} >= {"Temp Basal", "Combo Bolus"}


def _by_pump(env):
    return {(d["identifier"], d["eventType"], d["created_at"]) for d in env.ns.treatments()}


def test_a_backfill_across_a_pump_swap_has_both_pumps_each_keyed_by_its_serial(source_env):
    from tconnectsync.sandbox.tandemsource.swap import NEW_SERIAL, OLD_SERIAL, swapped_pumps
    from tconnectsync.sync.documents import identifier
    start, swap, end = dt.date(2025, 3, 1), dt.date(2025, 3, 4), dt.date(2025, 3, 6)
    old, new = swapped_pumps(start, swap, end)
    env = source_env(start, end, pumps=[old, new])
    window = ("--start-date", str(start), "--end-date", str(end), "--features", "BASAL", "BOLUS", "PUMP_EVENTS")
    alone = {}
    for pump in (old, new):
        result = env.run(*window, extra={"PUMP_SERIAL_NUMBER": pump.serial})
        assert result.returncode == 0, result.output
        alone[pump.serial] = _by_pump(env)
        assert alone[pump.serial]
        env.ns.clear()
    assert not alone[OLD_SERIAL] & alone[NEW_SERIAL]
    result = env.run(*window)
    assert result.returncode == 0, result.output
    assert "Syncing the 2 pumps" in result.stderr
    assert "%s (t:slim X2) 2025-03-01..2025-03-03" % OLD_SERIAL in result.stderr
    assert "%s (t:slim X2) 2025-03-04..2025-03-06" % NEW_SERIAL in result.stderr
    both = _by_pump(env)
    assert both == alone[OLD_SERIAL] | alone[NEW_SERIAL]
    # every bolus of both pumps, each under its own pump's serial, on its own pump's days
    swap_at = timeutil.day_bounds_utc(swap, env.tz)[0]
    want = set()
    for pump, days in ((old, (start, swap - dt.timedelta(days=1))), (new, (swap, end))):
        for b in pump.scenario.truth_boluses(*days):
            if (b.delivered or 0) + (b.extended_delivered or 0) > 0:
                want.add((identifier(pump.serial, "bolus", b.request_id), pump.serial))
    have = {(d["identifier"], OLD_SERIAL if timeutil.parse_iso_utc(d["created_at"]) < swap_at else NEW_SERIAL)
            for d in env.ns.treatments() if d["eventType"] == "Combo Bolus"}
    assert have == want and len(want) > 40
    # with the serial set, only that pump's days
    assert all(timeutil.parse_iso_utc(c) < swap_at for _, _, c in alone[OLD_SERIAL])
    assert all(timeutil.parse_iso_utc(c) >= swap_at for _, _, c in alone[NEW_SERIAL])
    before = len(writes(env))
    again = env.run(*window)
    assert again.returncode == 0, again.output
    assert len(writes(env)) == before and _by_pump(env) == both


def test_check_login_names_each_pump_and_its_days(source_env):
    from tconnectsync.sandbox.tandemsource.swap import NEW_SERIAL, OLD_SERIAL, swapped_pumps
    start, swap, end = dt.date(2025, 3, 1), dt.date(2025, 3, 4), dt.date(2025, 3, 6)
    env = source_env(start, end, pumps=swapped_pumps(start, swap, end))
    result = env.run("--check-login", "--start-date", str(start), "--end-date", str(end))
    assert result.returncode == 0, result.output
    assert "%s (t:slim X2) 2025-03-01..2025-03-03" % OLD_SERIAL in result.stdout
    assert "%s (t:slim X2) 2025-03-04..2025-03-06" % NEW_SERIAL in result.stdout
    chosen = env.run("--check-login", "--start-date", str(start), "--end-date", str(end),
                     extra={"PUMP_SERIAL_NUMBER": OLD_SERIAL})
    assert chosen.returncode == 0, chosen.output
    assert "pumps synced" in chosen.stdout and "%s (t:slim X2) 2025-03-01..2025-03-03 (PUMP_SERIAL_NUMBER" % OLD_SERIAL \
        in chosen.stdout and "%s (t:slim X2) 2025-03-04" % NEW_SERIAL not in chosen.stdout.split("pumps synced")[1]


def test_a_backfill_of_the_old_pumps_days_asks_only_the_old_pump(source_env):
    from tconnectsync.sandbox.tandemsource.swap import OLD_SERIAL, swapped_pumps
    start, swap, end = dt.date(2025, 3, 1), dt.date(2025, 3, 4), dt.date(2025, 3, 6)
    old, new = swapped_pumps(start, swap, end)
    env = source_env(start, end, pumps=[old, new])
    result = env.run("--start-date", "2025-03-01", "--end-date", "2025-03-02", "--features", "BOLUS", "PROFILES",
                     extra={"TCONNECTSYNC_CHUNK_DAYS": "1"})
    assert result.returncode == 0, result.output
    logs = [r.path for r in env.tandem.request_log if "pump-logs" in r.path]
    assert logs and all(old.assignment_id in p for p in logs)
    assert not any(new.assignment_id in p for p in logs)
    boluses = [d for d in env.ns.treatments() if d["eventType"] == "Combo Bolus"]
    assert len(boluses) == len([b for b in old.scenario.truth_boluses(start, dt.date(2025, 3, 2)) if b.delivered])
    assert len(env.ns.profiles()) == 1                  # the pump in use's profile, as with one pump
    assert OLD_SERIAL in result.stderr


def test_a_huge_backfill_across_a_pump_swap_keeps_the_old_pumps_days(source_env):
    from tconnectsync.sandbox.tandemsource.swap import OLD_SERIAL, swapped_pumps
    start, swap, end = dt.date(2025, 3, 1), dt.date(2025, 3, 4), dt.date(2025, 3, 6)
    env = source_env(start, end, pumps=swapped_pumps(start, swap, end))
    result = env.run("--start-date", "1900-01-01", "--end-date", "2099-12-31", "--features", "BOLUS")
    assert result.returncode == 0, result.output
    assert "Tandem Source has the 2 pumps' data from 2025-03-01" in result.stderr
    swap_at = timeutil.day_bounds_utc(swap, env.tz)[0]
    times = [timeutil.parse_iso_utc(d["created_at"]) for d in env.ns.treatments() if d["eventType"] == "Combo Bolus"]
    assert any(t < swap_at for t in times) and any(t >= swap_at for t in times), OLD_SERIAL
