"""The CLI's contract with a person: flags, settings, --check-login, --version, --demo."""
import datetime as dt
import subprocess
import sys

import pytest

from .conftest import PASSWORD, REPO


def test_check_login_passes(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run("--check-login", "--start-date", "2021-10-20", "--end-date", "2021-10-21")
    assert result.returncode == 0, result.output
    assert "All checks passed." in result.stdout
    assert "TIMEZONE_NAME=America/New_York" in result.stdout and "UTC-" in result.stdout
    assert "configured %s, found %s" % (env.scenario.serial, env.scenario.serial) in result.stdout
    assert PASSWORD not in result.output


def test_check_login_fails_on_wrong_password_and_wrong_secret(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run("--check-login", extra={"TCONNECT_PASSWORD": "wrong password", "NS_SECRET": "wrong-secret-123"})
    assert result.returncode == 1
    assert "FAIL  t:connect website login" in result.stdout
    assert "FAIL  Nightscout" in result.stdout
    assert "wrong password" not in result.output and "wrong-secret-123" not in result.output
    # wrong credentials are not retried: one website attempt, one Android attempt
    assert env.tandem.login_attempts <= 2


def test_wrong_password_sync_fails_once_with_a_sentence(make_env):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 21))
    result = env.run(extra={"TCONNECT_PASSWORD": "nope"})
    assert result.returncode == 3
    assert "refused the e-mail address or password" in result.stderr
    assert "Traceback" not in result.output
    assert env.tandem.login_attempts == 1


@pytest.mark.parametrize("drop,extra,word", [
    (("NS_URL",), {}, "NS_URL"),
    (("TIMEZONE_NAME",), {}, "TIMEZONE_NAME"),
    ((), {"PUMP_SERIAL_NUMBER": "12ab"}, "PUMP_SERIAL_NUMBER"),
    ((), {"NS_URL": "nightscout.example.com"}, "NS_URL"),
    ((), {"TIMEZONE_NAME": "America/Nowhere"}, "TIMEZONE_NAME"),
])
def test_bad_settings_get_one_sentence(make_env, drop, extra, word):
    env = make_env(dt.date(2021, 10, 20), dt.date(2021, 10, 20))
    result = env.run(drop=drop, extra=extra)
    assert result.returncode == 2
    assert word in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["--start-date", "2021-01-01"],
    ["--days", "2", "--start-date", "2021-01-01", "--end-date", "2021-01-02"],
    ["--start-date", "2021-02-01", "--end-date", "2021-01-01"],
    ["--start-date", "2021-13-01", "--end-date", "2021-01-01"],
    ["--days", "zero"],
    ["--features", "NOPE"],
])
def test_flag_misuse_is_a_usage_error(args):
    result = subprocess.run([sys.executable, "-m", "tconnectsync", *args], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_version_and_entry_points_agree():
    outs = []
    for cmd in ([sys.executable, "-m", "tconnectsync", "--version"], [sys.executable, "main.py", "--version"]):
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
        assert result.returncode == 0
        outs.append(result.stdout.strip())
    assert outs[0] == outs[1] and outs[0].startswith("tconnectsync ")


def test_demo_runs_without_settings(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": REPO}
    result = subprocess.run([sys.executable, "-m", "tconnectsync"], capture_output=True, text=True,
                            cwd=str(tmp_path), env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "built-in demo" in result.stdout
    assert "Temp Basal" in result.stdout and "Combo Bolus" in result.stdout
    assert "A second run of the same window wrote 0 documents" in result.stdout
